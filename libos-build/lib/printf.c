/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule libc: the printf family.
 *
 * One formatting engine writes into a "sink": either a caller's buffer (snprintf) or a small
 * stack buffer flushed to the Xen console (printf). No heap use, so printf works even when
 * malloc has failed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fc/api.h>

#define CONSOLE_CHUNK 256
#define INT_MAX_VALUE ((size_t)0x7fffffff)

enum {
    FLAG_LEFT = 1 << 0,  /* '-' */
    FLAG_ZERO = 1 << 1,  /* '0' */
    FLAG_PLUS = 1 << 2,  /* '+' */
    FLAG_SPACE = 1 << 3, /* ' ' */
    FLAG_ALT = 1 << 4,   /* '#' */
};

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

struct spec {
    unsigned flags;
    size_t width;
    int precision; /* -1: none given */
    enum length length;
};

struct sink {
    void (*write)(struct sink *sink, const char *text, size_t len);
    size_t produced; /* characters the format produced, stored or not */
    char *buf;       /* string sink: destination and its size including the NUL */
    size_t cap;
    size_t pending_len; /* console sink: characters waiting in `pending` */
    char pending[CONSOLE_CHUNK];
};

static void string_write(struct sink *sink, const char *text, size_t len)
{
    if (sink->cap == 0 || sink->produced >= sink->cap - 1)
        return;
    size_t room = sink->cap - 1 - sink->produced;
    memcpy(sink->buf + sink->produced, text, len < room ? len : room);
}

static void console_flush(struct sink *sink)
{
    if (sink->pending_len > 0)
        fc_console_write(sink->pending, sink->pending_len);
    sink->pending_len = 0;
}

static void console_write(struct sink *sink, const char *text, size_t len)
{
    while (len > 0) {
        if (sink->pending_len == CONSOLE_CHUNK)
            console_flush(sink);
        size_t room = CONSOLE_CHUNK - sink->pending_len;
        size_t n = len < room ? len : room;
        memcpy(sink->pending + sink->pending_len, text, n);
        sink->pending_len += n;
        text += n;
        len -= n;
    }
}

static void put(struct sink *sink, const char *text, size_t len)
{
    sink->write(sink, text, len);
    sink->produced += len;
}

static void put_repeated(struct sink *sink, char c, size_t count)
{
    char block[32];
    memset(block, c, sizeof(block));
    while (count > 0) {
        size_t n = count < sizeof(block) ? count : sizeof(block);
        put(sink, block, n);
        count -= n;
    }
}

/* Text padded with spaces to the field width (for %s, %c and "(nil)"). */
static void put_padded(struct sink *sink, const struct spec *spec, const char *text, size_t len)
{
    size_t pad = spec->width > len ? spec->width - len : 0;
    if (!(spec->flags & FLAG_LEFT))
        put_repeated(sink, ' ', pad);
    put(sink, text, len);
    if (spec->flags & FLAG_LEFT)
        put_repeated(sink, ' ', pad);
}

