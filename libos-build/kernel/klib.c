/* SPDX-License-Identifier: MIT */
/* The few string and formatting helpers the kernel itself needs (lib/ is the app's libc). */
#include <fc/kernel.h>

size_t fc_kstrlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int fc_kstrcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

void fc_kmemcpy(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    while (n--)
        *d++ = *s++;
}

void fc_kmemset(void *dst, int c, size_t n)
{
    char *d = dst;
    while (n--)
        *d++ = (char)c;
}

/* gcc may emit calls to these for struct copies; lib/ provides the real (strong) ones. */
__attribute__((weak)) void *memcpy(void *d, const void *s, size_t n);
__attribute__((weak)) void *memcpy(void *d, const void *s, size_t n)
{
    fc_kmemcpy(d, s, n);
    return d;
}
__attribute__((weak)) void *memset(void *d, int c, size_t n);
__attribute__((weak)) void *memset(void *d, int c, size_t n)
{
    fc_kmemset(d, c, n);
    return d;
}

struct out_buf {
    char *p;
    size_t cap, len;
};

static void put_char(struct out_buf *o, char c)
{
    if (o->len + 1 < o->cap)
        o->p[o->len] = c;
    o->len++;
}

static void put_unsigned(struct out_buf *o, unsigned long v, unsigned base, int width, char pad)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n)
        put_char(o, pad);
    while (n)
        put_char(o, digits[--n]);
}

int fc_kvsnprintf(char *out, size_t cap, const char *fmt, va_list ap)
{
    struct out_buf o = {out, cap, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put_char(&o, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, is_long = 0;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            is_long = 1, fmt++;
        switch (*fmt) {
        case 'd': {
            long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0)
                put_char(&o, '-'), v = -v;
            put_unsigned(&o, (unsigned long)v, 10, width, pad);
            break;
        }
        case 'u':
            put_unsigned(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10,
                         width, pad);
            break;
        case 'x':
            put_unsigned(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16,
                         width, pad);
            break;
        case 'p':
            put_char(&o, '0'), put_char(&o, 'x');
            put_unsigned(&o, (unsigned long)va_arg(ap, void *), 16, width, pad);
            break;
        case 'c':
            put_char(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s; s++)
                put_char(&o, *s);
            break;
        }
        case '%':
            put_char(&o, '%');
            break;
        default:
            put_char(&o, '%');
            if (!*fmt)
                goto done;
            put_char(&o, *fmt);
        }
    }
done:
    if (cap)
        out[o.len < cap ? o.len : cap - 1] = 0;
    return (int)o.len;
}

int fc_ksnprintf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fc_kvsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n;
}

void fc_kprintf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = fc_kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fc_console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}
