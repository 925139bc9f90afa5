/* SPDX-License-Identifier: MIT */
/* Host entry point for an app under test: what the kernel does after boot. */
#include <fc/api.h>

#include "fake_kernel.h"

int main(void)
{
    fake_console_echo(1);
    fc_exit(fc_libc_start());
}
