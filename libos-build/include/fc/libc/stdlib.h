/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: allocation, number parsing and process exit. */
#ifndef FC_LIBC_STDLIB_H
#define FC_LIBC_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

/*
 * Allocator: blocks are 16-byte aligned. Small blocks come from size-class slabs; a slab whose
 * blocks are all free goes back to Xen at once. Blocks larger than a page minus the block header
 * are whole pages from fc_pages_alloc() and free() returns them with fc_pages_free().
 * free() of a pointer malloc() did not return, or a second free(), panics the domain.
 */
void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

/* Standard semantics: leading space, sign, base 0 = auto (0x / 0 prefixes); ERANGE on overflow. */
long strtol(const char *text, char **end, int base);
unsigned long strtoul(const char *text, char **end, int base);
long long strtoll(const char *text, char **end, int base);
unsigned long long strtoull(const char *text, char **end, int base);
int atoi(const char *text);

/* Ends the domain with `status` (Xen sees a poweroff for 0, a crash otherwise; see fc_exit). */
__attribute__((noreturn)) void exit(int status);
/* Ends the domain through fc_panic(). */
__attribute__((noreturn)) void abort(void);

#endif /* FC_LIBC_STDLIB_H */
