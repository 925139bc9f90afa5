/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule libc: malloc, calloc, realloc, free.
 *
 * Every block starts with a 16-byte header, so user pointers are 16-byte aligned and free()
 * can find out where a block came from without any global lookup:
 *
 *   small block (<= SMALL_MAX bytes): carved from a slab of one size class. A slab is a run of
 *     pages from fc_pages_alloc() with a `struct slab` at its start; the block header points to
 *     it. A slab whose blocks are all free is returned to Xen at once, so an app that frees its
 *     memory shrinks its domain's footprint (and what a live migration has to copy).
 *   large block: whole pages of its own, returned with fc_pages_free() on free().
 *
 * Misuse (double free, foreign pointer) is caught by magic numbers and panics the domain:
 * continuing with a corrupted heap would only fail later and further from the cause.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fc/api.h>

#define PAGE_SIZE 4096u
#define BLOCK_ALIGN 16u
#define MIN_BLOCKS_PER_SLAB 8u

#define MAGIC_SMALL 0x5a11b10cu /* header of an allocated small block */
#define MAGIC_LARGE 0x1a96eb1cu /* header of an allocated large block */
#define MAGIC_FREED 0xdeadf4eeu /* header of a small block on a free list */
#define MAGIC_SLAB 0x51abf00du

struct slab;

struct block_header {
    uint32_t magic;
    uint32_t reserved;
    union {
        struct slab *slab; /* small blocks */
        size_t npages;     /* large blocks */
    } owner;
};

struct free_block {
    struct block_header header;
    struct free_block *next;
};

struct slab {
    uint32_t magic;
    uint32_t class_index;
    size_t npages;
    size_t capacity; /* blocks in this slab */
    size_t nfree;
    struct free_block *free_list;
    struct slab *prev; /* links in the class's list of slabs that have a free block */
    struct slab *next;
};

#define HEADER_SIZE sizeof(struct block_header)
#define SLAB_HEADER_SIZE ((sizeof(struct slab) + BLOCK_ALIGN - 1) & ~(size_t)(BLOCK_ALIGN - 1))

/* Block sizes including the header: roughly 4 classes per power of two keeps waste under 25%. */
static const uint32_t class_block_size[] = {
    32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
};
#define CLASS_COUNT (sizeof(class_block_size) / sizeof(class_block_size[0]))
#define SMALL_MAX (4096u - HEADER_SIZE)

_Static_assert(sizeof(struct block_header) == BLOCK_ALIGN, "block header keeps 16-byte alignment");
_Static_assert(sizeof(struct free_block) <= 32, "a free block fits in the smallest class");

static struct slab *partial_slabs[CLASS_COUNT];

static size_t class_for(size_t size)
{
    size_t needed = size + HEADER_SIZE;
    size_t index = 0;
    while (class_block_size[index] < needed)
        index++;
    return index;
}

static size_t slab_pages_for(size_t block_size)
{
    size_t npages = 1;
    while ((npages * PAGE_SIZE - SLAB_HEADER_SIZE) / block_size < MIN_BLOCKS_PER_SLAB)
        npages++;
    return npages;
}

static void slab_link(struct slab *slab)
{
    struct slab **head = &partial_slabs[slab->class_index];
    slab->prev = NULL;
    slab->next = *head;
    if (*head != NULL)
        (*head)->prev = slab;
    *head = slab;
}

static void slab_unlink(struct slab *slab)
{
    if (slab->prev != NULL)
        slab->prev->next = slab->next;
    else
        partial_slabs[slab->class_index] = slab->next;
    if (slab->next != NULL)
        slab->next->prev = slab->prev;
    slab->prev = slab->next = NULL;
}

static struct slab *slab_create(size_t class_index)
{
    size_t block_size = class_block_size[class_index];
    size_t npages = slab_pages_for(block_size);
    struct slab *slab = fc_pages_alloc(npages);
    if (slab == NULL)
        return NULL;

