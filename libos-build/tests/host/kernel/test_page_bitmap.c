/* SPDX-License-Identifier: MIT */
/* Page allocator bookkeeping: runs, ranges, counts. */
#include <string.h>

#include <fc/page_bitmap.h>

#include "kcheck.h"

int main(void)
{
    uint64_t words[4];
    memset(words, 0, sizeof(words));
    struct fc_page_bitmap bm = {words, 200};

    KCHECK(fc_bitmap_find_clear_run(&bm, 0, 5) == 0);
    fc_bitmap_set_range(&bm, 0, 10);
    KCHECK(fc_bitmap_count_set(&bm) == 10);
    KCHECK(fc_bitmap_all_set(&bm, 0, 10) && !fc_bitmap_all_set(&bm, 0, 11));
    KCHECK(fc_bitmap_find_clear_run(&bm, 0, 5) == 10);
    /* a run crossing a word boundary */
    fc_bitmap_set_range(&bm, 10, 50);  /* 0..59 used */
    fc_bitmap_set_range(&bm, 70, 10);  /* 70..79 used: the hole 60..69 holds 10 */
    KCHECK(fc_bitmap_find_clear_run(&bm, 0, 10) == 60);
    KCHECK(fc_bitmap_find_clear_run(&bm, 0, 11) == 80);
    /* full words are skipped, and runs never extend past nbits */
    fc_bitmap_set_range(&bm, 64, 128);
    KCHECK(fc_bitmap_find_clear_run(&bm, 0, 4) == 60);
    KCHECK(fc_bitmap_find_clear_run(&bm, 64, 8) == 192);
    KCHECK(fc_bitmap_find_clear_run(&bm, 64, 9) == -1);
    KCHECK(fc_bitmap_find_clear_run(&bm, 0, 0) == -1);
    KCHECK(fc_bitmap_find_clear_run(&bm, 0, 500) == -1);
    fc_bitmap_clear_range(&bm, 100, 3);
    KCHECK(!fc_bitmap_test(&bm, 100) && !fc_bitmap_test(&bm, 102) && fc_bitmap_test(&bm, 103));
    KCHECK(fc_bitmap_find_clear_run(&bm, 64, 3) == 100);
    KCHECK(!fc_bitmap_all_set(&bm, 190, 20)); /* beyond nbits */
    KCHECK(fc_bitmap_count_set(&bm) == 60 + 128 - 3);
    return kcheck_summary("kernel page_bitmap");
}
