/* SPDX-License-Identifier: MIT */
/* Assertions for the network host tests: count, report, and end with "N passed, N failed". */
#ifndef NCHECK_H
#define NCHECK_H

#include <stdio.h>

extern unsigned ncheck_passed, ncheck_failed;

#define NCHECK(cond)                                                                  \
    do {                                                                              \
        if (cond) {                                                                   \
            ncheck_passed++;                                                          \
        } else {                                                                      \
            ncheck_failed++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
            fflush(stderr);                                                           \
        }                                                                             \
    } while (0)

/* NCHECK with a formatted explanation on failure */
#define NCHECKF(cond, ...)                                                            \
    do {                                                                              \
        if (cond) {                                                                   \
            ncheck_passed++;                                                          \
        } else {                                                                      \
            ncheck_failed++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            fflush(stderr);                                                           \
        }                                                                             \
    } while (0)

static inline int ncheck_summary(const char *name)
{
    printf("%s:\n", name);
    printf("%u passed, %u failed\n", ncheck_passed, ncheck_failed);
    return ncheck_failed == 0 && ncheck_passed > 0 ? 0 : 1;
}

#endif
