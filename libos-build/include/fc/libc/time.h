/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: clocks and sleeping, on top of the kernel's fc_*_ns clocks. */
#ifndef FC_LIBC_TIME_H
#define FC_LIBC_TIME_H

#include <stdint.h>

typedef long time_t;
typedef int clockid_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

/* Seconds since the Unix epoch; also stored in *out when out is not NULL. */
time_t time(time_t *out);
/* 0 on success; -1 with errno = EINVAL for an unknown clock or a NULL `now`. */
int clock_gettime(clockid_t clock, struct timespec *now);
/* Sleeps for *duration; -1 with errno = EINVAL if it is negative or tv_nsec is out of range. */
int nanosleep(const struct timespec *duration, struct timespec *remaining);

/* FlexCapsule helpers: convert between nanosecond counts and struct timespec. */
struct timespec fc_timespec_from_ns(uint64_t ns);
uint64_t fc_timespec_to_ns(const struct timespec *ts);

#endif /* FC_LIBC_TIME_H */
