/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule libc: memory and string functions.
 *
 * Plain byte loops, with a word-sized fast path for the bulk copies memtouch and the allocator
 * do. Built with -fno-builtin -fno-tree-loop-distribute-patterns so gcc does not turn these
 * loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WORD sizeof(uintptr_t)

/* A word that may alias any object, so the fast paths stay within the aliasing rules. */
typedef uintptr_t __attribute__((may_alias)) any_word;

static int word_aligned(const void *a, const void *b)
{
    return (((uintptr_t)a | (uintptr_t)b) & (WORD - 1)) == 0;
}

void *memcpy(void *dest, const void *src, size_t n)
{
    unsigned char *d = dest;
    const unsigned char *s = src;
    if (word_aligned(d, s)) {
        for (; n >= WORD; n -= WORD, d += WORD, s += WORD)
            *(any_word *)(void *)d = *(const any_word *)(const void *)s;
    }
    while (n-- > 0)
        *d++ = *s++;
    return dest;
}

void *memmove(void *dest, const void *src, size_t n)
{
    unsigned char *d = dest;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dest;
    if (d < s || d >= s + n)
        return memcpy(dest, src, n); /* forward copy is safe: dest does not start inside src */
    /* dest overlaps the tail of src: copy backwards. */
    d += n;
    s += n;
    while (n-- > 0)
        *--d = *--s;
    return dest;
}

void *memset(void *dest, int c, size_t n)
{
    unsigned char *d = dest;
    unsigned char byte = (unsigned char)c;
    if (((uintptr_t)d & (WORD - 1)) == 0 && n >= WORD) {
        uintptr_t pattern = (uintptr_t)-1 / 0xff * byte; /* byte repeated in every lane */
        for (; n >= WORD; n -= WORD, d += WORD)
            *(any_word *)(void *)d = pattern;
    }
    while (n-- > 0)
        *d++ = byte;
    return dest;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    for (; n > 0; n--, x++, y++) {
        if (*x != *y)
            return *x < *y ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s)
{
    const char *end = s;
    while (*end != '\0')
        end++;
    return (size_t)(end - s);
}

size_t strnlen(const char *s, size_t max_len)
{
    size_t len = 0;
    while (len < max_len && s[len] != '\0')
        len++;
    return len;
}

int strcmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    while (*x != '\0' && *x == *y) {
        x++;
        y++;
    }
    return (*x > *y) - (*x < *y);
}

int strncmp(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    for (; n > 0; n--, x++, y++) {
        if (*x != *y)
            return *x < *y ? -1 : 1;
        if (*x == '\0')
            break;
    }
    return 0;
}

char *strcpy(char *dest, const char *src)
{
    char *d = dest;
    while ((*d++ = *src++) != '\0')
        ;
    return dest;
}

char *strncpy(char *dest, const char *src, size_t n)
{
    size_t i = 0;
    for (; i < n && src[i] != '\0'; i++)
        dest[i] = src[i];
    for (; i < n; i++)
        dest[i] = '\0'; /* strncpy pads the rest of dest with NULs */
    return dest;
}

char *strchr(const char *s, int c)
{
    char wanted = (char)c;
    for (;; s++) {
        if (*s == wanted)
            return (char *)s;
        if (*s == '\0')
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    char wanted = (char)c;
    const char *last = NULL;
    for (;; s++) {
        if (*s == wanted)
            last = s;
        if (*s == '\0')
            return (char *)last;
    }
}
