/* SPDX-License-Identifier: MIT */
/* Page-frame bookkeeping: one bit per pseudo-physical page (pure, host-testable). */
#ifndef FC_PAGE_BITMAP_H
#define FC_PAGE_BITMAP_H

#include <stddef.h>
#include <stdint.h>

#define FC_BITS_PER_WORD 64

struct fc_page_bitmap {
    uint64_t *words;
    unsigned long nbits;
};

static inline int fc_bitmap_test(const struct fc_page_bitmap *bm, unsigned long bit)
{
    return (bm->words[bit / FC_BITS_PER_WORD] >> (bit % FC_BITS_PER_WORD)) & 1;
}

void fc_bitmap_set_range(struct fc_page_bitmap *bm, unsigned long first, unsigned long count);
void fc_bitmap_clear_range(struct fc_page_bitmap *bm, unsigned long first, unsigned long count);
/* 1 if every bit in [first, first+count) is set. */
int fc_bitmap_all_set(const struct fc_page_bitmap *bm, unsigned long first, unsigned long count);
/* First run of `count` clear bits within [from, nbits); returns its start or -1. */
long fc_bitmap_find_clear_run(const struct fc_page_bitmap *bm, unsigned long from,
                              unsigned long count);
unsigned long fc_bitmap_count_set(const struct fc_page_bitmap *bm);

#endif
