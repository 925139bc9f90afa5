/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: clocks and sleeps on the kernel's nanosecond clocks. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <fc/api.h>

#define NS_PER_SEC 1000000000ull

struct timespec fc_timespec_from_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC) };
    return ts;
}

uint64_t fc_timespec_to_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * NS_PER_SEC + (uint64_t)ts->tv_nsec;
}

time_t time(time_t *out)
{
    time_t now = (time_t)(fc_wallclock_ns() / NS_PER_SEC);
    if (out != NULL)
        *out = now;
    return now;
}

int clock_gettime(clockid_t clock, struct timespec *now)
{
    if (now == NULL) {
        errno = EINVAL;
        return -1;
    }
    switch (clock) {
    case CLOCK_REALTIME:
        *now = fc_timespec_from_ns(fc_wallclock_ns());
        return 0;
    case CLOCK_MONOTONIC:
        *now = fc_timespec_from_ns(fc_monotonic_ns());
        return 0;
    default:
        errno = EINVAL;
        return -1;
    }
}

int nanosleep(const struct timespec *duration, struct timespec *remaining)
{
    if (duration == NULL || duration->tv_sec < 0 || duration->tv_nsec < 0
        || duration->tv_nsec >= (long)NS_PER_SEC) {
        errno = EINVAL;
        return -1;
    }
    fc_sleep_ns(fc_timespec_to_ns(duration));
    if (remaining != NULL) {
        remaining->tv_sec = 0; /* nothing interrupts a sleep: none of it remains */
        remaining->tv_nsec = 0;
    }
    return 0;
}

unsigned int sleep(unsigned int seconds)
{
    fc_sleep_ns((uint64_t)seconds * NS_PER_SEC);
    return 0;
}

int usleep(unsigned long microseconds)
{
    fc_sleep_ns((uint64_t)microseconds * 1000u);
    return 0;
}
