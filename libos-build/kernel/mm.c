/* SPDX-License-Identifier: MIT */
/*
 * Memory: a page allocator over pseudo-physical frames that holds Xen memory only for
 * pages in use. At boot every page the kernel does not need goes back to Xen
 * (XENMEM_decrease_reservation); allocation populates frames (XENMEM_populate_physmap)
 * and maps them at virtual address pfn * 4096; freeing unmaps and returns them. So a
 * save or migration only copies what the app really uses.
 */
#include <fc/kernel.h>
#include <fc/page_bitmap.h>

#define PTE_PRESENT 0x001UL
#define PTE_RW 0x002UL
#define PTE_USER 0x004UL
#define PTE_ACCESSED 0x020UL
#define PTE_DIRTY 0x040UL
#define PTE_MFN(e) (((e) & 0x000ffffffffff000UL) >> FC_PAGE_SHIFT)
#define L1_PROT (PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED)
#define TABLE_PROT (PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY)
#define ENTRIES 512UL
#define MAX_PFNS (ENTRIES * ENTRIES) /* one L2 table: the direct map spans 1 GiB */
#define BATCH 512 /* frames per hypercall */
/*
 * Live migration needs Xen's log-dirty bitmap, whose pages come from the domain's shadow
 * pool. libxl never sizes that pool for PV guests, so Xen 4.17 makes it 128 pages plus
 * tot_pages / 256 and refuses each bitmap page that would take it below 129: a domain
 * needs about 256 resident pages per bitmap page (4-5 of them), or migration fails with
 * "Failed to retrieve logdirty bitmap: Cannot allocate memory". Hence a resident floor:
 * frames below it are never returned to Xen, and free ones there are reused first.
 */
#define MIN_RESIDENT_PAGES 1344 /* 5.25 MiB: room for 5 log-dirty bitmap pages */

unsigned long *fc_p2m;
unsigned long fc_nr_pfns;

static uint64_t used_words[MAX_PFNS / 64];   /* frame is populated and owned */
static uint64_t kernel_words[MAX_PFNS / 64]; /* owned by the kernel, never app-freeable */
static struct fc_page_bitmap used = {used_words, 0};
static struct fc_page_bitmap kernel_owned = {kernel_words, 0};
static unsigned long reserved_end; /* pfns below this are the boot image and Xen's pages */
static unsigned long resident_floor; /* pfns below this stay populated even when free */
static unsigned long l2_pfn;
static unsigned long l1_pfn[ENTRIES]; /* per 2 MiB slot; 0 = no L1 table yet */

static unsigned long pte_machine_address(unsigned long pfn)
{
    return (fc_p2m[l1_pfn[pfn / ENTRIES]] << FC_PAGE_SHIFT) + (pfn % ENTRIES) * 8;
}

static void tlb_flush(void)
{
    struct mmuext_op op = {.cmd = MMUEXT_TLB_FLUSH_LOCAL};
    if (fc_hc_mmuext_op(&op, 1))
        fc_fatal("mm: TLB flush failed");
}

static long reservation_op(int cmd, xen_pfn_t *frames, unsigned long n)
{
    struct xen_memory_reservation r = {.nr_extents = n, .extent_order = 0, .domid = DOMID_SELF};
    set_xen_guest_handle(r.extent_start, frames);
    return fc_hc_memory_op(cmd, &r);
}

/* Returns frames to Xen; `mapped` says whether their direct-map PTEs must be cleared. */
static void release_frames(unsigned long first, unsigned long count, int mapped_known,
                           int (*is_mapped)(unsigned long))
{
    static xen_pfn_t frames[BATCH]; /* static: the kernel stack is small */
    static mmu_update_t updates[BATCH];
    for (unsigned long base = first; base < first + count; base += BATCH) {
        unsigned long end = base + BATCH < first + count ? base + BATCH : first + count;
        unsigned long nf = 0, nu = 0;
        for (unsigned long pfn = base; pfn < end; pfn++) {
            if (fc_p2m[pfn] == FC_INVALID_MFN || pfn < resident_floor)
                continue; /* nothing to return, or kept resident (see MIN_RESIDENT_PAGES) */
            if (mapped_known || is_mapped(pfn)) {
                updates[nu].ptr = pte_machine_address(pfn) | MMU_NORMAL_PT_UPDATE;
                updates[nu++].val = 0;
            }
            frames[nf++] = fc_p2m[pfn];
            fc_p2m[pfn] = FC_INVALID_MFN;
        }
        if (nu) {
            if (fc_hc_mmu_update(updates, (unsigned)nu))
                fc_fatal("mm: unmapping pfns %lu..%lu failed", base, end - 1);
            tlb_flush();
        }
        if (nf && reservation_op(XENMEM_decrease_reservation, frames, nf) != (long)nf)
            fc_fatal("mm: returning %lu frames to Xen failed", nf);
    }
}

