/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: string to integer conversions (strtol family and atoi). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#define ULLONG_MAX_VALUE (~0ULL)
#define LLONG_MAX_VALUE ((unsigned long long)__LONG_LONG_MAX__)
#define LONG_MAX_VALUE ((unsigned long long)__LONG_MAX__)
#define ULONG_MAX_VALUE (__LONG_MAX__ * 2UL + 1UL)

struct parsed {
    unsigned long long magnitude; /* saturated at `limit` + 1 when out of range */
    int negative;
    int overflow;
};

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/*
 * The shared parser: whitespace, sign, base prefix, digits. `limit` is the largest magnitude the
 * caller can represent; anything larger sets overflow. *end gets the first unparsed character,
 * or `text` itself when there were no digits.
 */
static struct parsed parse(const char *text, char **end, int base, unsigned long long limit)
{
    struct parsed result = { 0, 0, 0 };
    const char *p = text;

    if (base != 0 && (base < 2 || base > 36)) {
        errno = EINVAL;
        if (end != NULL)
            *end = (char *)text;
        return result;
    }

    while (is_space(*p))
        p++;
    if (*p == '+' || *p == '-')
        result.negative = *p++ == '-';

    /* "0x" only counts as a prefix when a hex digit follows; "0x" alone parses as "0". */
    int hex_prefix = p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16;
    if ((base == 0 || base == 16) && hex_prefix) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }

    const char *digits_start = p;
    for (; digit_value(*p) < base; p++) {
        unsigned digit = (unsigned)digit_value(*p);
        if (result.overflow)
            continue; /* keep consuming digits so *end points past the number */
        if (result.magnitude > (limit - digit) / (unsigned)base) {
            result.overflow = 1;
            continue;
        }
        result.magnitude = result.magnitude * (unsigned)base + digit;
    }

    if (p == digits_start) {
        if (end != NULL)
            *end = (char *)text;
        result.negative = 0;
        return result;
    }
    if (end != NULL)
        *end = (char *)p;
    return result;
}

/* Signed conversions: the negative side reaches one further than the positive side. */
static long long to_signed(const char *text, char **end, int base, unsigned long long max)
{
    struct parsed r = parse(text, end, base, max + 1);
    if (!r.negative && r.magnitude > max)
        r.overflow = 1;
    if (r.overflow) {
        errno = ERANGE;
        return r.negative ? -(long long)max - 1 : (long long)max;
    }
    return r.negative ? (long long)(0ULL - r.magnitude) : (long long)r.magnitude;
}

/* Unsigned conversions: "-N" is the negation of N in the unsigned type, as C specifies. */
static unsigned long long to_unsigned(const char *text, char **end, int base,
                                      unsigned long long max)
{
    struct parsed r = parse(text, end, base, max);
    if (r.overflow) {
        errno = ERANGE;
        return max;
    }
    return r.negative ? (0ULL - r.magnitude) & max : r.magnitude;
}

long strtol(const char *text, char **end, int base)
{
    return (long)to_signed(text, end, base, LONG_MAX_VALUE);
}

long long strtoll(const char *text, char **end, int base)
{
    return to_signed(text, end, base, LLONG_MAX_VALUE);
}

unsigned long strtoul(const char *text, char **end, int base)
{
    return (unsigned long)to_unsigned(text, end, base, ULONG_MAX_VALUE);
}

unsigned long long strtoull(const char *text, char **end, int base)
{
    return to_unsigned(text, end, base, ULLONG_MAX_VALUE);
}

int atoi(const char *text)
{
    return (int)strtol(text, NULL, 10);
}
