/* SPDX-License-Identifier: MIT */
/* Free-running ring index arithmetic shared by the console and xenstore rings.
 * Producer/consumer indexes only ever increase (mod 2^32); the slot is idx % size. */
#ifndef FC_RING_H
#define FC_RING_H

#include <stdint.h>

/* Bytes queued between consumer and producer (wraps correctly across 2^32). */
static inline uint32_t fc_ring_used(uint32_t prod, uint32_t cons)
{
    return prod - cons;
}

/* Bytes a producer may still write into a ring of `size` (a power of two). */
static inline uint32_t fc_ring_free(uint32_t prod, uint32_t cons, uint32_t size)
{
    uint32_t used = prod - cons;
    return used >= size ? 0 : size - used;
}

static inline uint32_t fc_ring_slot(uint32_t idx, uint32_t size)
{
    return idx & (size - 1);
}

/* Copy `len` bytes out of a ring starting at index `cons` (handles the wrap). */
static inline void fc_ring_copy_out(void *dst, const volatile char *ring, uint32_t size,
                                    uint32_t cons, uint32_t len)
{
    char *d = dst;
    for (uint32_t i = 0; i < len; i++)
        d[i] = ring[fc_ring_slot(cons + i, size)];
}

/* Copy `len` bytes into a ring starting at index `prod` (handles the wrap). */
static inline void fc_ring_copy_in(volatile char *ring, uint32_t size, uint32_t prod,
                                   const void *src, uint32_t len)
{
    const char *s = src;
    for (uint32_t i = 0; i < len; i++)
        ring[fc_ring_slot(prod + i, size)] = s[i];
}

#endif
