/* SPDX-License-Identifier: MIT */
/*
 * Memory and string functions, and the strtol family, against the host C library: results,
 * end pointers and errno, over hand-picked edge cases and exhaustive small-buffer offsets.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "libc_under_test.h"

static int sign_of(int x)
{
    return (x > 0) - (x < 0);
}

/* memcpy/memmove/memset for every small length and every alignment of source and destination. */
static void test_memory_offsets(void)
{
    unsigned char src[96], ours[128], ref[128];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 7 + 3);

    for (size_t dst_off = 0; dst_off < 9; dst_off++) {
        for (size_t src_off = 0; src_off < 9; src_off++) {
            for (size_t n = 0; n < 70; n++) {
                memset(ours, 0xee, sizeof(ours));
                memset(ref, 0xee, sizeof(ref));
                void *ret = fct_memcpy(ours + dst_off, src + src_off, n);
                memcpy(ref + dst_off, src + src_off, n);
                CHECK(ret == ours + dst_off && memcmp(ours, ref, sizeof(ours)) == 0,
                      "memcpy dst+%zu src+%zu n=%zu", dst_off, src_off, n);
            }
        }
    }

    for (size_t off = 0; off < 9; off++) {
        for (size_t n = 0; n < 70; n++) {
            memset(ours, 0x11, sizeof(ours));
            memset(ref, 0x11, sizeof(ref));
            void *ret = fct_memset(ours + off, 0x1ab, n); /* only the low byte counts */
            memset(ref + off, 0x1ab, n);
            CHECK(ret == ours + off && memcmp(ours, ref, sizeof(ours)) == 0,
                  "memset +%zu n=%zu", off, n);
        }
    }

    /* Overlapping moves in both directions. */
    for (int shift = -12; shift <= 12; shift++) {
        for (size_t n = 0; n < 40; n++) {
            for (size_t i = 0; i < sizeof(ours); i++)
                ours[i] = ref[i] = (unsigned char)i;
            size_t from = 40, to = (size_t)(40 + shift);
            void *ret = fct_memmove(ours + to, ours + from, n);
            memmove(ref + to, ref + from, n);
            CHECK(ret == ours + to && memcmp(ours, ref, sizeof(ours)) == 0,
                  "memmove shift=%d n=%zu", shift, n);
        }
    }
}

static void test_compare_and_search(void)
{
    static const char *words[] = { "", "a", "ab", "abc", "abd", "b", "\x80", "a\x80", "zz" };
    size_t nwords = sizeof(words) / sizeof(words[0]);
    for (size_t i = 0; i < nwords; i++) {
        CHECK(fct_strlen(words[i]) == strlen(words[i]), "strlen(\"%s\")", words[i]);
        for (size_t j = 0; j < nwords; j++) {
            CHECK(sign_of(fct_strcmp(words[i], words[j])) == sign_of(strcmp(words[i], words[j])),
                  "strcmp(\"%s\", \"%s\")", words[i], words[j]);
            for (size_t n = 0; n < 5; n++) {
                CHECK(sign_of(fct_strncmp(words[i], words[j], n))
                          == sign_of(strncmp(words[i], words[j], n)),
                      "strncmp(\"%s\", \"%s\", %zu)", words[i], words[j], n);
            }
            size_t n = strlen(words[i]) < strlen(words[j]) ? strlen(words[i]) : strlen(words[j]);
            CHECK(sign_of(fct_memcmp(words[i], words[j], n + 1))
                      == sign_of(memcmp(words[i], words[j], n + 1)),
                  "memcmp(\"%s\", \"%s\")", words[i], words[j]);
        }
    }
    CHECK(fct_memcmp("abc", "abd", 0) == 0, "memcmp of 0 bytes is equal");
    CHECK(fct_strnlen("hello", 3) == 3 && fct_strnlen("hi", 10) == 2 && fct_strnlen("", 0) == 0,
          "strnlen stops at max_len or the NUL");

    const char *text = "path/to/file.txt";
    CHECK(fct_strchr(text, '/') == text + 4, "strchr finds the first");
    CHECK(fct_strrchr(text, '/') == text + 7, "strrchr finds the last");
    CHECK(fct_strchr(text, 'q') == NULL && fct_strrchr(text, 'q') == NULL, "absent gives NULL");
    CHECK(fct_strchr(text, '\0') == text + 16 && fct_strrchr(text, '\0') == text + 16,
          "searching for NUL finds the terminator");
    CHECK(fct_strchr(text, 't' + 256) == strchr(text, 't' + 256), "the char is cut to a byte");
}