/* Creates the L1 table for a 2 MiB slot from a fresh frame cleared by Xen. */
static int ensure_l1(unsigned long slot)
{
    if (l1_pfn[slot])
        return 0;
    long pfn = fc_bitmap_find_clear_run(&used, reserved_end, 1);
    if (pfn < 0)
        return -FC_ENOMEM;
    xen_pfn_t frame = (xen_pfn_t)pfn;
    if (reservation_op(XENMEM_populate_physmap, &frame, 1) != 1)
        return -FC_ENOMEM;
    fc_bitmap_set_range(&used, (unsigned long)pfn, 1);
    fc_bitmap_set_range(&kernel_owned, (unsigned long)pfn, 1);
    fc_p2m[pfn] = frame;
    struct mmuext_op clear = {.cmd = MMUEXT_CLEAR_PAGE};
    clear.arg1.mfn = frame;
    mmu_update_t link = {
        .ptr = ((fc_p2m[l2_pfn] << FC_PAGE_SHIFT) + slot * 8) | MMU_NORMAL_PT_UPDATE,
        .val = (frame << FC_PAGE_SHIFT) | TABLE_PROT,
    };
    if (fc_hc_mmuext_op(&clear, 1) || fc_hc_mmu_update(&link, 1))
        fc_fatal("mm: installing a page table for slot %lu failed", slot);
    l1_pfn[slot] = (unsigned long)pfn;
    return 0;
}

static int never_mapped(unsigned long pfn)
{
    (void)pfn;
    return 0;
}

/* Populates and maps [first, first+count); on failure nothing stays populated. */
static int populate_and_map(unsigned long first, unsigned long count)
{
    static xen_pfn_t frames[BATCH];
    static mmu_update_t updates[BATCH];
    for (unsigned long slot = first / ENTRIES; slot <= (first + count - 1) / ENTRIES; slot++)
        if (ensure_l1(slot))
            return -FC_ENOMEM;
    for (unsigned long base = first; base < first + count; base += BATCH) {
        unsigned long n = first + count - base < BATCH ? first + count - base : BATCH;
        unsigned long missing = 0; /* frames below the resident floor are still populated */
        for (unsigned long i = 0; i < n; i++)
            if (fc_p2m[base + i] == FC_INVALID_MFN)
                frames[missing++] = base + i;
        long got = missing ? reservation_op(XENMEM_populate_physmap, frames, missing) : 0;
        for (long i = 0, k = 0; i < (long)n && k < got; i++)
            if (fc_p2m[base + i] == FC_INVALID_MFN)
                fc_p2m[base + i] = frames[k++];
        if (got != (long)missing) {
            release_frames(base, n, 0, never_mapped);
            if (base > first)
                release_frames(first, base - first, 1, 0);
            return -FC_ENOMEM;
        }
        for (unsigned long i = 0; i < n; i++) {
            updates[i].ptr = pte_machine_address(base + i) | MMU_NORMAL_PT_UPDATE;
            updates[i].val = (fc_p2m[base + i] << FC_PAGE_SHIFT) | L1_PROT;
        }
        if (fc_hc_mmu_update(updates, (unsigned)n))
            fc_fatal("mm: mapping pfns %lu..%lu failed", base, base + n - 1);
    }
    return 0;
}

static void *alloc_pages(size_t npages, int for_kernel)
{
    if (npages == 0 || npages > fc_nr_pfns)
        return 0;
    FC_KERNEL_ENTER();
    void *va = 0;
    long pfn = fc_bitmap_find_clear_run(&used, reserved_end, npages);
    if (pfn >= 0) {
        fc_bitmap_set_range(&used, (unsigned long)pfn, npages);
        if (populate_and_map((unsigned long)pfn, npages) == 0) {
            if (for_kernel)
                fc_bitmap_set_range(&kernel_owned, (unsigned long)pfn, npages);
            va = fc_pfn_to_virt((unsigned long)pfn);
            fc_kmemset(va, 0, npages * FC_PAGE_SIZE);
        } else {
            fc_bitmap_clear_range(&used, (unsigned long)pfn, npages);
        }
    }
    fc_kernel_leave();
    return va;
}

void *fc_pages_alloc(size_t npages)
{
    return alloc_pages(npages, 0);
}

void *fc_kernel_pages_alloc(size_t npages)
{
    return alloc_pages(npages, 1);
}

