/* SPDX-License-Identifier: MIT */
/*
 * counter: a strictly increasing counter, one line per tick, with both clocks, so a live
 * migration shows up as a gap in wall/monotonic time but never as a repeated or lost count.
 * Each tick is also written to xenstore data/counter so dom0 can read it without the console.
 *
 *   counter [--interval-ms MS] [--count N]     (defaults 100 ms, forever; N=0 means forever)
 */
#include <stdint.h>
#include <stdio.h>

#include <fc/api.h>
#include <fc/libc/options.h>

#define EXIT_USAGE 2
#define NS_PER_MS 1000000ull

int main(int argc, char **argv)
{
    unsigned long long interval_ms = 100;
    unsigned long long count = 0;
    const struct fc_option options[] = {
        { "interval-ms", &interval_ms, 1, 3600000 },
        { "count", &count, 0, UINT64_MAX },
    };
    if (fc_options_parse(argc, argv, options, sizeof(options) / sizeof(options[0])) != argc) {
        printf("usage: counter [--interval-ms MS] [--count N]\n");
        return EXIT_USAGE;
    }

    int xenstore_warned = 0;
    for (unsigned long long tick = 0; count == 0 || tick < count; tick++) {
        uint64_t mono_ns = fc_monotonic_ns();
        uint64_t wall_ns = fc_wallclock_ns();
        printf("counter %llu mono_ns=%llu wall_ns=%llu\n", tick, (unsigned long long)mono_ns,
               (unsigned long long)wall_ns);

        char value[24];
        snprintf(value, sizeof(value), "%llu", tick);
        int rc = fc_xs_write("data/counter", value);
        if (rc < 0 && !xenstore_warned) {
            /* Keep counting: the console still shows progress. Say it once, not every tick. */
            printf("counter: cannot write xenstore data/counter (error %d), continuing\n", rc);
            xenstore_warned = 1;
        }
        fc_sleep_ns(interval_ms * NS_PER_MS);
    }
    return 0;
}
