/* SPDX-License-Identifier: MIT */
/* p2m frame-list layout math and filling. */
#include <stdlib.h>

#include <fc/p2m_layout.h>

#include "kcheck.h"

int main(void)
{
    struct fc_p2m_layout l;
    KCHECK(fc_p2m_compute_layout(0, &l) == -1);
    KCHECK(fc_p2m_compute_layout(2048, &l) == 0 && l.p2m_pages == 4 && l.fl_pages == 1);
    KCHECK(fc_p2m_compute_layout(65536, &l) == 0 && l.p2m_pages == 128 && l.fl_pages == 1);
    KCHECK(fc_p2m_compute_layout(512 * 512, &l) == 0 && l.p2m_pages == 512 && l.fl_pages == 1);
    KCHECK(fc_p2m_compute_layout(512 * 512 + 1, &l) == 0 && l.p2m_pages == 513 &&
           l.fl_pages == 2);
    KCHECK(fc_p2m_compute_layout(513, &l) == 0 && l.p2m_pages == 2);
    KCHECK(fc_p2m_compute_layout(512UL * 512 * 512 + 1, &l) == -1);

    /* Fake p2m whose array starts at pfn 3; mfn = pfn + 1000. */
    unsigned long nr = 512 * 512 + 1000;
    unsigned long *p2m = malloc(nr * sizeof(*p2m));
    for (unsigned long i = 0; i < nr; i++)
        p2m[i] = i + 1000;
    KCHECK(fc_p2m_compute_layout(nr, &l) == 0 && l.fl_pages == 2);
    unsigned long *fl0 = calloc(512, 8), *fl1 = calloc(512, 8), *top = calloc(512, 8);
    unsigned long *fl[] = {fl0, fl1};
    unsigned long fl_pfn[] = {40000, 40001};
    for (int i = 0; i < 512; i++)
        fl1[i] = top[i] = 0xdead; /* stale content must be overwritten */
    fc_p2m_fill_frame_lists(&l, p2m, 3, fl, fl_pfn, top);
    KCHECK(fl0[0] == 1003 && fl0[511] == 1003 + 511);
    KCHECK(fl1[0] == 1003 + 512);
    KCHECK(fl1[l.p2m_pages - 512 - 1] == 1003 + l.p2m_pages - 1);
    KCHECK(fl1[l.p2m_pages - 512] == 0 && fl1[511] == 0);
    KCHECK(top[0] == 41000 && top[1] == 41001 && top[2] == 0 && top[511] == 0);
    free(p2m), free(fl0), free(fl1), free(top);
    return kcheck_summary("kernel p2m_layout");
}