void fc_pages_free(void *p, size_t npages)
{
    unsigned long va = (unsigned long)p, pfn = va >> FC_PAGE_SHIFT;
    if (!p || npages == 0)
        return;
    if (va % FC_PAGE_SIZE || pfn < reserved_end || pfn + npages > fc_nr_pfns ||
        !fc_bitmap_all_set(&used, pfn, npages))
        fc_fatal("fc_pages_free(%p, %lu): not pages from fc_pages_alloc", p,
                 (unsigned long)npages);
    for (unsigned long i = pfn; i < pfn + npages; i++)
        if (fc_bitmap_test(&kernel_owned, i))
            fc_fatal("fc_pages_free(%p, %lu): page %lu belongs to the kernel", p,
                     (unsigned long)npages, i);
    FC_KERNEL_ENTER();
    release_frames(pfn, npages, 1, never_mapped);
    fc_bitmap_clear_range(&used, pfn, npages);
    fc_kernel_leave();
}

unsigned long fc_mm_pages_in_use(void)
{
    return fc_bitmap_count_set(&used);
}

unsigned long fc_mm_reserved_pfns(void)
{
    return reserved_end;
}

static unsigned long max_ul(unsigned long a, unsigned long b)
{
    return a > b ? a : b;
}

static const uint64_t *table_of(uint64_t entry, const char *what)
{
    if (!(entry & PTE_PRESENT))
        fc_fatal("mm: bootstrap %s table missing", what);
    return fc_pfn_to_virt(fc_mfn_to_pfn(PTE_MFN(entry)));
}

/* Bootstrap L1 tables lie inside the boot region, which Xen mapped (read-only) for us. */
static int boot_mapped(unsigned long pfn)
{
    unsigned long slot = pfn / ENTRIES;
    if (!l1_pfn[slot] || l1_pfn[slot] >= reserved_end)
        return 0;
    const uint64_t *l1 = fc_pfn_to_virt(l1_pfn[slot]);
    return (l1[pfn % ENTRIES] & PTE_PRESENT) != 0;
}

void fc_mm_init(void)
{
    extern char _end[];
    start_info_t *si = fc_start_info;
    if (fc_nr_pfns > MAX_PFNS)
        fc_fatal("memory = %lu MiB is more than the 1024 MiB FlexCapsule OS supports",
                 fc_nr_pfns >> 8);
    used.nbits = kernel_owned.nbits = fc_nr_pfns;

    const uint64_t *l4 = (const uint64_t *)si->pt_base;
    const uint64_t *l3 = table_of(l4[0], "L3");
    const uint64_t *l2 = table_of(l3[0], "L2");
    l2_pfn = fc_virt_to_pfn(l2);
    for (unsigned long slot = 0; slot < ENTRIES; slot++)
        if (l2[slot] & PTE_PRESENT)
            l1_pfn[slot] = fc_mfn_to_pfn(PTE_MFN(l2[slot]));

    /* Everything Xen placed for us ends with the bootstrap page tables; the boot stack
     * after them is unused (we run on our own). */
    reserved_end = FC_PFN_UP(_end);
    reserved_end = max_ul(reserved_end, FC_PFN_UP(si->mfn_list + fc_nr_pfns * 8));
    reserved_end = max_ul(reserved_end, fc_virt_to_pfn(si) + 1);
    reserved_end = max_ul(reserved_end, fc_mfn_to_pfn(si->store_mfn) + 1);
    reserved_end = max_ul(reserved_end, fc_mfn_to_pfn(si->console.domU.mfn) + 1);
    reserved_end = max_ul(reserved_end, fc_virt_to_pfn((void *)si->pt_base) + si->nr_pt_frames);
    if (fc_nr_pfns > MIN_RESIDENT_PAGES + 64)
        resident_floor = MIN_RESIDENT_PAGES;
    else
        fc_kprintf("[flexcapsule] warning: %lu KiB of memory is too little for live migration\n",
                   fc_nr_pfns * 4);
    if (reserved_end >= fc_nr_pfns)
        fc_fatal("mm: no memory left after the boot image (%lu pages)", fc_nr_pfns);
    fc_bitmap_set_range(&used, 0, reserved_end);
    fc_bitmap_set_range(&kernel_owned, 0, reserved_end);

    release_frames(reserved_end, fc_nr_pfns - reserved_end, 0, boot_mapped);
}

void fc_mm_unmap_page_zero(void)
{
    /* Page 0 only held the entry code: unmapping it turns NULL dereferences into faults. */
    fc_hc_update_va_mapping(0, 0, UVMF_INVLPG);
}