/* An integer: [spaces][sign][0x][zeros][digits][spaces], per C11 7.21.6.1. */
static void put_integer(struct sink *sink, const struct spec *spec, unsigned long long magnitude,
                        int negative, int is_signed, unsigned base, int upper)
{
    const char *digit_chars = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char digits[64];
    size_t ndigits = 0;

    /* Precision 0 with value 0 prints no digits at all. */
    if (!(magnitude == 0 && spec->precision == 0)) {
        do {
            digits[ndigits++] = digit_chars[magnitude % base];
            magnitude /= base;
        } while (magnitude != 0);
    }

    size_t precision = spec->precision < 0 ? 1 : (size_t)spec->precision;
    if (precision < ndigits)
        precision = ndigits;
    /* '#' with %o: the first digit must be a zero. */
    if (base == 8 && (spec->flags & FLAG_ALT) && (ndigits == 0 || digits[ndigits - 1] != '0')
        && precision <= ndigits)
        precision = ndigits + 1;

    char prefix[3];
    size_t prefix_len = 0;
    if (negative)
        prefix[prefix_len++] = '-';
    else if (is_signed && (spec->flags & FLAG_PLUS))
        prefix[prefix_len++] = '+';
    else if (is_signed && (spec->flags & FLAG_SPACE))
        prefix[prefix_len++] = ' ';
    if (base == 16 && (spec->flags & FLAG_ALT) && ndigits > 0 && !(ndigits == 1 && digits[0] == '0')) {
        prefix[prefix_len++] = '0';
        prefix[prefix_len++] = upper ? 'X' : 'x';
    }

    size_t body = prefix_len + precision;
    size_t pad = spec->width > body ? spec->width - body : 0;
    int zero_pad = (spec->flags & FLAG_ZERO) && !(spec->flags & FLAG_LEFT) && spec->precision < 0;

    if (!(spec->flags & FLAG_LEFT) && !zero_pad)
        put_repeated(sink, ' ', pad);
    put(sink, prefix, prefix_len);
    if (zero_pad)
        put_repeated(sink, '0', pad);
    put_repeated(sink, '0', precision - ndigits);
    while (ndigits > 0)
        put(sink, &digits[--ndigits], 1);
    if (spec->flags & FLAG_LEFT)
        put_repeated(sink, ' ', pad);
}

static long long signed_arg(va_list *args, enum length length)
{
    switch (length) {
    case LEN_HH: return (signed char)va_arg(*args, int);
    case LEN_H: return (short)va_arg(*args, int);
    case LEN_L: return va_arg(*args, long);
    case LEN_LL: return va_arg(*args, long long);
    case LEN_Z: return va_arg(*args, ptrdiff_t); /* the signed type of size_t's width */
    case LEN_J: return va_arg(*args, intmax_t);
    case LEN_T: return va_arg(*args, ptrdiff_t);
    default: return va_arg(*args, int);
    }
}

static unsigned long long unsigned_arg(va_list *args, enum length length)
{
    switch (length) {
    case LEN_HH: return (unsigned char)va_arg(*args, unsigned int);
    case LEN_H: return (unsigned short)va_arg(*args, unsigned int);
    case LEN_L: return va_arg(*args, unsigned long);
    case LEN_LL: return va_arg(*args, unsigned long long);
    case LEN_Z: return va_arg(*args, size_t);
    case LEN_J: return va_arg(*args, uintmax_t);
    case LEN_T: return (unsigned long long)va_arg(*args, ptrdiff_t);
    default: return va_arg(*args, unsigned int);
    }
}

/* Reads flags, width, precision and length after a '%'; returns where the conversion is. */
static const char *parse_spec(const char *p, struct spec *spec, va_list *args)
{
    spec->flags = 0;
    for (;; p++) {
        if (*p == '-') spec->flags |= FLAG_LEFT;
        else if (*p == '0') spec->flags |= FLAG_ZERO;
        else if (*p == '+') spec->flags |= FLAG_PLUS;
        else if (*p == ' ') spec->flags |= FLAG_SPACE;
        else if (*p == '#') spec->flags |= FLAG_ALT;
        else break;
    }

    spec->width = 0;
    if (*p == '*') {
        int width = va_arg(*args, int);
        if (width < 0) {
            spec->flags |= FLAG_LEFT; /* a negative '*' width means '-' flag */
            spec->width = -(long)width;
        } else {
            spec->width = (size_t)width;
        }
        p++;
    } else {
        while (*p >= '0' && *p <= '9')
            spec->width = spec->width * 10 + (size_t)(*p++ - '0');
    }

    spec->precision = -1;
    if (*p == '.') {
        p++;
        if (*p == '*') {
            int precision = va_arg(*args, int);
            spec->precision = precision < 0 ? -1 : precision; /* negative: as if omitted */
            p++;
        } else {
            spec->precision = 0;
            while (*p >= '0' && *p <= '9')
                spec->precision = spec->precision * 10 + (*p++ - '0');
        }
    }

    spec->length = LEN_NONE;
    switch (*p) {
    case 'h':
        p++;
        spec->length = LEN_H;
        if (*p == 'h') { p++; spec->length = LEN_HH; }
        break;
    case 'l':
        p++;
        spec->length = LEN_L;
        if (*p == 'l') { p++; spec->length = LEN_LL; }
        break;
    case 'z': p++; spec->length = LEN_Z; break;
    case 'j': p++; spec->length = LEN_J; break;
    case 't': p++; spec->length = LEN_T; break;
    default: break;
    }
    return p;
}

