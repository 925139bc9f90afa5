/* SPDX-License-Identifier: MIT */
/* The monotonic clock apps see, built from Xen's raw system time (ns since *this host* booted).
 *
 * It only ever adds the raw clock's forward steps, so it neither runs backwards nor stalls
 * when the raw clock changes under it: after a migration the new host's raw time is unrelated
 * to the old one's, and right after a resume a raw read can be stale. A step backwards is
 * taken as a new origin (no time added), never as a negative step. Kept pure so the host
 * tests can drive it with any raw sequence. */
#ifndef FC_MONOCLOCK_H
#define FC_MONOCLOCK_H

#include <stdint.h>

struct fc_monoclock {
    uint64_t mono;     /* the last value handed out */
    uint64_t raw;      /* the raw time it was taken at */
};

static inline void fc_monoclock_start(struct fc_monoclock *clock, uint64_t raw)
{
    clock->mono = 0;
    clock->raw = raw;
}

static inline uint64_t fc_monoclock_read(struct fc_monoclock *clock, uint64_t raw)
{
    if (raw > clock->raw)
        clock->mono += raw - clock->raw;
    clock->raw = raw;
    return clock->mono;
}

/* On a (possibly different) host after a suspension of `gap_ns`: go on from where we were. */
static inline void fc_monoclock_resume(struct fc_monoclock *clock, uint64_t raw, uint64_t gap_ns)
{
    clock->mono += gap_ns;
    clock->raw = raw;
}

/* The raw time at which `deadline` (monotonic) falls, for Xen's one-shot timer. */
static inline uint64_t fc_monoclock_raw_at(struct fc_monoclock *clock, uint64_t raw, uint64_t deadline)
{
    uint64_t now = fc_monoclock_read(clock, raw);
    uint64_t wait = deadline > now ? deadline - now : 0;
    return raw + wait < raw ? UINT64_MAX : raw + wait;
}

#endif
