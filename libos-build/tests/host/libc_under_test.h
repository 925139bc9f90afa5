/* SPDX-License-Identifier: MIT */
/*
 * The FlexCapsule libc as the host tests see it: every standard name carries an fct_ prefix
 * (see libc_symbols.txt), so it can sit next to the host libc used as the reference.
 * Keep these prototypes in step with include/fc/libc/ (the host tests fail to link otherwise).
 */
#ifndef LIBC_UNDER_TEST_H
#define LIBC_UNDER_TEST_H

#include <stdarg.h>
#include <stddef.h>

extern int fct_errno;

int fct_printf(const char *format, ...);
int fct_snprintf(char *buf, size_t size, const char *format, ...);
int fct_vsnprintf(char *buf, size_t size, const char *format, va_list args);
int fct_puts(const char *text);
int fct_putchar(int c);

void *fct_memcpy(void *dest, const void *src, size_t n);
void *fct_memmove(void *dest, const void *src, size_t n);
void *fct_memset(void *dest, int c, size_t n);
int fct_memcmp(const void *a, const void *b, size_t n);
size_t fct_strlen(const char *s);
size_t fct_strnlen(const char *s, size_t max_len);
int fct_strcmp(const char *a, const char *b);
int fct_strncmp(const char *a, const char *b, size_t n);
char *fct_strcpy(char *dest, const char *src);
char *fct_strncpy(char *dest, const char *src, size_t n);
char *fct_strchr(const char *s, int c);
char *fct_strrchr(const char *s, int c);

void *fct_malloc(size_t size);
void *fct_calloc(size_t count, size_t size);
void *fct_realloc(void *ptr, size_t size);
void fct_free(void *ptr);

long fct_strtol(const char *text, char **end, int base);
unsigned long fct_strtoul(const char *text, char **end, int base);
long long fct_strtoll(const char *text, char **end, int base);
unsigned long long fct_strtoull(const char *text, char **end, int base);
int fct_atoi(const char *text);

#endif /* LIBC_UNDER_TEST_H */
