/* SPDX-License-Identifier: MIT */
/* The PV console ring (what `xl console` shows): output and non-blocking input. */
#include <fc/kernel.h>
#include <fc/ring.h>

static volatile struct xencons_interface *cons;
static unsigned long cons_pfn;
static evtchn_port_t cons_port;

void fc_console_init(void)
{
    cons_pfn = fc_mfn_to_pfn(fc_start_info->console.domU.mfn);
    cons = fc_pfn_to_virt(cons_pfn);
    cons_port = fc_start_info->console.domU.evtchn;
}

static void console_event(evtchn_port_t port)
{
    (void)port; /* wakes writers waiting for space and readers */
}

/* (Re)binds the port from start_info: restore gives us a new one. */
void fc_console_resume(void)
{
    cons_port = fc_start_info->console.domU.evtchn;
    fc_evtchn_bind(cons_port, console_event);
}

void fc_console_canonicalise(void)
{
    fc_start_info->console.domU.mfn = cons_pfn;
}

void fc_console_uncanonicalise(void)
{
    fc_start_info->console.domU.mfn = fc_p2m[cons_pfn];
}

static void put_byte(char c)
{
    uint32_t prod = cons->out_prod;
    while (fc_ring_free(prod, cons->out_cons, sizeof(cons->out)) == 0) {
        fc_evtchn_notify(cons_port);
        fc_hc_sched_op(SCHEDOP_yield, 0);
    }
    cons->out[fc_ring_slot(prod, sizeof(cons->out))] = c;
    __asm__ __volatile__("sfence" ::: "memory");
    cons->out_prod = prod + 1;
}

void fc_console_write(const char *buf, size_t len)
{
    if (!cons)
        return;
    FC_KERNEL_ENTER();
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            put_byte('\r');
        put_byte(buf[i]);
    }
    fc_evtchn_notify(cons_port);
    fc_kernel_leave();
}

long fc_console_read(char *buf, size_t len)
{
    if (!cons || !buf)
        return -FC_EINVAL;
    FC_KERNEL_ENTER();
    uint32_t c = cons->in_cons, p = cons->in_prod;
    fc_barrier();
    uint32_t n = fc_ring_used(p, c);
    if (n > len)
        n = (uint32_t)len;
    fc_ring_copy_out(buf, cons->in, sizeof(cons->in), c, n);
    fc_mb();
    cons->in_cons = c + n;
    if (n)
        fc_evtchn_notify(cons_port);
    fc_kernel_leave();
    return n;
}

/* Bounded wait for xenconsoled to drain our output, so final lines are not lost. */
void fc_console_flush(uint64_t timeout_ns)
{
    if (!cons)
        return;
    uint64_t start = fc_system_time_raw();
    while (cons->out_cons != cons->out_prod && fc_system_time_raw() - start < timeout_ns) {
        fc_evtchn_notify(cons_port);
        fc_hc_sched_op(SCHEDOP_yield, 0);
    }
}
