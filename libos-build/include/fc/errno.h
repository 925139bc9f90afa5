/* SPDX-License-Identifier: MIT */
/* Errno values used by the kernel API (Linux numbering, which xenstore's names map onto). */
#ifndef FC_ERRNO_H
#define FC_ERRNO_H

#define FC_EPERM 1
#define FC_ENOENT 2
#define FC_EIO 5
#define FC_E2BIG 7
#define FC_EAGAIN 11
#define FC_ENOMEM 12
#define FC_EACCES 13
#define FC_EBUSY 16
#define FC_EEXIST 17
#define FC_ENODEV 19
#define FC_EISDIR 21
#define FC_EINVAL 22
#define FC_ENOSPC 28
#define FC_EROFS 30
#define FC_ERANGE 34
#define FC_ENAMETOOLONG 36
#define FC_ENOSYS 38
#define FC_ENOTEMPTY 39
#define FC_EPROTO 71
#define FC_EMSGSIZE 90
#define FC_EISCONN 106
#define FC_ETIMEDOUT 110

#endif
