/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule libc: formatted output to the Xen console.
 *
 * There is no FILE: everything goes to the console. printf() hands each call's output to
 * fc_console_write() before returning, so lines never sit in a buffer across a suspend.
 */
#ifndef FC_LIBC_STDIO_H
#define FC_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

/*
 * Conversions: %d %i %u %x %X %o %c %s %p %%; flags '-' '0' '+' ' ' '#'; width and precision
 * (numbers or '*'); length modifiers hh h l ll z j t.
 * An unknown conversion (and %n, which is refused) is printed as written. Return the number of
 * characters produced (for snprintf/vsnprintf: that would have been produced with unlimited
 * space), or -1 if that exceeds INT_MAX. snprintf always NUL-terminates when size > 0.
 */
int printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *format, va_list args) __attribute__((format(printf, 1, 0)));
int snprintf(char *buf, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *format, va_list args)
    __attribute__((format(printf, 3, 0)));

/* Writes `text` and a newline; returns a non-negative value. */
int puts(const char *text);
/* Writes one character; returns it as an unsigned char converted to int. */
int putchar(int c);

#endif /* FC_LIBC_STDIO_H */
