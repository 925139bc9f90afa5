/* SPDX-License-Identifier: MIT */
/*
 * A minimal test harness for the host tests: CHECK() records a pass or prints a clear failure
 * (file:line, the expression and a detail message) and keeps going; check_summary() prints
 * "N passed, N failed" and gives the exit status (non-zero when anything failed).
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

extern unsigned long check_passed;
extern unsigned long check_failed;

#define CHECK(condition, ...)                                                                  \
    do {                                                                                       \
        if (condition) {                                                                       \
            check_passed++;                                                                    \
        } else {                                                                               \
            check_failed++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #condition);               \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

static inline int check_summary(void)
{
    printf("%lu passed, %lu failed\n", check_passed, check_failed);
    return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

#endif /* CHECK_H */
