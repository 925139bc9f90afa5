/* SPDX-License-Identifier: MIT */
/*
 * A fake FlexCapsule kernel for host tests: the fc_* API of <fc/api.h> on top of the host.
 *   pages:     aligned host memory, at most 1 GiB in use (like a domain's memory); every
 *              allocation is tracked and fc_pages_free() must give back exactly what
 *              fc_pages_alloc() handed out (else the test aborts loudly).
 *   console:   captured in memory, and echoed to stdout after fake_console_echo(1).
 *   clocks:    a fake monotonic clock; fc_sleep_ns() advances it instantly, and every read
 *              advances it by 1 us so busy-wait loops end.
 *   xenstore:  a small key/value table; FC_FAKE_XS="key=value" presets a key and
 *              FC_FAKE_XS_AT="<ns>:key=value" sets one once the fake clock reaches <ns>.
 *              FC_FAKE_XS_TRACE makes every write print "xs-write key=value" to stderr.
 *   corruption: FC_FAKE_CORRUPT_AT_NS="<ns>" flips one byte in the largest page block once the
 *              fake clock reaches <ns> (what a migration losing a dirty page would do).
 *   cmdline:   FC_FAKE_CMDLINE, or fake_set_cmdline().
 *   fc_exit:   exits the host process with the status; fc_panic() prints and exits with 99.
 */
#ifndef FAKE_KERNEL_H
#define FAKE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#define FAKE_PANIC_STATUS 99

size_t fake_pages_in_use(void);
size_t fake_page_allocations(void);   /* live fc_pages_alloc() blocks */
void fake_set_page_limit(size_t max_pages_in_use); /* 0: the default, 1 GiB */

const char *fake_console_text(void);
void fake_console_echo(int on);
void fake_console_reset(void);

void fake_set_cmdline(const char *line);

#endif /* FAKE_KERNEL_H */
