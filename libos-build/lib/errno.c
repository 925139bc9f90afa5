/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: the errno variable (one thread per domain). */
#include <errno.h>

int errno;
