/* SPDX-License-Identifier: MIT */
/* Layout of the p2m frame list the toolstack walks to find our pfn -> mfn table. */
#include <fc/p2m_layout.h>

int fc_p2m_compute_layout(unsigned long nr_pfns, struct fc_p2m_layout *out)
{
    if (nr_pfns == 0)
        return -1;
    out->nr_pfns = nr_pfns;
    out->p2m_pages = (nr_pfns + FC_P2M_PER_PAGE - 1) / FC_P2M_PER_PAGE;
    out->fl_pages = (out->p2m_pages + FC_P2M_PER_PAGE - 1) / FC_P2M_PER_PAGE;
    return out->fl_pages > FC_P2M_PER_PAGE ? -1 : 0;
}

void fc_p2m_fill_frame_lists(const struct fc_p2m_layout *layout, const unsigned long *p2m,
                             unsigned long p2m_first_pfn, unsigned long *const *fl,
                             const unsigned long *fl_pfn, unsigned long *top)
{
    for (unsigned long i = 0; i < layout->fl_pages * FC_P2M_PER_PAGE; i++) {
        unsigned long *entry = &fl[i / FC_P2M_PER_PAGE][i % FC_P2M_PER_PAGE];
        *entry = i < layout->p2m_pages ? p2m[p2m_first_pfn + i] : 0;
    }
    for (unsigned long i = 0; i < FC_P2M_PER_PAGE; i++)
        top[i] = i < layout->fl_pages ? p2m[fl_pfn[i]] : 0;
}
