/* SPDX-License-Identifier: MIT */
/*
 * printf family: our snprintf against the host's for hand-picked and generated formats
 * (every flag combination x width x precision x conversion x length modifier), truncation,
 * and printf/puts/putchar reaching the console.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fake_kernel.h"
#include "libc_under_test.h"

/* Same output and same return value as the host snprintf. */
#define SAME(...)                                                                              \
    do {                                                                                       \
        char ours[512], ref[512];                                                              \
        int n_ours = fct_snprintf(ours, sizeof(ours), __VA_ARGS__);                            \
        int n_ref = snprintf(ref, sizeof(ref), __VA_ARGS__);                                   \
        CHECK(n_ours == n_ref && strcmp(ours, ref) == 0,                                       \
              "snprintf(%s): ours \"%s\" (%d), host \"%s\" (%d)", #__VA_ARGS__, ours, n_ours,  \
              ref, n_ref);                                                                     \
    } while (0)

/* Some cases are odd on purpose (NULL %s, '0' with '-'); the host's format checks would object. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-truncation"
static void test_fixed_formats(void)
{
    SAME("plain text");
    SAME("%d %i %u", 42, -42, 42u);
    SAME("%x %X %o", 0xbeefu, 0xbeefu, 0755u);
    SAME("%5d|%-5d|%05d", 42, 42, 42);
    SAME("%+d % d %+d % d", 5, 5, -5, -5);
    SAME("%.3d|%.0d|%.0d|%5.0d|", 7, 0, 1, 0);
    SAME("%#x %#X %#o %#o %#x", 255u, 255u, 8u, 0u, 0u);
    SAME("%#.3o %#5o %#-8x|", 8u, 8u, 255u);
    SAME("%d %d", INT_MIN, INT_MAX);
    SAME("%ld %lu %lx", LONG_MIN, ULONG_MAX, ULONG_MAX);
    SAME("%lld %llu %llX", LLONG_MIN, ULLONG_MAX, ULLONG_MAX);
    SAME("%hd %hu %hhd %hhu %hhx", (short)-1234, (unsigned short)65000, (signed char)-100,
         (unsigned char)200, (unsigned char)0xab);
    SAME("%hd %hhd", 70000, 300); /* values wider than the modifier are cut, as C says */
    SAME("%zu %zd %zx", (size_t)123456789, (ssize_t)-5, (size_t)0xabc);
    SAME("%jd %ju %td", (intmax_t)-9, (uintmax_t)9, (ptrdiff_t)-3);
    SAME("%c%c%c", 'a', 'b', 'c');
    SAME("[%5c][%-5c]", 'x', 'y');
    SAME("%s|%10s|%-10s|%.2s|%10.2s|%-10.2s|", "hello", "hello", "hello", "hello", "hello",
         "hello");
    SAME("%.0s|%.10s|", "abc", "abc");
    SAME("%s", "");
    SAME("%s", (char *)NULL);
    SAME("%10s|%-10s|", (char *)NULL, (char *)NULL);
    SAME("%p %20p %-20p|", (void *)0x1234, (void *)0xdeadbeef, (void *)0xdeadbeef);
    SAME("%p %10p|%-10p|", (void *)NULL, (void *)NULL, (void *)NULL);
    SAME("100%%|");
    SAME("%*d|%-*d|%*d|", 6, 42, 6, 42, -6, 42);
    SAME("%.*d|%.*s|%.*d|", 4, 42, 2, "abcdef", -1, 42);
    SAME("%*.*x|", 10, 6, 0xabcu);
    SAME("%0*d|%-0*d|", 8, -42, 8, -42);
    SAME("%08.3d|%-08d|", 42, 42);
    SAME("%s=%d, %s=%#x, %c%c", "a", 1, "b", 16u, 'o', 'k');
}
#pragma GCC diagnostic pop

