/* SPDX-License-Identifier: MIT */
/* Kernel-internal interfaces shared between arch/, xen/ and kernel/. Not for apps. */
#ifndef FC_KERNEL_H
#define FC_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fc/api.h>
#include <fc/errno.h>
#include <fc/xen.h>

#define FC_PAGE_SHIFT 12
#define FC_PFN_UP(x) (((unsigned long)(x) + FC_PAGE_SIZE - 1) >> FC_PAGE_SHIFT)
#define FC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define fc_barrier() __asm__ __volatile__("" ::: "memory")
#define fc_mb() __asm__ __volatile__("mfence" ::: "memory")

/* Boot information, kept across suspend/resume (start_info is rewritten by restore). */
extern start_info_t *fc_start_info;
extern shared_info_t *fc_shared_info;
#define fc_vcpu (&fc_shared_info->vcpu_info[0])

/* Nesting depth of kernel code that owns a ring or the p2m: the upcall and fc_poll only
 * service shutdown requests when this is 0. */
extern volatile int fc_kernel_busy;
#define FC_KERNEL_ENTER() (fc_kernel_busy++)
void fc_kernel_leave(void);

/* Formatted console output for the kernel itself (%s %c %d %u %x %lu %ld %lx %p %%). */
void fc_kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fc_kvsnprintf(char *out, size_t cap, const char *fmt, va_list ap);
int fc_ksnprintf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t fc_kstrlen(const char *s);
int fc_kstrcmp(const char *a, const char *b);
void fc_kmemcpy(void *dst, const void *src, size_t n);
void fc_kmemset(void *dst, int c, size_t n);
__attribute__((noreturn)) void fc_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Address translation: the pseudo-physical memory is mapped 1:1 at virtual address 0. */
extern unsigned long *fc_p2m;             /* pfn -> mfn, start_info.mfn_list */
extern unsigned long fc_nr_pfns;
#define FC_INVALID_MFN (~0UL)
static inline unsigned long fc_virt_to_pfn(const void *va)
{
    return (unsigned long)va >> FC_PAGE_SHIFT;
}
static inline unsigned long fc_virt_to_mfn(const void *va)
{
    return fc_p2m[fc_virt_to_pfn(va)];
}
static inline void *fc_pfn_to_virt(unsigned long pfn)
{
    return (void *)(pfn << FC_PAGE_SHIFT);
}
static inline unsigned long fc_mfn_to_pfn(unsigned long mfn)
{
    return ((const unsigned long *)MACH2PHYS_VIRT_START)[mfn];
}

/* arch/x86_64 */
void fc_traps_init(void);
void fc_upcall_entry(void);   /* asm */
void fc_failsafe_entry(void); /* asm */

/* kernel/mm.c */
void fc_mm_init(void);
void *fc_kernel_pages_alloc(size_t npages); /* never freed: page tables, frame lists */
unsigned long fc_mm_pages_in_use(void);
unsigned long fc_mm_reserved_pfns(void);
void fc_mm_unmap_page_zero(void);

/* xen/p2m.c */
void fc_p2m_publish(void);  /* build (first call) and publish the frame list */
void fc_p2m_rebuild(void);  /* refresh every MFN after restore and republish */

/* xen/events.c */
typedef void (*fc_evtchn_handler_t)(evtchn_port_t port);
void fc_events_init(void);
void fc_evtchn_bind(evtchn_port_t port, fc_evtchn_handler_t handler);
void fc_evtchn_forget_all(void);
int fc_evtchn_bind_virq(uint32_t virq, fc_evtchn_handler_t handler, evtchn_port_t *port);
void fc_evtchn_close(evtchn_port_t port);
void fc_evtchn_notify(evtchn_port_t port);
void fc_evtchn_unmask(evtchn_port_t port);
void fc_events_enable(void);
void fc_events_disable(void);
uint8_t fc_events_hold(void);          /* no upcall (so no suspend) until fc_events_release */
void fc_events_release(uint8_t was_masked);
void fc_wait_for_event(void); /* block until any event channel fires */
void fc_block_held(void);      /* the same, for a caller holding events since it armed a wake-up */
void fc_do_upcall(void);       /* called from the asm entry */

/* kernel/time.c */
void fc_time_init(void);
void fc_time_suspend(void);
void fc_time_resume(void);
uint64_t fc_system_time_raw(void);
void fc_timer_arm(uint64_t deadline_ns); /* one-shot VIRQ_TIMER at a monotonic time; hold events */
/* Set by the network glue: fc_sleep_ns (outside kernel code) waits through it, so received
 * frames are served while an app sleeps. Called with the deadline until it has passed. */
extern void (*fc_sleep_hook)(uint64_t deadline_ns);

/* xen/console.c */
void fc_console_init(void);
void fc_console_resume(void);
void fc_console_flush(uint64_t timeout_ns);
void fc_console_canonicalise(void);
void fc_console_uncanonicalise(void);
void fc_console_early_write(const char *buf, size_t len);

/* xen/xenstore.c */
void fc_xs_init(void);
void fc_xs_resume(void);     /* new domain: new port, re-issue watches */
void fc_xs_canonicalise(void);
void fc_xs_uncanonicalise(void);
int fc_xs_is_mid_request(void);
int fc_xs_watch_internal(const char *path, const char *token);
int fc_xs_post_write(const char *path, const char *value); /* no wait for the reply; errors unseen */
/* Kernel watches (token "fc:...", other than shutdown) only count their events: a driver reads the
 * count, checks what it waits for, then blocks until the count moves or the deadline passes
 * (1: a watch fired, 0: deadline). Usable while the kernel is busy. */
unsigned fc_xs_kernel_events(void);
int fc_xs_wait_kernel_event(unsigned seen, uint64_t deadline_ns);
void fc_xs_pump_events(void);
int fc_xs_refresh_domid(void);

/* xen/suspend.c */
void fc_shutdown_init(void);
void fc_shutdown_service(void);
/* Suspend hooks (drivers that only exist once used, e.g. netfront): quiesce() runs before a
 * suspend, newest hook first, while xenstore and events still work; resume(cancelled) runs
 * after it, oldest first, once xenstore, events and time are back (cancelled = 1: same
 * domain, same backends; 0: a new domain). Both run in the shutdown handler, possibly from
 * the event upcall, never while fc_kernel_busy. */
void fc_suspend_hook_register(void (*quiesce)(void), void (*resume)(int cancelled));

/* kernel/init.c */
void fc_kernel_main(start_info_t *si) __attribute__((noreturn));
extern char fc_cmdline_buf[];
const char *fc_kernel_option(const char *name); /* value of fc.NAME=VALUE, or 0 (kopts.h) */
__attribute__((noreturn)) void fc_terminate(int status, unsigned int reason);

#endif
