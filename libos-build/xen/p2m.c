/* SPDX-License-Identifier: MIT */
/*
 * Publishes the p2m frame list in shared_info so the toolstack can save us. Restore zeroes
 * the pointer and every MFN changes, so it is rebuilt after each resume (without that a
 * second migration fails).
 */
#include <fc/kernel.h>
#include <fc/p2m_layout.h>

static struct fc_p2m_layout layout;
static unsigned long *fl_pages[FC_P2M_PER_PAGE];
static unsigned long fl_pfns[FC_P2M_PER_PAGE];
static unsigned long *top_page;

static void fill_and_publish(void)
{
    fc_p2m_fill_frame_lists(&layout, fc_p2m, fc_virt_to_pfn(fc_p2m), fl_pages, fl_pfns,
                            top_page);
    fc_shared_info->arch.max_pfn = layout.nr_pfns;
    fc_barrier();
    fc_shared_info->arch.pfn_to_mfn_frame_list_list = fc_virt_to_mfn(top_page);
}

void fc_p2m_publish(void)
{
    if (!top_page) {
        if (fc_p2m_compute_layout(fc_nr_pfns, &layout))
            fc_fatal("p2m: %lu pages do not fit a three-level frame list", fc_nr_pfns);
        top_page = fc_kernel_pages_alloc(1);
        for (unsigned long i = 0; top_page && i < layout.fl_pages; i++) {
            fl_pages[i] = fc_kernel_pages_alloc(1);
            if (!fl_pages[i])
                top_page = 0;
            else
                fl_pfns[i] = fc_virt_to_pfn(fl_pages[i]);
        }
        if (!top_page)
            fc_fatal("p2m: out of memory for the frame list");
    }
    fill_and_publish();
}

void fc_p2m_rebuild(void)
{
    fill_and_publish();
}
