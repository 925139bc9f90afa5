/* SPDX-License-Identifier: MIT */
/*
 * The shutdown handler: watches control/shutdown and carries out suspend (for save and
 * live migration), poweroff and reboot. The suspend sequence follows
 * /work/shared/reference/xen-pv-migration.md sections 1.3 B-I.
 */
#include <fc/kernel.h>

volatile int fc_shutdown_pending;
static unsigned int resumes;

/* Drivers that hold state in the backend or the hypervisor (grant table, netfront). */
#define MAX_SUSPEND_HOOKS 8
static struct {
    void (*quiesce)(void);
    void (*resume)(int cancelled);
} hooks[MAX_SUSPEND_HOOKS];
static unsigned nr_hooks;

void fc_suspend_hook_register(void (*quiesce)(void), void (*resume)(int cancelled))
{
    if (nr_hooks == MAX_SUSPEND_HOOKS)
        fc_fatal("more than %d suspend hooks", MAX_SUSPEND_HOOKS);
    hooks[nr_hooks].quiesce = quiesce;
    hooks[nr_hooks].resume = resume;
    nr_hooks++;
}

/* Last registered first: a driver quiesces before what it depends on (its grant table). */
static void quiesce_hooks(void)
{
    for (unsigned i = nr_hooks; i-- > 0;)
        if (hooks[i].quiesce)
            hooks[i].quiesce();
}

static void resume_hooks(int cancelled)
{
    for (unsigned i = 0; i < nr_hooks; i++)
        if (hooks[i].resume)
            hooks[i].resume(cancelled);
}

void fc_map_shared_info(void);
void fc_unmap_shared_info(void);

void fc_shutdown_init(void)
{
    if (fc_xs_watch_internal("control/shutdown", "fc:shutdown") < 0)
        fc_kprintf("[flexcapsule] warning: cannot watch control/shutdown\n");
    /* Advertise what we handle; older toolstacks may not let us write these, so no reply is
     * waited for: the app starts three xenstore round trips sooner. */
    fc_xs_post_write("control/feature-suspend", "1");
    fc_xs_post_write("control/feature-poweroff", "1");
    fc_xs_post_write("control/feature-reboot", "1");
}

static void suspend_and_resume(void)
{
    struct sched_shutdown sd = {.reason = SHUTDOWN_suspend};

    /* Quiesce: drivers first, while xenstore and events still work (netfront closes its
     * connection with the backend); no xenstore request is in flight (requests are
     * synchronous); drain the console, stop the timer, mask events. */
    quiesce_hooks();
    fc_console_flush(1000000000ULL);
    fc_time_suspend();
    fc_events_disable();

    /* Canonicalise: the restorer expects PFNs for the store and console pages, and no
     * mapping of the (host-specific) shared_info page. */
    unsigned long start_info_mfn = fc_virt_to_mfn(fc_start_info);
    fc_console_canonicalise();
    fc_xs_canonicalise();
    fc_unmap_shared_info();

    /* Returns 0 in the new domain, 1 if the suspend was cancelled (same domain). */
    long rc = fc_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&sd,
                           start_info_mfn, 0, 0);

    fc_map_shared_info(); /* start_info.shared_info is the new machine address */
    if (rc == 0) {
        fc_evtchn_forget_all(); /* restore closed and masked every old port */
        fc_p2m_rebuild();
        fc_console_resume();
        fc_time_resume();
        fc_events_enable();
        fc_xs_resume();
        resumes++;
        fc_kprintf("[flexcapsule] resumed in domain %d (resume %u)\n", fc_domid(), resumes);
        resume_hooks(0);
    } else {
        fc_console_uncanonicalise();
        fc_xs_uncanonicalise();
        fc_p2m_publish();
        fc_console_resume();
        fc_time_resume();
        fc_events_enable();
        fc_kprintf("[flexcapsule] suspend cancelled (rc %ld), continuing\n", rc);
        resume_hooks(1);
    }
}

void fc_shutdown_service(void)
{
    char req[32];
    if (!fc_shutdown_pending || fc_kernel_busy)
        return;
    FC_KERNEL_ENTER();
    fc_shutdown_pending = 0;
    int rc = fc_xs_read("control/shutdown", req, sizeof(req));
    if (rc <= 0) {
        /* absent, empty (our own acknowledgement) or unreadable: nothing asked */
    } else if (!fc_kstrcmp(req, "suspend")) {
        fc_xs_write("control/shutdown", ""); /* acknowledge */
        suspend_and_resume();
    } else if (!fc_kstrcmp(req, "poweroff") || !fc_kstrcmp(req, "halt")) {
        fc_xs_write("control/shutdown", "");
        fc_kprintf("[flexcapsule] poweroff requested by the toolstack\n");
        fc_terminate(0, SHUTDOWN_poweroff);
    } else if (!fc_kstrcmp(req, "reboot")) {
        fc_xs_write("control/shutdown", "");
        fc_kprintf("[flexcapsule] reboot requested by the toolstack\n");
        fc_terminate(0, SHUTDOWN_reboot);
    } else {
        fc_kprintf("[flexcapsule] ignoring unknown shutdown request '%s'\n", req);
    }
    fc_kernel_busy--;
}
