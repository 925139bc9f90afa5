/* SPDX-License-Identifier: MIT */
/* Time from Xen's per-vCPU time info, the one-shot timer, and sleeping. */
#include <fc/kernel.h>
#include <fc/monoclock.h>

static struct fc_monoclock mono;
static uint64_t suspend_wall;
static evtchn_port_t timer_port;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* Xen's system time (ns since the host booted): seqlock-style read of vcpu_time_info. */
uint64_t fc_system_time_raw(void)
{
    volatile struct vcpu_time_info *t = &fc_vcpu->time;
    uint32_t version, mul;
    uint64_t stamp, system_time, tsc;
    int8_t shift;
    do {
        version = t->version;
        fc_barrier();
        __asm__ __volatile__("lfence" ::: "memory");
        stamp = t->tsc_timestamp;
        system_time = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        tsc = rdtsc();
        fc_barrier();
    } while ((version & 1) || version != t->version);
    uint64_t delta = tsc - stamp;
    delta = shift < 0 ? delta >> -shift : delta << shift;
    return system_time + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* Masked, so a suspend (run from an upcall) cannot fall between reading one host's raw time and
 * updating the clock, or between the halves of that read. */
uint64_t fc_monotonic_ns(void)
{
    uint8_t was_masked = fc_events_hold();
    uint64_t now = fc_monoclock_read(&mono, fc_system_time_raw());
    fc_events_release(was_masked);
    return now;
}

uint64_t fc_wallclock_ns(void)
{
    volatile shared_info_t *s = fc_shared_info;
    uint32_t version;
    uint64_t sec, nsec, raw;
    uint8_t was_masked = fc_events_hold(); /* both halves from one host */
    do {
        version = s->wc_version;
        fc_barrier();
        sec = s->wc_sec | (uint64_t)s->wc_sec_hi << 32;
        nsec = s->wc_nsec;
        fc_barrier();
    } while ((version & 1) || version != s->wc_version);
    raw = fc_system_time_raw();
    fc_events_release(was_masked);
    return sec * 1000000000ULL + nsec + raw;
}

static void timer_fired(evtchn_port_t port)
{
    (void)port; /* waking the vCPU is all the timer is for */
}

static void timer_start(void)
{
    /* Xen gives PV vCPUs a periodic tick by default; we only want our one-shot timer. */
    fc_hc_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0);
    if (fc_evtchn_bind_virq(VIRQ_TIMER, timer_fired, &timer_port))
        fc_fatal("cannot bind VIRQ_TIMER");
}

void fc_time_init(void)
{
    fc_monoclock_start(&mono, fc_system_time_raw());
    timer_start();
}

void fc_time_suspend(void)
{
    fc_monotonic_ns(); /* brings the clock up to the suspend instant */
    suspend_wall = fc_wallclock_ns();
    fc_hc_set_timer_op(0);
    fc_evtchn_close(timer_port);
}

/* A new host has a different system time: continue from where we stopped, plus the
 * wall-clock time the suspension took (capped, in case the hosts' clocks disagree). */
void fc_time_resume(void)
{
    uint64_t wall = fc_wallclock_ns();
    uint64_t gap = wall > suspend_wall ? wall - suspend_wall : 0;
    if (gap > 3600ULL * 1000000000ULL)
        gap = 0;
    fc_monoclock_resume(&mono, fc_system_time_raw(), gap);
    timer_start();
}

void (*fc_sleep_hook)(uint64_t deadline_ns);

/* Call with events held (see fc_sleep_ns); a deadline of ~0 arms nothing. */
void fc_timer_arm(uint64_t deadline_ns)
{
    if (deadline_ns != ~0ULL)
        fc_hc_set_timer_op(fc_monoclock_raw_at(&mono, fc_system_time_raw(), deadline_ns));
}

void fc_sleep_ns(uint64_t ns)
{
    uint64_t deadline = fc_monotonic_ns() + ns;
    if (deadline < ns)
        deadline = ~0ULL;
    if (fc_sleep_hook && !fc_kernel_busy) {
        while (fc_monotonic_ns() < deadline)
            fc_sleep_hook(deadline);
        return;
    }
    for (;;) {
        fc_poll();
        /* Held from the clock check to the block: a timer that fires early (or at once, if
         * the deadline is already near) leaves its event pending instead of being taken by
         * an upcall before we sleep, which would leave us asleep with no timer. */
        uint8_t was_masked = fc_events_hold();
        uint64_t raw = fc_system_time_raw();
        if (fc_monoclock_read(&mono, raw) >= deadline) {
            fc_events_release(was_masked);
            return;
        }
        fc_timer_arm(deadline);
        fc_block_held();
        fc_events_release(was_masked);
    }
}
