/* SPDX-License-Identifier: MIT */
/*
 * The allocator over the fake page provider: randomised malloc/calloc/realloc/free with every
 * live block filled with its own pattern (an overlap corrupts a neighbour's pattern), explicit
 * overlap and alignment checks, every page back with the provider at the end, out-of-memory
 * behaviour, and misuse (double free, foreign pointer) panicking the domain.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fake_kernel.h"
#include "libc_under_test.h"

#define SLOTS 2000
#define ROUNDS 200000
#define PAGE_SIZE 4096u

struct live_block {
    unsigned char *ptr;
    size_t size;
    unsigned char pattern;
};

static struct live_block slots[SLOTS];

/* Mostly small sizes, some around the small/large boundary, a few large ones. */
static size_t random_size(void)
{
    switch (rand() % 10) {
    case 0: return (size_t)(rand() % 4);
    case 1: return 4000 + (size_t)(rand() % 200);
    case 2: return (size_t)(rand() % 70000);
    default: return (size_t)(rand() % 600);
    }
}

static int pattern_intact(const struct live_block *block)
{
    for (size_t i = 0; i < block->size; i++)
        if (block->ptr[i] != block->pattern)
            return 0;
    return 1;
}

static int by_address(const void *a, const void *b)
{
    const struct live_block *x = a, *y = b;
    return (x->ptr > y->ptr) - (x->ptr < y->ptr);
}

/* Sorts a copy of the live blocks by address and checks neighbours do not overlap. */
static void check_no_overlap(const char *when)
{
    static struct live_block sorted[SLOTS];
    size_t n = 0;
    for (size_t i = 0; i < SLOTS; i++)
        if (slots[i].ptr != NULL)
            sorted[n++] = slots[i];
    qsort(sorted, n, sizeof(sorted[0]), by_address);
    size_t overlaps = 0;
    for (size_t i = 1; i < n; i++)
        if (sorted[i - 1].ptr + (sorted[i - 1].size ? sorted[i - 1].size : 1) > sorted[i].ptr)
            overlaps++;
    CHECK(overlaps == 0, "%zu overlapping live blocks %s", overlaps, when);
}

static void test_randomised(void)
{
    srand(20261126);
    size_t bad_alignment = 0, bad_pattern = 0, bad_calloc = 0, bad_realloc = 0, failed = 0;
    unsigned char next_pattern = 1;

    for (long round = 0; round < ROUNDS; round++) {
        struct live_block *slot = &slots[rand() % SLOTS];
        if (slot->ptr != NULL && rand() % 3 != 0) {
            if (!pattern_intact(slot))
                bad_pattern++;
            if (rand() % 4 == 0) { /* realloc: contents up to the smaller size survive */
                size_t new_size = random_size();
                unsigned char *moved = fct_realloc(slot->ptr, new_size ? new_size : 1);
                if (moved == NULL) {
                    failed++;
                    continue;
                }
                size_t kept = slot->size < new_size ? slot->size : new_size;
                for (size_t i = 0; i < kept; i++)
                    if (moved[i] != slot->pattern)
                        bad_realloc++;
                slot->ptr = moved;
                slot->size = new_size ? new_size : 1;
                memset(slot->ptr, slot->pattern, slot->size);
            } else {
                fct_free(slot->ptr);
                slot->ptr = NULL;
            }
        } else {
            if (slot->ptr != NULL) {
                if (!pattern_intact(slot))
                    bad_pattern++;
                fct_free(slot->ptr);
            }
            size_t size = random_size();
            int use_calloc = rand() % 4 == 0;
            slot->ptr = use_calloc ? fct_calloc(1, size) : fct_malloc(size);
            if (slot->ptr == NULL) {
                failed++;
                continue;
            }
            if (use_calloc)
                for (size_t i = 0; i < size; i++)
                    if (slot->ptr[i] != 0)
                        bad_calloc++;
            if (((uintptr_t)slot->ptr & 15u) != 0)
                bad_alignment++;
            slot->size = size;
            slot->pattern = next_pattern++;
            if (next_pattern == 0)
                next_pattern = 1;
            memset(slot->ptr, slot->pattern, size);
        }
        if (round % 50000 == 0)
            check_no_overlap("during the run");
    }

    check_no_overlap("at the end of the run");
    CHECK(failed == 0, "%zu allocations failed without a page limit", failed);
    CHECK(bad_alignment == 0, "%zu blocks not 16-byte aligned", bad_alignment);
    CHECK(bad_pattern == 0, "%zu blocks had their contents changed by someone else", bad_pattern);
    CHECK(bad_calloc == 0, "%zu calloc bytes were not zero", bad_calloc);
    CHECK(bad_realloc == 0, "%zu bytes lost by realloc", bad_realloc);
    CHECK(fake_pages_in_use() > 0, "live blocks hold pages");

    for (size_t i = 0; i < SLOTS; i++) {
        if (slots[i].ptr != NULL) {
            CHECK(pattern_intact(&slots[i]), "block %zu intact before its final free", i);
            fct_free(slots[i].ptr);
            slots[i].ptr = NULL;
        }
    }
    CHECK(fake_pages_in_use() == 0, "%zu pages not returned after freeing everything",
          fake_pages_in_use());
    CHECK(fake_page_allocations() == 0, "%zu page blocks not returned", fake_page_allocations());
}

