/* SPDX-License-Identifier: MIT */
/* Page-frame bitmap: which pseudo-physical pages are in use. */
#include <fc/page_bitmap.h>

void fc_bitmap_set_range(struct fc_page_bitmap *bm, unsigned long first, unsigned long count)
{
    for (unsigned long b = first; b < first + count; b++)
        bm->words[b / FC_BITS_PER_WORD] |= 1ULL << (b % FC_BITS_PER_WORD);
}

void fc_bitmap_clear_range(struct fc_page_bitmap *bm, unsigned long first, unsigned long count)
{
    for (unsigned long b = first; b < first + count; b++)
        bm->words[b / FC_BITS_PER_WORD] &= ~(1ULL << (b % FC_BITS_PER_WORD));
}

int fc_bitmap_all_set(const struct fc_page_bitmap *bm, unsigned long first, unsigned long count)
{
    if (first + count > bm->nbits || first + count < first)
        return 0;
    for (unsigned long b = first; b < first + count; b++)
        if (!fc_bitmap_test(bm, b))
            return 0;
    return 1;
}

long fc_bitmap_find_clear_run(const struct fc_page_bitmap *bm, unsigned long from,
                              unsigned long count)
{
    if (count == 0 || count > bm->nbits)
        return -1;
    unsigned long run_start = from, run_len = 0;
    for (unsigned long b = from; b < bm->nbits; b++) {
        /* Skip whole full words quickly: most of a busy bitmap is full. */
        if (b % FC_BITS_PER_WORD == 0 && bm->words[b / FC_BITS_PER_WORD] == ~0ULL &&
            b + FC_BITS_PER_WORD <= bm->nbits) {
            run_len = 0;
            b += FC_BITS_PER_WORD - 1;
            continue;
        }
        if (fc_bitmap_test(bm, b)) {
            run_len = 0;
            continue;
        }
        if (run_len == 0)
            run_start = b;
        if (++run_len == count)
            return (long)run_start;
    }
    return -1;
}

unsigned long fc_bitmap_count_set(const struct fc_page_bitmap *bm)
{
    unsigned long n = 0;
    for (unsigned long w = 0; w < (bm->nbits + FC_BITS_PER_WORD - 1) / FC_BITS_PER_WORD; w++)
        n += (unsigned long)__builtin_popcountll(bm->words[w]);
    return n;
}
