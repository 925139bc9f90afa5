/* SPDX-License-Identifier: MIT */
/* The monotonic clock across raw-time changes: a new host, a stale read after resume, timers. */
#include <stdint.h>

#include <fc/monoclock.h>

#include "kcheck.h"

#define S 1000000000ULL

int main(void)
{
    struct fc_monoclock clock;
    fc_monoclock_start(&clock, 500 * S);
    KCHECK(fc_monoclock_read(&clock, 500 * S) == 0);
    KCHECK(fc_monoclock_read(&clock, 503 * S) == 3 * S);

    /* Migrated to a host that booted later: its raw time is lower. Time goes on from 3 s plus
     * the suspension, and then advances with the new host's raw clock. */
    fc_monoclock_resume(&clock, 40 * S, S / 2);
    KCHECK(fc_monoclock_read(&clock, 40 * S) == 3 * S + S / 2);
    KCHECK(fc_monoclock_read(&clock, 41 * S) == 4 * S + S / 2);

    /* A stale raw read at resume, far ahead of the host's real time: the clock must neither go
     * backwards nor wrap nor stall once the real raw time comes through. */
    fc_monoclock_resume(&clock, 900000 * S, 0);
    uint64_t at_resume = fc_monoclock_read(&clock, 900000 * S);
    KCHECK(fc_monoclock_read(&clock, 42 * S) == at_resume);
    KCHECK(fc_monoclock_read(&clock, 43 * S) == at_resume + S);
    KCHECK(fc_monoclock_read(&clock, 44 * S) == at_resume + 2 * S);

    /* The raw timer target is now + what is left, on whatever host this is. */
    uint64_t now = fc_monoclock_read(&clock, 44 * S);
    KCHECK(fc_monoclock_raw_at(&clock, 44 * S, now + 10 * S) == 54 * S);
    KCHECK(fc_monoclock_raw_at(&clock, 45 * S, now) == 45 * S); /* already due */
    KCHECK(fc_monoclock_raw_at(&clock, 46 * S, UINT64_MAX) == UINT64_MAX); /* never: no wrap */
    return kcheck_summary("kernel monoclock");
}
