/* SPDX-License-Identifier: MIT */
/* Xen public headers plus hypercall wrappers (x86-64 PV: call into the hypercall page). */
#ifndef FC_XEN_H
#define FC_XEN_H

#include <stdint.h>

#include <xen/xen.h>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

extern char fc_hypercall_page[4096];

/* Arguments in rdi, rsi, rdx, r10, r8; the entry clobbers rcx/r11 (syscall) and the args. */
static inline long fc_hypercall(unsigned int nr, unsigned long a1, unsigned long a2,
                                unsigned long a3, unsigned long a4, unsigned long a5)
{
    register unsigned long r10 __asm__("r10") = a4;
    register unsigned long r8 __asm__("r8") = a5;
    long ret;
    __asm__ __volatile__("call *%[entry]"
                         : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                         : [entry] "r"(fc_hypercall_page + nr * 32)
                         : "memory", "rcx", "r11", "r9");
    return ret;
}

#define FC_HC(nr, a1, a2, a3) \
    fc_hypercall((nr), (unsigned long)(a1), (unsigned long)(a2), (unsigned long)(a3), 0, 0)

static inline long fc_hc_sched_op(int cmd, void *arg)
{
    return FC_HC(__HYPERVISOR_sched_op, cmd, arg, 0);
}
static inline long fc_hc_evtchn_op(int cmd, void *arg)
{
    return FC_HC(__HYPERVISOR_event_channel_op, cmd, arg, 0);
}
static inline long fc_hc_memory_op(int cmd, void *arg)
{
    return FC_HC(__HYPERVISOR_memory_op, cmd, arg, 0);
}
static inline long fc_hc_update_va_mapping(unsigned long va, uint64_t pte, unsigned long flags)
{
    return FC_HC(__HYPERVISOR_update_va_mapping, va, pte, flags);
}
static inline long fc_hc_mmu_update(mmu_update_t *req, unsigned int count)
{
    unsigned int done = 0;
    return fc_hypercall(__HYPERVISOR_mmu_update, (unsigned long)req, count,
                        (unsigned long)&done, DOMID_SELF, 0);
}
static inline long fc_hc_mmuext_op(struct mmuext_op *op, unsigned int count)
{
    unsigned int done = 0;
    return fc_hypercall(__HYPERVISOR_mmuext_op, (unsigned long)op, count,
                        (unsigned long)&done, DOMID_SELF, 0);
}
static inline long fc_hc_set_timer_op(uint64_t deadline)
{
    return FC_HC(__HYPERVISOR_set_timer_op, deadline, 0, 0);
}
static inline long fc_hc_vcpu_op(int cmd, int vcpu, void *arg)
{
    return FC_HC(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}
static inline long fc_hc_console_io(int cmd, unsigned int count, const char *str)
{
    return FC_HC(__HYPERVISOR_console_io, cmd, count, str);
}

#endif
