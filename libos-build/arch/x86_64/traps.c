/* SPDX-License-Identifier: MIT */
/* Exception table registration and the fatal-exception report. */
#include <fc/kernel.h>

struct trap_frame {
    unsigned long r15, r14, r13, r12, r11, r10, r9, r8;
    unsigned long rbp, rdi, rsi, rdx, rcx, rbx, rax;
    unsigned long vector, error_code;
    unsigned long rip, cs, rflags, rsp, ss;
};

#define DECLARE_TRAP(n) void fc_trap_##n(void)
DECLARE_TRAP(0); DECLARE_TRAP(1); DECLARE_TRAP(3); DECLARE_TRAP(4); DECLARE_TRAP(5);
DECLARE_TRAP(6); DECLARE_TRAP(7); DECLARE_TRAP(8); DECLARE_TRAP(9); DECLARE_TRAP(10);
DECLARE_TRAP(11); DECLARE_TRAP(12); DECLARE_TRAP(13); DECLARE_TRAP(14); DECLARE_TRAP(16);
DECLARE_TRAP(17); DECLARE_TRAP(18); DECLARE_TRAP(19);

#define TRAP(n, dpl) {n, dpl, FLAT_KERNEL_CS, (unsigned long)fc_trap_##n}
static trap_info_t trap_table[] = {
    TRAP(0, 0),  TRAP(1, 0),  TRAP(3, 3),  TRAP(4, 3),  TRAP(5, 3),  TRAP(6, 0),
    TRAP(7, 0),  TRAP(8, 0),  TRAP(9, 0),  TRAP(10, 0), TRAP(11, 0), TRAP(12, 0),
    TRAP(13, 0), TRAP(14, 0), TRAP(16, 0), TRAP(17, 0), TRAP(18, 0), TRAP(19, 0),
    {0, 0, 0, 0},
};

static const char *vector_name(unsigned long v)
{
    static const char *const names[] = {
        "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
        "invalid opcode", "device not available", "double fault", "coprocessor overrun",
        "invalid TSS", "segment not present", "stack fault", "general protection",
        "page fault", "reserved", "x87 FPU error", "alignment check", "machine check",
        "SIMD floating point",
    };
    if (v == 256)
        return "failsafe callback (bad segment on return)";
    return v < FC_ARRAY_SIZE(names) ? names[v] : "unknown";
}

void fc_trap_report(struct trap_frame *f);
void fc_trap_report(struct trap_frame *f)
{
    if (f->vector == 14) {
        unsigned long addr = fc_vcpu->arch.cr2;
        fc_fatal("fatal exception: vector 14 (page fault) at rip=0x%lx, address 0x%lx%s "
                 "(%s, %s), error code 0x%lx, rsp=0x%lx",
                 f->rip, addr, addr < FC_PAGE_SIZE ? " (NULL pointer dereference)" : "",
                 (f->error_code & 2) ? "write" : "read",
                 (f->error_code & 1) ? "protection violation" : "page not present",
                 f->error_code, f->rsp);
    }
    fc_fatal("fatal exception: vector %lu (%s) at rip=0x%lx, error code 0x%lx, rsp=0x%lx",
             f->vector, vector_name(f->vector), f->rip, f->error_code, f->rsp);
}

void fc_traps_init(void)
{
    if (FC_HC(__HYPERVISOR_set_trap_table, trap_table, 0, 0))
        fc_fatal("set_trap_table failed");
    /* event, failsafe, syscall (no user mode, so no syscall entry) */
    if (FC_HC(__HYPERVISOR_set_callbacks, fc_upcall_entry, fc_failsafe_entry, 0))
        fc_fatal("set_callbacks failed");
}
