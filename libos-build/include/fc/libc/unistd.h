/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: the POSIX sleep calls. */
#ifndef FC_LIBC_UNISTD_H
#define FC_LIBC_UNISTD_H

/* Sleeps `seconds`; always returns 0 (nothing interrupts a sleep here). */
unsigned int sleep(unsigned int seconds);
/* Sleeps `microseconds`; always returns 0. */
int usleep(unsigned long microseconds);

#endif /* FC_LIBC_UNISTD_H */
