/* SPDX-License-Identifier: MIT */
/* Event channels (2-level ABI): binding, masking, the upcall dispatcher and blocking. */
#include <fc/kernel.h>

#define FC_NR_PORTS 1024 /* plenty: we use the console, xenstore and timer ports */

static fc_evtchn_handler_t handlers[FC_NR_PORTS];

static void force_callback(void)
{
    /* Any hypercall returns through Xen's event-delivery check. */
    FC_HC(__HYPERVISOR_xen_version, 0, 0, 0);
}

void fc_events_init(void)
{
    for (unsigned i = 0; i < FC_NR_PORTS / 64; i++)
        __atomic_store_n(&fc_shared_info->evtchn_mask[i], ~0UL, __ATOMIC_SEQ_CST);
}

void fc_evtchn_forget_all(void)
{
    fc_kmemset(handlers, 0, sizeof(handlers));
}

void fc_evtchn_unmask(evtchn_port_t port)
{
    unsigned long word = port / 64, bit = 1UL << (port % 64);
    __atomic_and_fetch(&fc_shared_info->evtchn_mask[word], ~bit, __ATOMIC_SEQ_CST);
    if (fc_shared_info->evtchn_pending[word] & bit) {
        __atomic_or_fetch(&fc_vcpu->evtchn_pending_sel, 1UL << word, __ATOMIC_SEQ_CST);
        fc_vcpu->evtchn_upcall_pending = 1;
        if (!fc_vcpu->evtchn_upcall_mask)
            force_callback();
    }
}

void fc_evtchn_bind(evtchn_port_t port, fc_evtchn_handler_t handler)
{
    if (port >= FC_NR_PORTS)
        fc_fatal("event channel port %u is beyond the supported %d", port, FC_NR_PORTS);
    handlers[port] = handler;
    fc_evtchn_unmask(port);
}

int fc_evtchn_bind_virq(uint32_t virq, fc_evtchn_handler_t handler, evtchn_port_t *port)
{
    struct evtchn_bind_virq op = {.virq = virq, .vcpu = 0};
    long rc = fc_hc_evtchn_op(EVTCHNOP_bind_virq, &op);
    if (rc)
        return (int)rc;
    *port = op.port;
    fc_evtchn_bind(op.port, handler);
    return 0;
}

void fc_evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = {.port = port};
    if (port < FC_NR_PORTS)
        handlers[port] = 0;
    fc_hc_evtchn_op(EVTCHNOP_close, &op);
}

void fc_evtchn_notify(evtchn_port_t port)
{
    struct evtchn_send op = {.port = port};
    fc_hc_evtchn_op(EVTCHNOP_send, &op);
}

void fc_events_enable(void)
{
    fc_barrier();
    fc_vcpu->evtchn_upcall_mask = 0;
    fc_barrier();
    if (fc_vcpu->evtchn_upcall_pending)
        force_callback();
}

void fc_events_disable(void)
{
    fc_vcpu->evtchn_upcall_mask = 1;
    fc_barrier();
}

uint8_t fc_events_hold(void)
{
    uint8_t was_masked = fc_vcpu->evtchn_upcall_mask;
    fc_vcpu->evtchn_upcall_mask = 1;
    fc_barrier();
    return was_masked;
}

void fc_events_release(uint8_t was_masked)
{
    fc_barrier();
    fc_vcpu->evtchn_upcall_mask = was_masked;
    fc_barrier();
    if (!was_masked && fc_vcpu->evtchn_upcall_pending)
        force_callback();
}

/* Call with events held (fc_events_hold) since the wake-up source was armed, so no upcall can
 * have taken its event in between: then a pending event means "don't sleep", and SCHEDOP_block
 * (which unmasks while asleep) cannot miss one. */
void fc_block_held(void)
{
    if (!fc_vcpu->evtchn_upcall_pending)
        fc_hc_sched_op(SCHEDOP_block, 0);
}

void fc_wait_for_event(void)
{
    uint8_t was_masked = fc_events_hold();
    fc_block_held();
    fc_vcpu->evtchn_upcall_mask = 0; /* run what is pending even for a masked caller */
    fc_barrier();
    if (fc_vcpu->evtchn_upcall_pending)
        force_callback();
    fc_vcpu->evtchn_upcall_mask = was_masked;
    fc_barrier();
}

void fc_do_upcall(void)
{
    fc_vcpu->evtchn_upcall_pending = 0;
    fc_barrier();
    unsigned long sel = __atomic_exchange_n(&fc_vcpu->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned long word = (unsigned long)__builtin_ctzl(sel);
        sel &= sel - 1;
        for (;;) {
            unsigned long pending =
                fc_shared_info->evtchn_pending[word] & ~fc_shared_info->evtchn_mask[word];
            if (!pending)
                break;
            unsigned long bit = (unsigned long)__builtin_ctzl(pending);
            __atomic_and_fetch(&fc_shared_info->evtchn_pending[word], ~(1UL << bit),
                               __ATOMIC_SEQ_CST);
            evtchn_port_t port = (evtchn_port_t)(word * 64 + bit);
            if (port < FC_NR_PORTS && handlers[port])
                handlers[port](port);
        }
    }
    /* Service shutdown requests here too, so a busy-looping app still migrates. */
    if (fc_kernel_busy == 0)
        fc_poll();
}
