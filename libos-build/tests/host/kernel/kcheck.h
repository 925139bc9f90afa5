/* SPDX-License-Identifier: MIT */
/* Tiny assertion helper for the kernel's and the network stack's host tests: count, report,
 * exit non-zero on failure. One test binary per source file, so the counters are static. */
#ifndef KCHECK_H
#define KCHECK_H

#include <stdio.h>

static unsigned kcheck_passed, kcheck_failed;

#define KCHECK(cond)                                                                  \
    do {                                                                              \
        if (cond) {                                                                   \
            kcheck_passed++;                                                          \
        } else {                                                                      \
            kcheck_failed++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                             \
    } while (0)

/* KCHECK with a formatted explanation on failure */
#define KCHECKF(cond, ...)                                                            \
    do {                                                                              \
        if (cond) {                                                                   \
            kcheck_passed++;                                                          \
        } else {                                                                      \
            kcheck_failed++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

static inline int kcheck_summary(const char *name)
{
    printf("%s: %u passed, %u failed\n", name, kcheck_passed, kcheck_failed);
    return kcheck_failed == 0 && kcheck_passed > 0 ? 0 : 1;
}

#endif
