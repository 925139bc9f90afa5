/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: process exit. A domain has one process, so exit ends the domain. */
#include <stdlib.h>

#include <fc/api.h>

void exit(int status)
{
    fc_exit(status);
}

void abort(void)
{
    fc_panic("abort() called");
}