static void format_into(struct sink *sink, const char *format, va_list args_in)
{
    va_list args;
    va_copy(args, args_in);

    const char *p = format;
    while (*p != '\0') {
        if (*p != '%') {
            const char *start = p;
            while (*p != '\0' && *p != '%')
                p++;
            put(sink, start, (size_t)(p - start));
            continue;
        }

        const char *directive = p++;
        struct spec spec;
        p = parse_spec(p, &spec, &args);

        switch (*p) {
        case 'd':
        case 'i': {
            long long value = signed_arg(&args, spec.length);
            unsigned long long magnitude =
                value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
            put_integer(sink, &spec, magnitude, value < 0, 1, 10, 0);
            break;
        }
        case 'u': put_integer(sink, &spec, unsigned_arg(&args, spec.length), 0, 0, 10, 0); break;
        case 'o': put_integer(sink, &spec, unsigned_arg(&args, spec.length), 0, 0, 8, 0); break;
        case 'x': put_integer(sink, &spec, unsigned_arg(&args, spec.length), 0, 0, 16, 0); break;
        case 'X': put_integer(sink, &spec, unsigned_arg(&args, spec.length), 0, 0, 16, 1); break;
        case 'p': {
            void *pointer = va_arg(args, void *);
            if (pointer == NULL) {
                put_padded(sink, &spec, "(nil)", 5); /* what glibc prints, so logs compare */
            } else {
                spec.flags |= FLAG_ALT;
                put_integer(sink, &spec, (uintptr_t)pointer, 0, 0, 16, 0);
            }
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);
            put_padded(sink, &spec, &c, 1);
            break;
        }
        case 's': {
            const char *text = va_arg(args, const char *);
            if (text == NULL)
                text = "(null)";
            size_t len = spec.precision < 0 ? strlen(text) : strnlen(text, (size_t)spec.precision);
            put_padded(sink, &spec, text, len);
            break;
        }
        case '%':
            put(sink, "%", 1);
            break;
        case '\0':
            /* A lone '%' at the end: print it rather than read past the string. */
            put(sink, directive, (size_t)(p - directive));
            continue;
        default:
            /* Unknown conversion (including %n, which we refuse): print the directive as is. */
            put(sink, directive, (size_t)(p - directive) + 1);
            break;
        }
        p++;
    }
    va_end(args);
}

static int produced_as_int(const struct sink *sink)
{
    return sink->produced > INT_MAX_VALUE ? -1 : (int)sink->produced;
}

int vsnprintf(char *buf, size_t size, const char *format, va_list args)
{
    struct sink sink = { .write = string_write, .buf = buf, .cap = size };
    format_into(&sink, format, args);
    if (size > 0)
        buf[sink.produced < size ? sink.produced : size - 1] = '\0';
    return produced_as_int(&sink);
}

int snprintf(char *buf, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int result = vsnprintf(buf, size, format, args);
    va_end(args);
    return result;
}

int vprintf(const char *format, va_list args)
{
    struct sink sink = { .write = console_write };
    format_into(&sink, format, args);
    console_flush(&sink);
    return produced_as_int(&sink);
}

int printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int result = vprintf(format, args);
    va_end(args);
    return result;
}

int puts(const char *text)
{
    size_t len = strlen(text);
    fc_console_write(text, len);
    fc_console_write("\n", 1);
    return len + 1 > INT_MAX_VALUE ? 0x7fffffff : (int)(len + 1);
}

int putchar(int c)
{
    char ch = (char)c;
    fc_console_write(&ch, 1);
    return (unsigned char)ch;
}
