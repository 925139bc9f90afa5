/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule OS kernel API: the contract between the kernel and lib/ (and apps).
 *
 * All functions returning int/long report failure as a negative errno value.
 *
 * Exit status contract (the dom0 runtime relies on it):
 *   fc_exit(N) writes the decimal N to the xenstore key data/exit-status
 *   (/local/domain/<domid>/data/exit-status), prints the console line
 *   "[flexcapsule] exit status N", waits (bounded) until xenconsoled has drained the
 *   console ring, then shuts the domain down with SHUTDOWN_poweroff.
 *   fc_panic() and fatal exceptions write status 255 the same way and shut down with
 *   SHUTDOWN_crash after printing "[flexcapsule] panic: ..." or "[flexcapsule] fatal ...".
 *   Generated xl.cfg files use on_poweroff = "preserve" and on_crash = "preserve", so
 *   the domain (and its xenstore directory) stays until dom0 has read data/exit-status;
 *   dom0 then runs `xl destroy`. A missing key means the domain never reached fc_exit.
 */
#ifndef FC_API_H
#define FC_API_H

#include <stddef.h>
#include <stdint.h>

#define FC_PAGE_SIZE 4096UL
#define FC_EXIT_STATUS_PANIC 255

/* Console (what `xl console` shows). Writes block until queued; "\n" becomes "\r\n". */
void fc_console_write(const char *buf, size_t len);
long fc_console_read(char *buf, size_t len); /* non-blocking; bytes read, 0 if none */

/* Time. Monotonic time keeps counting across save/restore and live migration. */
uint64_t fc_monotonic_ns(void); /* ns since boot */
uint64_t fc_wallclock_ns(void); /* ns since the Unix epoch */
void fc_sleep_ns(uint64_t ns);  /* blocks the vCPU; services events (incl. migration) */

/* Pages: contiguous, page aligned, zeroed; backed by Xen only while allocated. */
void *fc_pages_alloc(size_t npages);          /* NULL if none */
void fc_pages_free(void *p, size_t npages);   /* memory goes back to Xen */

/* Xenstore. Relative paths are relative to /local/domain/<domid>. */
int fc_xs_read(const char *path, char *buf, size_t len); /* >=0 length (NUL-terminated), or -errno */
int fc_xs_write(const char *path, const char *value);
int fc_xs_rm(const char *path);
/* Watches: registering fires one event at once (xenstore semantics). Events are queued
 * (up to FC_XS_WATCH_QUEUE) and fetched with fc_xs_read_watch. Watches survive migration. */
#define FC_XS_WATCH_QUEUE 16
int fc_xs_watch(const char *path, const char *token);
int fc_xs_unwatch(const char *path, const char *token);
/* Non-blocking: 1 and fills path/token if an event was queued, 0 if none, -errno. */
int fc_xs_read_watch(char *path, size_t path_len, char *token, size_t token_len);
/* Transactions: fc_xs_transaction_start returns a transaction id (> 0) or -errno;
 * end with commit=1 to commit (-EAGAIN means retry), 0 to abort. */
long fc_xs_transaction_start(void);
int fc_xs_transaction_end(long tx, int commit);
int fc_xs_read_tx(long tx, const char *path, char *buf, size_t len);
int fc_xs_write_tx(long tx, const char *path, const char *value);

const char *fc_cmdline(void); /* the domain's extra command line (xl.cfg cmdline=) */
int fc_domid(void);           /* current domain id (changes on migration) */
void fc_poll(void);           /* services pending events (shutdown requests, xenstore) */

__attribute__((noreturn)) void fc_exit(int status);
__attribute__((noreturn)) void fc_panic(const char *fmt_message);

/* Provided by lib/: parses argv from fc_cmdline(), runs main, returns its status. */
int fc_libc_start(void);

#endif