/* Every flag subset x width x precision for each integer conversion and several values. */
static void test_generated_integer_formats(void)
{
    static const char flags_all[] = "-0+ #";
    static const char *widths[] = { "", "1", "4", "12" };
    static const char *precisions[] = { "", ".", ".0", ".1", ".3", ".15" };
    static const char conversions[] = "diuxXo";
    static const long long values[] = { 0, 1, -1, 7, -42, 255, 4096, -100000, INT_MAX, INT_MIN };

    for (unsigned mask = 0; mask < 32; mask++) {
        char flags[8] = "";
        size_t nflags = 0;
        for (unsigned bit = 0; bit < 5; bit++)
            if (mask & (1u << bit))
                flags[nflags++] = flags_all[bit];
        flags[nflags] = '\0';

        for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
            for (size_t pr = 0; pr < sizeof(precisions) / sizeof(precisions[0]); pr++) {
                for (const char *conv = conversions; *conv; conv++) {
                    int is_signed = *conv == 'd' || *conv == 'i';
                    if (is_signed && strchr(flags, '#'))
                        continue; /* '#' with d/i is undefined behaviour */
                    char format[64];
                    snprintf(format, sizeof(format), "[%%%s%s%s%c]", flags, widths[w],
                             precisions[pr], *conv);
                    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
                        char ours[128], ref[128];
                        int n_ours = fct_snprintf(ours, sizeof(ours), format, (int)values[v]);
                        int n_ref = snprintf(ref, sizeof(ref), format, (int)values[v]);
                        CHECK(n_ours == n_ref && strcmp(ours, ref) == 0,
                              "format \"%s\" value %lld: ours \"%s\" (%d), host \"%s\" (%d)",
                              format, values[v], ours, n_ours, ref, n_ref);
                    }
                }
            }
        }
    }
}

/* Length modifiers with values that need the full width of their type. */
static void test_generated_length_modifiers(void)
{
    static const char *flag_sets[] = { "", "-", "0", "+", " ", "#", "-+", "0 " };
    static const char *sizes[] = { "", "8", "25", ".20", "30.22" };
    static const char *modifiers[] = { "l", "ll", "z", "j" };
    static const long long values[] = { 0, 1, -1, LLONG_MAX, LLONG_MIN, 0x123456789abcLL,
                                        -987654321012LL };
    static const char conversions[] = "diuxXo";

    for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            for (size_t m = 0; m < sizeof(modifiers) / sizeof(modifiers[0]); m++) {
                for (const char *conv = conversions; *conv; conv++) {
                    if ((*conv == 'd' || *conv == 'i') && strchr(flag_sets[f], '#'))
                        continue;
                    char format[64];
                    snprintf(format, sizeof(format), "<%%%s%s%s%c>", flag_sets[f], sizes[s],
                             modifiers[m], *conv);
                    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
                        char ours[128], ref[128];
                        /* l, ll, z and j are all 64 bits wide on x86_64. */
                        int n_ours = fct_snprintf(ours, sizeof(ours), format, values[v]);
                        int n_ref = snprintf(ref, sizeof(ref), format, values[v]);
                        CHECK(n_ours == n_ref && strcmp(ours, ref) == 0,
                              "format \"%s\" value %lld: ours \"%s\" (%d), host \"%s\" (%d)",
                              format, values[v], ours, n_ours, ref, n_ref);
                    }
                }
            }
        }
    }
}

/* Strings and characters with width/precision/'-' combinations. */
static void test_generated_text_formats(void)
{
    static const char *specs[] = { "", "-", "3", "-3", "8", "-8", ".0", ".2", "6.2", "-6.2",
                                   ".10", "12.10" };
    static const char *texts[] = { "", "a", "abc", "longer than eight" };
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        char format[32];
        for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
            char ours[128], ref[128];
            snprintf(format, sizeof(format), "|%%%ss|", specs[s]);
            int n_ours = fct_snprintf(ours, sizeof(ours), format, texts[t]);
            int n_ref = snprintf(ref, sizeof(ref), format, texts[t]);
            CHECK(n_ours == n_ref && strcmp(ours, ref) == 0,
                  "format \"%s\" text \"%s\": ours \"%s\", host \"%s\"", format, texts[t], ours,
                  ref);
        }
        if (strchr(specs[s], '.') == NULL) {
            char ours[64], ref[64];
            snprintf(format, sizeof(format), "|%%%sc|", specs[s]);
            fct_snprintf(ours, sizeof(ours), format, 'Z');
            snprintf(ref, sizeof(ref), format, 'Z');
            CHECK(strcmp(ours, ref) == 0, "format \"%s\": ours \"%s\", host \"%s\"", format, ours,
                  ref);
        }
    }
}

