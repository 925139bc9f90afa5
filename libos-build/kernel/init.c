/* SPDX-License-Identifier: MIT */
/* Boot sequence, command line, exit and panic paths. */
#include <fc/kernel.h>
#include <fc/kopts.h>

start_info_t *fc_start_info;
shared_info_t *fc_shared_info;
volatile int fc_kernel_busy;
char fc_cmdline_buf[MAX_GUEST_CMDLINE];
static char kopts_buf[MAX_GUEST_CMDLINE]; /* the options' names and values point in here */
static struct fc_kopt kopts[FC_KOPTS_MAX];
static int nr_kopts;

/* shared_info is a Xen page; we map it over this page of our own image. */
static char shared_info_window[FC_PAGE_SIZE] __attribute__((aligned(4096)));

void fc_map_shared_info(void);
void fc_map_shared_info(void)
{
    if (fc_hc_update_va_mapping((unsigned long)shared_info_window,
                                fc_start_info->shared_info | 7, UVMF_INVLPG))
        fc_fatal("cannot map shared_info at machine address 0x%lx",
                 (unsigned long)fc_start_info->shared_info);
    fc_shared_info = (shared_info_t *)shared_info_window;
}

void fc_unmap_shared_info(void);
void fc_unmap_shared_info(void)
{
    fc_hc_update_va_mapping((unsigned long)shared_info_window, 0, UVMF_INVLPG);
}

/* The command line goes to the app verbatim; we only reject what no app can parse. */
static void copy_cmdline(void)
{
    const char *src = (const char *)fc_start_info->cmd_line;
    size_t i = 0;
    for (; i < MAX_GUEST_CMDLINE && src[i]; i++) {
        unsigned char c = (unsigned char)src[i];
        if ((c < 0x20 && c != '\t') || c > 0x7e)
            fc_fatal("bad command line: byte 0x%02x at offset %lu is not printable ASCII", c,
                     (unsigned long)i);
        fc_cmdline_buf[i] = (char)c;
    }
    if (i == MAX_GUEST_CMDLINE)
        fc_fatal("bad command line: not NUL-terminated within %d bytes", MAX_GUEST_CMDLINE);
    fc_cmdline_buf[i] = 0;
}

/* Leading fc.NAME=VALUE words are kernel options; the app sees the rest. */
static void split_kernel_options(void)
{
    char *rest;
    fc_kmemcpy(kopts_buf, fc_cmdline_buf, sizeof(kopts_buf));
    nr_kopts = fc_kopts_split(kopts_buf, kopts, FC_KOPTS_MAX, &rest);
    if (nr_kopts < 0)
        fc_fatal("bad command line: more than %d kernel options (fc.NAME=VALUE)", FC_KOPTS_MAX);
    fc_kmemcpy(fc_cmdline_buf, rest, fc_kstrlen(rest) + 1);
    for (int i = 0; i < nr_kopts; i++)
        fc_kprintf("[flexcapsule] kernel option fc.%s=%s\n", kopts[i].name, kopts[i].value);
}

const char *fc_kernel_option(const char *name)
{
    return fc_kopts_find(kopts, nr_kopts, name);
}

void fc_kernel_main(start_info_t *si)
{
    fc_start_info = si;
    fc_p2m = (unsigned long *)si->mfn_list;
    fc_nr_pfns = si->nr_pages;
    fc_map_shared_info();
    fc_traps_init();
    fc_console_init();
    fc_kprintf("[flexcapsule] FlexCapsule OS booting: %lu MiB configured\n",
               fc_nr_pfns >> (20 - FC_PAGE_SHIFT));
    copy_cmdline();
    split_kernel_options();
    fc_mm_init();
    fc_p2m_publish();
    fc_events_init();
    fc_console_resume(); /* binds the console port now that events exist */
    fc_time_init();
    fc_events_enable();
    fc_xs_init();
    fc_shutdown_init();
    fc_mm_unmap_page_zero();
    fc_kprintf("[flexcapsule] ready: domain %d, %lu KiB in use\n", fc_domid(),
               fc_mm_pages_in_use() * (FC_PAGE_SIZE / 1024));
    int status = fc_libc_start();
    fc_exit(status);
}

const char *fc_cmdline(void)
{
    return fc_cmdline_buf;
}

void fc_kernel_leave(void)
{
    extern volatile int fc_shutdown_pending;
    if (--fc_kernel_busy == 0 && fc_shutdown_pending)
        fc_poll();
}

void fc_poll(void)
{
    if (fc_kernel_busy)
        return;
    FC_KERNEL_ENTER();
    fc_xs_pump_events();
    fc_kernel_busy--;
    fc_shutdown_service();
}

/* Status first into xenstore (dom0 reads it), then the console line, then shut down. */
void fc_terminate(int status, unsigned int reason)
{
    static int terminating;
    struct sched_shutdown sd = {.reason = reason};
    if (terminating++ == 0) {
        char value[16];
        fc_ksnprintf(value, sizeof(value), "%d", status);
        if (fc_xs_is_mid_request())
            fc_kprintf("[flexcapsule] xenstore unavailable: exit status not written\n");
        else if (fc_xs_write("data/exit-status", value) < 0)
            fc_kprintf("[flexcapsule] could not write data/exit-status\n");
        fc_kprintf("[flexcapsule] exit status %d\n", status);
        fc_console_flush(2000000000ULL);
    }
    for (;;)
        fc_hc_sched_op(SCHEDOP_shutdown, &sd);
}

void fc_exit(int status)
{
    fc_terminate(status, SHUTDOWN_poweroff);
}

void fc_fatal(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    fc_kvsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fc_kprintf("[flexcapsule] %s\n", msg);
    fc_terminate(FC_EXIT_STATUS_PANIC, SHUTDOWN_crash);
}

void fc_panic(const char *fmt_message)
{
    fc_fatal("panic: %s", fmt_message ? fmt_message : "(no message)");
}