static void test_copies(void)
{
    char ours[16], ref[16];
    memset(ours, 'X', sizeof(ours));
    CHECK(fct_strcpy(ours, "hello") == ours && strcmp(ours, "hello") == 0 && ours[6] == 'X',
          "strcpy copies through the NUL and no further");

    static const char *sources[] = { "", "abc", "abcdefgh" };
    for (size_t s = 0; s < 3; s++) {
        for (size_t n = 0; n < 12; n++) {
            memset(ours, 'X', sizeof(ours));
            memset(ref, 'X', sizeof(ref));
            fct_strncpy(ours, sources[s], n);
            strncpy(ref, sources[s], n);
            CHECK(memcmp(ours, ref, sizeof(ours)) == 0, "strncpy(\"%s\", %zu) pads like C says",
                  sources[s], n);
        }
    }
}

/* strtol family: value, end offset and errno must match the host for each input and base. */
static void test_strtol_family(void)
{
    static const char *inputs[] = {
        "0", "42", "-42", "+42", "   \t\n 17xyz", "0x1f", "0X1F", "-0x1f", "0x", "0xg", "017",
        "08", "z", "Zz", "", "   ", "-", "+", "+-1", "101010", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "-1", "-18446744073709551615",
        "99999999999999999999999", "0x7fffffffffffffff", "0xffffffffffffffffff", "123abc",
    };
    static const int bases[] = { 0, 2, 8, 10, 16, 36 };

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
            const char *in = inputs[i];
            int base = bases[b];
            char *end_ours, *end_ref;

            fct_errno = 0;
            errno = 0;
            long l_ours = fct_strtol(in, &end_ours, base);
            long l_ref = strtol(in, &end_ref, base);
            CHECK(l_ours == l_ref && end_ours == end_ref && fct_errno == errno,
                  "strtol(\"%s\", %d): ours %ld end+%td errno %d, host %ld end+%td errno %d", in,
                  base, l_ours, end_ours - in, fct_errno, l_ref, end_ref - in, errno);

            fct_errno = 0;
            errno = 0;
            unsigned long u_ours = fct_strtoul(in, &end_ours, base);
            unsigned long u_ref = strtoul(in, &end_ref, base);
            CHECK(u_ours == u_ref && end_ours == end_ref && fct_errno == errno,
                  "strtoul(\"%s\", %d): ours %lu end+%td errno %d, host %lu end+%td errno %d",
                  in, base, u_ours, end_ours - in, fct_errno, u_ref, end_ref - in, errno);

            fct_errno = 0;
            errno = 0;
            long long ll_ours = fct_strtoll(in, &end_ours, base);
            long long ll_ref = strtoll(in, &end_ref, base);
            CHECK(ll_ours == ll_ref && end_ours == end_ref && fct_errno == errno,
                  "strtoll(\"%s\", %d): ours %lld, host %lld", in, base, ll_ours, ll_ref);

            fct_errno = 0;
            errno = 0;
            unsigned long long ull_ours = fct_strtoull(in, &end_ours, base);
            unsigned long long ull_ref = strtoull(in, &end_ref, base);
            CHECK(ull_ours == ull_ref && end_ours == end_ref && fct_errno == errno,
                  "strtoull(\"%s\", %d): ours %llu, host %llu", in, base, ull_ours, ull_ref);
        }
    }

    char *end;
    fct_errno = 0;
    CHECK(fct_strtol("12", &end, 1) == 0 && fct_errno == EINVAL, "base 1 is EINVAL");
    fct_errno = 0;
    CHECK(fct_strtol("12", &end, 37) == 0 && fct_errno == EINVAL, "base 37 is EINVAL");
    CHECK(fct_strtol("12", NULL, 10) == 12, "a NULL end pointer is allowed");
    CHECK(fct_atoi("  -123abc") == -123 && fct_atoi("x") == 0 && fct_atoi("2147483647") == INT_MAX,
          "atoi");
}

int main(void)
{
    test_memory_offsets();
    test_compare_and_search();
    test_copies();
    test_strtol_family();
    return check_summary();
}