static void test_large_blocks_use_whole_pages(void)
{
    size_t before = fake_pages_in_use();
    void *big = fct_malloc(10 * PAGE_SIZE);
    CHECK(big != NULL, "10-page malloc");
    CHECK(fake_pages_in_use() - before == 11, "10 pages plus the header take 11 pages, took %zu",
          fake_pages_in_use() - before);
    fct_free(big);
    CHECK(fake_pages_in_use() == before, "free gives a large block's pages straight back");
}

static void test_edge_requests(void)
{
    void *zero = fct_malloc(0);
    CHECK(zero != NULL, "malloc(0) returns a block that can be freed");
    fct_free(zero);
    fct_free(NULL);

    fct_errno = 0;
    CHECK(fct_calloc(SIZE_MAX / 2, 3) == NULL && fct_errno == 12, "calloc overflow is ENOMEM");
    fct_errno = 0;
    CHECK(fct_malloc(SIZE_MAX - 10) == NULL && fct_errno == 12, "absurd malloc is ENOMEM");

    char *grow = fct_realloc(NULL, 10);
    CHECK(grow != NULL, "realloc(NULL, n) allocates");
    memcpy(grow, "123456789", 10);
    grow = fct_realloc(grow, 100000);
    CHECK(grow != NULL && strcmp(grow, "123456789") == 0, "realloc to a large block keeps data");
    grow = fct_realloc(grow, 20);
    CHECK(grow != NULL && strcmp(grow, "123456789") == 0, "realloc back to small keeps data");
    CHECK(fct_realloc(grow, 0) == NULL, "realloc(p, 0) frees and returns NULL");
    CHECK(fake_pages_in_use() == 0, "edge requests leave no pages behind");
}

static void test_out_of_memory(void)
{
    fake_set_page_limit(8);
    fct_errno = 0;
    void *too_big = fct_malloc(9 * PAGE_SIZE);
    CHECK(too_big == NULL && fct_errno == 12, "malloc beyond the page supply is NULL + ENOMEM");

    void *blocks[200];
    size_t got = 0;
    while (got < 200 && (blocks[got] = fct_malloc(1000)) != NULL)
        got++;
    CHECK(got > 0 && got < 200, "small allocations stop when pages run out (got %zu)", got);
    char *keep = fct_malloc(16);
    if (keep != NULL) {
        CHECK(fct_realloc(keep, 50000) == NULL, "failed realloc returns NULL");
        keep[0] = 'k'; /* the old block is still ours */
        fct_free(keep);
    }
    while (got > 0)
        fct_free(blocks[--got]);
    fake_set_page_limit(0);
    CHECK(fake_pages_in_use() == 0, "all pages back after out-of-memory");
}

/* Runs `misuse` in a child process; it must end through fc_panic. */
static void expect_panic(const char *what, void (*misuse)(void))
{
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        freopen("/dev/null", "w", stderr);
        misuse();
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == FAKE_PANIC_STATUS,
          "%s must panic the domain (status %d)", what, status);
}

static void double_free_small(void)
{
    void *p = fct_malloc(24);
    void *keep = fct_malloc(24); /* keeps the slab alive so its header stays readable */
    fct_free(p);
    fct_free(p);
    fct_free(keep);
}

static void free_foreign_pointer(void)
{
    static _Alignas(16) unsigned char not_from_malloc[64];
    fct_free(not_from_malloc + 32);
}

static void free_misaligned(void)
{
    char *p = fct_malloc(64);
    fct_free(p + 1);
}

int main(void)
{
    test_randomised();
    test_large_blocks_use_whole_pages();
    test_edge_requests();
    test_out_of_memory();
    expect_panic("double free", double_free_small);
    expect_panic("free of a pointer malloc never returned", free_foreign_pointer);
    expect_panic("free of a misaligned pointer", free_misaligned);
    return check_summary();
}
