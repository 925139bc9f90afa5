/* SPDX-License-Identifier: MIT */
/* x86-64 PV entry: ELF notes for the domain builder, the boot path, the event upcall and
 * exception stubs. Xen starts us in long mode with RSI = start_info and events masked. */
#include <xen/elfnote.h>

#define FC_IRET_HYPERCALL (23 * 32) /* __HYPERVISOR_iret slot in the hypercall page */

/* One ELF note: name "Xen", given type, descriptor emitted by the trailing directive. */
.macro xen_note_str type, text
    xen_note \type, .asciz, "\text"
.endm

.macro xen_note type, directive, value:vararg
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long \type
1:  .asciz "Xen"
2:  .balign 4
3:  \directive \value
4:  .balign 4
    .popsection
.endm

    xen_note_str XEN_ELFNOTE_GUEST_OS, "FlexCapsule"
    xen_note_str XEN_ELFNOTE_GUEST_VERSION, "1"
    xen_note_str XEN_ELFNOTE_XEN_VERSION, "xen-3.0"
    xen_note_str XEN_ELFNOTE_LOADER, "generic"
    xen_note XEN_ELFNOTE_VIRT_BASE, .quad, 0
    xen_note XEN_ELFNOTE_PADDR_OFFSET, .quad, 0
    xen_note XEN_ELFNOTE_ENTRY, .quad, _start
    xen_note XEN_ELFNOTE_HYPERCALL_PAGE, .quad, fc_hypercall_page
    xen_note XEN_ELFNOTE_SUSPEND_CANCEL, .long, 1

/* Page 0 holds only the boot code; it is unmapped after boot so NULL faults. */
    .section .text.entry, "ax"
    .globl _start
_start:
    cld
    leaq fc_boot_stack_top(%rip), %rsp
    movq %rsi, %rdi
    call fc_kernel_main
1:  jmp 1b

    .section .text.hypercall_page, "ax"
    .balign 4096
    .globl fc_hypercall_page
fc_hypercall_page:
    .fill 4096, 1, 0

    .section .bss.stack, "aw", @nobits
    .balign 4096
fc_boot_stack:
    .skip 32768
    .globl fc_boot_stack_top
fc_boot_stack_top:

    .text
/* Xen bounces events and exceptions with RCX and R11 on top of the hardware-style frame. */
.macro save_all
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro restore_all
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
.endm

/* Event upcall: dispatch pending ports, then return through HYPERVISOR_iret, which also
 * restores the event mask from the saved RFLAGS.IF atomically with the return. */
    .globl fc_upcall_entry
fc_upcall_entry:
    movq (%rsp), %rcx
    movq 8(%rsp), %r11
    addq $16, %rsp
    save_all
    movq %rsp, %rbp
    andq $-16, %rsp
    call fc_do_upcall
    movq %rbp, %rsp
    restore_all
    pushq $0
    jmp fc_hypercall_page + FC_IRET_HYPERCALL

    .globl fc_failsafe_entry
fc_failsafe_entry:
    movq (%rsp), %rcx
    movq 8(%rsp), %r11
    addq $16, %rsp
    pushq $0
    pushq $256
    jmp trap_common

/* Exceptions are fatal in a library OS: build a frame (vector, error code, registers)
 * and let C report it. */
.macro trap_noerr vec
    .globl fc_trap_\vec
fc_trap_\vec:
    movq (%rsp), %rcx
    movq 8(%rsp), %r11
    addq $16, %rsp
    pushq $0
    pushq $\vec
    jmp trap_common
.endm

.macro trap_err vec
    .globl fc_trap_\vec
fc_trap_\vec:
    movq (%rsp), %rcx
    movq 8(%rsp), %r11
    addq $16, %rsp
    pushq $\vec
    jmp trap_common
.endm

    trap_noerr 0
    trap_noerr 1
    trap_noerr 3
    trap_noerr 4
    trap_noerr 5
    trap_noerr 6
    trap_noerr 7
    trap_err 8
    trap_noerr 9
    trap_err 10
    trap_err 11
    trap_err 12
    trap_err 13
    trap_err 14
    trap_noerr 16
    trap_err 17
    trap_noerr 18
    trap_noerr 19

trap_common:
    save_all
    movq %rsp, %rdi
    andq $-16, %rsp
    call fc_trap_report
2:  jmp 2b
