/* SPDX-License-Identifier: MIT */
/*
 * Grant table, version 1, for a PV guest: Xen keeps the table in its own frames; we ask
 * for them with GNTTABOP_setup_table and map them over pages reserved in our image (like
 * shared_info). Entries 0..7 are the toolstack's (console, xenstore); we hand out the rest.
 *
 * Migration: the table belongs to the domain, not to its memory, so it does not move. Before
 * a suspend the mappings are removed (the saver cannot translate a page-table entry that
 * points at a Xen frame); after a resume the table is set up again, new and empty in a new
 * domain, the same in a cancelled suspend.
 */
#include <fc/gnttab.h>

#define FRAMES 2
#define ENTRIES (FRAMES * FC_PAGE_SIZE / sizeof(grant_entry_v1_t))

static char window[FRAMES][FC_PAGE_SIZE] __attribute__((aligned(4096)));
static volatile grant_entry_v1_t *table;
static uint64_t used[ENTRIES / 64];
static int initialised;

static long grant_table_op(unsigned int cmd, void *op, unsigned int count)
{
    return FC_HC(__HYPERVISOR_grant_table_op, cmd, op, count);
}

static int map_table(void)
{
    xen_pfn_t frames[FRAMES];
    struct gnttab_setup_table setup = {.dom = DOMID_SELF, .nr_frames = FRAMES};
    set_xen_guest_handle(setup.frame_list, frames);
    long rc = grant_table_op(GNTTABOP_setup_table, &setup, 1);
    if (rc || setup.status != GNTST_okay) {
        fc_kprintf("[flexcapsule] gnttab: setup_table failed (rc %ld, status %d)\n", rc,
                   setup.status);
        return -FC_EIO;
    }
    for (unsigned i = 0; i < FRAMES; i++)
        if (fc_hc_update_va_mapping((unsigned long)window[i], ((uint64_t)frames[i] << 12) | 7,
                                    UVMF_INVLPG))
            fc_fatal("gnttab: cannot map grant frame 0x%lx", (unsigned long)frames[i]);
    table = (volatile grant_entry_v1_t *)window;
    return 0;
}

static void unmap_table(void)
{
    table = 0;
    for (unsigned i = 0; i < FRAMES; i++)
        fc_hc_update_va_mapping((unsigned long)window[i], 0, UVMF_INVLPG);
}

static void gnttab_quiesce(void)
{
    if (initialised)
        unmap_table();
}

static void gnttab_resume(int cancelled)
{
    if (!initialised)
        return;
    if (!cancelled) { /* a new domain: a new, empty table */
        fc_kmemset(used, 0, sizeof(used));
    }
    if (map_table())
        fc_fatal("gnttab: cannot set the grant table up again after resume");
}

int fc_gnttab_init(void)
{
    if (initialised)
        return 0;
    int rc = map_table();
    if (rc)
        return rc;
    initialised = 1;
    fc_suspend_hook_register(gnttab_quiesce, gnttab_resume);
    return 0;
}

long fc_gnttab_grant(domid_t dom, const void *va, int readonly)
{
    if (!table)
        return -FC_EIO;
    for (unsigned ref = GNTTAB_NR_RESERVED_ENTRIES; ref < ENTRIES; ref++) {
        if (used[ref / 64] & (1UL << (ref % 64)))
            continue;
        used[ref / 64] |= 1UL << (ref % 64);
        table[ref].frame = (uint32_t)fc_virt_to_mfn(va);
        table[ref].domid = dom;
        __asm__ __volatile__("sfence" ::: "memory"); /* frame and domid before the flags */
        table[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
        return ref;
    }
    return -FC_ENOSPC;
}

int fc_gnttab_end(grant_ref_t ref)
{
    if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= ENTRIES || !(used[ref / 64] & (1UL << (ref % 64))))
        return -FC_EINVAL;
    if (table) {
        /* Clear the flags only if the other side has no mapping; Xen sets GTF_reading and
         * GTF_writing itself, so this needs a compare-and-swap. */
        uint16_t flags = table[ref].flags;
        do {
            if (flags & (GTF_reading | GTF_writing))
                return -FC_EBUSY;
        } while (!__atomic_compare_exchange_n(&table[ref].flags, &flags, 0, 0, __ATOMIC_SEQ_CST,
                                              __ATOMIC_SEQ_CST));
    }
    used[ref / 64] &= ~(1UL << (ref % 64));
    return 0;
}

