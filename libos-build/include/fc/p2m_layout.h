/* SPDX-License-Identifier: MIT */
/*
 * The three-level p2m frame list the toolstack reads to save/migrate a PV guest:
 *   shared_info.arch.pfn_to_mfn_frame_list_list -> top page of MFNs of
 *   second-level pages, each holding the MFNs of up to 512 pages of the p2m array.
 * Pure layout math and filling, host-testable.
 */
#ifndef FC_P2M_LAYOUT_H
#define FC_P2M_LAYOUT_H

#include <stdint.h>

#define FC_P2M_PER_PAGE 512UL /* 8-byte entries in a 4 KiB page */

struct fc_p2m_layout {
    unsigned long nr_pfns;         /* p2m entries (= shared_info.arch.max_pfn) */
    unsigned long p2m_pages;       /* pages of the p2m array */
    unsigned long fl_pages;        /* second-level frame-list pages */
};

/* Returns 0, or -1 if nr_pfns is 0 or needs more than one top page. */
int fc_p2m_compute_layout(unsigned long nr_pfns, struct fc_p2m_layout *out);

/*
 * Fills the frame lists. p2m: the p2m array (pfn -> mfn); p2m_first_pfn: pfn of its first
 * page; fl[i]: second-level page i (512 entries); fl_pfn[i]: its pfn; top: the top page.
 * Unused entries are zeroed.
 */
void fc_p2m_fill_frame_lists(const struct fc_p2m_layout *layout, const unsigned long *p2m,
                             unsigned long p2m_first_pfn, unsigned long *const *fl,
                             const unsigned long *fl_pfn, unsigned long *top);

#endif
