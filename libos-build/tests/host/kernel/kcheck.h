/* SPDX-License-Identifier: MIT */
/* Tiny assertion helper for the kernel's and the network stack's host tests: count, report,
 * exit non-zero on failure. One test binary per source file, so the counters are static. */
#ifndef KCHECK_H
#define KCHECK_H

#include <stdio.h>

static unsigned kcheck_passed, kcheck_failed;

/* One check: `text` is the condition as written (stringified by the caller, before expansion). */
#define KCHECK_AT(ok, text, ...)                                                      \
    do {                                                                              \
        if (ok) {                                                                     \
            kcheck_passed++;                                                          \
        } else {                                                                      \
            kcheck_failed++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, text);            \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

#define KCHECK(cond) KCHECK_AT((cond), #cond, "%s", "failed")
/* KCHECK with a formatted explanation on failure */
#define KCHECKF(cond, ...) KCHECK_AT((cond), #cond, __VA_ARGS__)

static inline int kcheck_summary(const char *name)
{
    printf("%s: %u passed, %u failed\n", name, kcheck_passed, kcheck_failed);
    return kcheck_failed == 0 && kcheck_passed > 0 ? 0 : 1;
}

#endif
