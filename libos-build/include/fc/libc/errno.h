/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: errno. One thread per domain, so a plain global is enough. */
#ifndef FC_LIBC_ERRNO_H
#define FC_LIBC_ERRNO_H

extern int errno;

#define ENOENT 2
#define EINTR 4
#define ENOMEM 12
#define EINVAL 22
#define ERANGE 34

#endif /* FC_LIBC_ERRNO_H */
