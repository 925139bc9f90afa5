/* SPDX-License-Identifier: MIT */
/* Ring index arithmetic: free/used space and copies across the slot and 2^32 wraps. */
#include <string.h>

#include <fc/ring.h>

#include "kcheck.h"

int main(void)
{
    KCHECK(fc_ring_used(10, 10) == 0);
    KCHECK(fc_ring_free(10, 10, 1024) == 1024);
    KCHECK(fc_ring_free(1034, 10, 1024) == 0);
    KCHECK(fc_ring_free(1030, 10, 1024) == 4);
    /* indexes wrap at 2^32: producer 5 past wrap, consumer 3 before it */
    KCHECK(fc_ring_used(5u, 0xfffffffdu) == 8);
    KCHECK(fc_ring_free(5u, 0xfffffffdu, 1024) == 1016);
    /* a corrupt producer too far ahead must not report free space */
    KCHECK(fc_ring_free(5000, 10, 1024) == 0);
    KCHECK(fc_ring_slot(1024 + 7, 1024) == 7);
    KCHECK(fc_ring_slot(0xffffffffu, 2048) == 2047);

    char ring[16];
    memset(ring, '.', sizeof(ring));
    fc_ring_copy_in(ring, sizeof(ring), 14, "abcd", 4);
    KCHECK(ring[14] == 'a' && ring[15] == 'b' && ring[0] == 'c' && ring[1] == 'd');
    KCHECK(ring[2] == '.');
    char out[5] = {0};
    fc_ring_copy_out(out, ring, sizeof(ring), 14, 4);
    KCHECK(strcmp(out, "abcd") == 0);
    /* same bytes read through an index that has wrapped 2^32 */
    memset(out, 0, sizeof(out));
    fc_ring_copy_out(out, ring, sizeof(ring), 0xfffffffeu, 4);
    KCHECK(strcmp(out, "abcd") == 0);
    return kcheck_summary("kernel ring");
}