    slab->magic = MAGIC_SLAB;
    slab->class_index = (uint32_t)class_index;
    slab->npages = npages;
    slab->capacity = (npages * PAGE_SIZE - SLAB_HEADER_SIZE) / block_size;
    slab->nfree = slab->capacity;
    slab->free_list = NULL;
    /* Thread the blocks in reverse so the list hands them out in address order. */
    char *first = (char *)slab + SLAB_HEADER_SIZE;
    for (size_t i = slab->capacity; i-- > 0;) {
        struct free_block *block = (struct free_block *)(void *)(first + i * block_size);
        block->header.magic = MAGIC_FREED;
        block->header.owner.slab = slab;
        block->next = slab->free_list;
        slab->free_list = block;
    }
    slab_link(slab);
    return slab;
}

static void *malloc_large(size_t size)
{
    if (size > SIZE_MAX - HEADER_SIZE - PAGE_SIZE)
        return NULL;
    size_t npages = (size + HEADER_SIZE + PAGE_SIZE - 1) / PAGE_SIZE;
    struct block_header *header = fc_pages_alloc(npages);
    if (header == NULL)
        return NULL;
    header->magic = MAGIC_LARGE;
    header->owner.npages = npages;
    return header + 1;
}

static void *malloc_small(size_t size)
{
    size_t class_index = class_for(size);
    struct slab *slab = partial_slabs[class_index];
    if (slab == NULL && (slab = slab_create(class_index)) == NULL)
        return NULL;

    struct free_block *block = slab->free_list;
    slab->free_list = block->next;
    if (--slab->nfree == 0)
        slab_unlink(slab); /* full slabs are reachable only from their blocks */
    block->header.magic = MAGIC_SMALL;
    return &block->header + 1;
}

void *malloc(size_t size)
{
    void *block = size > SMALL_MAX ? malloc_large(size) : malloc_small(size);
    if (block == NULL)
        errno = ENOMEM;
    return block;
}

/* The header of a block malloc() returned; panics on anything else. */
static struct block_header *header_of(void *ptr)
{
    if (((uintptr_t)ptr & (BLOCK_ALIGN - 1)) != 0)
        fc_panic("free/realloc: misaligned pointer, not from malloc");
    struct block_header *header = (struct block_header *)ptr - 1;
    if (header->magic == MAGIC_FREED)
        fc_panic("free/realloc: block already freed (double free)");
    if (header->magic == MAGIC_SMALL) {
        struct slab *slab = header->owner.slab;
        char *first = (char *)slab + SLAB_HEADER_SIZE;
        if (slab->magic != MAGIC_SLAB || (char *)header < first
            || (size_t)((char *)header - first) % class_block_size[slab->class_index] != 0)
            fc_panic("free/realloc: corrupted block header");
        return header;
    }
    if (header->magic != MAGIC_LARGE)
        fc_panic("free/realloc: pointer not from malloc or heap corrupted");
    return header;
}

static size_t usable_size(const struct block_header *header)
{
    if (header->magic == MAGIC_LARGE)
        return header->owner.npages * PAGE_SIZE - HEADER_SIZE;
    return class_block_size[header->owner.slab->class_index] - HEADER_SIZE;
}

void free(void *ptr)
{
    if (ptr == NULL)
        return;
    struct block_header *header = header_of(ptr);
    if (header->magic == MAGIC_LARGE) {
        size_t npages = header->owner.npages;
        header->magic = MAGIC_FREED;
        fc_pages_free(header, npages);
        return;
    }

    struct slab *slab = header->owner.slab;
    struct free_block *block = (struct free_block *)header;
    header->magic = MAGIC_FREED;
    block->next = slab->free_list;
    slab->free_list = block;
    if (++slab->nfree == 1)
        slab_link(slab); /* it was full: it can serve allocations again */
    if (slab->nfree == slab->capacity) {
        slab_unlink(slab);
        slab->magic = 0;
        fc_pages_free(slab, slab->npages);
    }
}

void *calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total = count * size;
    void *block = malloc(total);
    /* Large blocks are fresh pages, which fc_pages_alloc() zeroes; small ones may be reused. */
    if (block != NULL && total <= SMALL_MAX)
        memset(block, 0, total);
    return block;
}

void *realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return malloc(size);
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    size_t old_usable = usable_size(header_of(ptr));
    /* Keep the block when it fits and would not waste more than half of it. */
    if (size <= old_usable && size >= old_usable / 2)
        return ptr;
    void *moved = malloc(size);
    if (moved == NULL)
        return NULL; /* the old block stays valid, as C requires */
    memcpy(moved, ptr, size < old_usable ? size : old_usable);
    free(ptr);
    return moved;
}