static void test_truncation(void)
{
    char buf[16];
    memset(buf, 'X', sizeof(buf));
    CHECK(fct_snprintf(buf, 5, "%d", 123456789) == 9, "return value counts what did not fit");
    CHECK(strcmp(buf, "1234") == 0, "truncated to size-1 plus NUL, got \"%s\"", buf);
    CHECK(buf[5] == 'X', "wrote past size");

    memset(buf, 'X', sizeof(buf));
    CHECK(fct_snprintf(buf, 1, "abc") == 3, "size 1 still reports the full length");
    CHECK(buf[0] == '\0' && buf[1] == 'X', "size 1 gives an empty string and nothing else");

    memset(buf, 'X', sizeof(buf));
    CHECK(fct_snprintf(buf, 0, "abc%s", "def") == 6, "size 0 reports the full length");
    CHECK(buf[0] == 'X', "size 0 writes nothing");
    CHECK(fct_snprintf(NULL, 0, "%08x", 1u) == 8, "NULL buffer with size 0 measures");

    char exact[4];
    CHECK(fct_snprintf(exact, sizeof(exact), "abc") == 3 && strcmp(exact, "abc") == 0,
          "an exact fit keeps every character");
}

/* These formats are wrong on purpose; the host compiler's format checks would reject them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
static void test_odd_directives(void)
{
    char buf[64];
    fct_snprintf(buf, sizeof(buf), "50%");
    CHECK(strcmp(buf, "50%") == 0, "a trailing lone %% prints as is, got \"%s\"", buf);
    int n = fct_snprintf(buf, sizeof(buf), "a%nb", (int *)NULL);
    CHECK(strcmp(buf, "a%nb") == 0 && n == 4, "%%n is refused and printed, got \"%s\"", buf);
    fct_snprintf(buf, sizeof(buf), "%q%d", 5);
    CHECK(strcmp(buf, "%q5") == 0, "unknown conversions print as written, got \"%s\"", buf);
}
#pragma GCC diagnostic pop

static void test_console_output(void)
{
    fake_console_reset();
    int n = fct_printf("counter %d mono_ns=%llu\n", 42, 123456789ULL);
    CHECK(n == 29, "printf returns the character count, got %d", n);
    CHECK(strcmp(fake_console_text(), "counter 42 mono_ns=123456789\n") == 0,
          "printf reaches the console, got \"%s\"", fake_console_text());

    /* Longer than the console chunk: must arrive whole and in order. */
    char long_text[1500];
    for (size_t i = 0; i < sizeof(long_text) - 1; i++)
        long_text[i] = (char)('a' + i % 26);
    long_text[sizeof(long_text) - 1] = '\0';
    fake_console_reset();
    n = fct_printf("<%s>", long_text);
    CHECK(n == (int)sizeof(long_text) + 1, "long printf count, got %d", n);
    CHECK(strlen(fake_console_text()) == sizeof(long_text) + 1
              && strncmp(fake_console_text() + 1, long_text, sizeof(long_text) - 1) == 0,
          "long printf output arrives whole");

    fake_console_reset();
    fct_puts("line");
    fct_putchar('!');
    CHECK(fct_putchar(0xff) == 0xff, "putchar returns the byte as unsigned char");
    CHECK(strcmp(fake_console_text(), "line\n!\xff") == 0, "puts adds a newline, putchar one byte");
}

int main(void)
{
    test_fixed_formats();
    test_generated_integer_formats();
    test_generated_length_modifiers();
    test_generated_text_formats();
    test_truncation();
    test_odd_directives();
    test_console_output();
    return check_summary();
}
