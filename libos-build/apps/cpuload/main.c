/* SPDX-License-Identifier: MIT */
/*
 * cpuload: the optimiser's load generator. In every 100 ms period it spins for duty% of the
 * period and sleeps for the rest. The duty comes from --duty at start and can be changed at run
 * time by writing 0-100 to xenstore data/cpuload-duty (read once per period).
 *
 *   cpuload [--duty D] [--periods N]     (defaults 50 %, forever; N=0 means forever)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fc/api.h>
#include <fc/libc/options.h>

#define EXIT_USAGE 2
#define PERIOD_NS 100000000ull
#define SPINS_BETWEEN_POLLS 256u
#define DUTY_KEY "data/cpuload-duty"

/* Burns the CPU until `until_ns`, still servicing events so a migration can suspend us. */
static void spin_until(uint64_t until_ns)
{
    while (fc_monotonic_ns() < until_ns) {
        for (volatile unsigned i = 0; i < SPINS_BETWEEN_POLLS; i++)
            ;
        fc_poll();
    }
}

/* Reads the duty from xenstore into *duty if the key holds a valid new value. */
static void read_duty_key(unsigned long long *duty)
{
    static char last_rejected[64];
    char text[64];
    if (fc_xs_read(DUTY_KEY, text, sizeof(text)) < 0)
        return; /* not set: keep the current duty */

    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    int valid = text[0] >= '0' && text[0] <= '9' && (*end == '\0' || *end == '\n') && value <= 100;
    if (!valid) {
        if (strcmp(text, last_rejected) != 0) { /* complain once per bad value, not per period */
            printf("cpuload: ignoring %s=\"%s\" (want a whole number from 0 to 100)\n", DUTY_KEY,
                   text);
            strncpy(last_rejected, text, sizeof(last_rejected) - 1);
        }
        return;
    }
    last_rejected[0] = '\0';
    if (value != *duty) {
        printf("cpuload duty=%llu (was %llu, from xenstore)\n", value, *duty);
        *duty = value;
    }
}

int main(int argc, char **argv)
{
    unsigned long long duty = 50, periods = 0;
    const struct fc_option options[] = {
        { "duty", &duty, 0, 100 },
        { "periods", &periods, 0, UINT64_MAX },
    };
    if (fc_options_parse(argc, argv, options, sizeof(options) / sizeof(options[0])) != argc) {
        printf("usage: cpuload [--duty PERCENT] [--periods N]\n");
        return EXIT_USAGE;
    }
    printf("cpuload duty=%llu\n", duty);

    for (unsigned long long period = 0; periods == 0 || period < periods; period++) {
        uint64_t start = fc_monotonic_ns();
        spin_until(start + PERIOD_NS / 100 * duty);
        uint64_t now = fc_monotonic_ns();
        if (now < start + PERIOD_NS)
            fc_sleep_ns(start + PERIOD_NS - now);
        read_duty_key(&duty);
    }
    return 0;
}
