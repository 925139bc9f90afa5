/* SPDX-License-Identifier: MIT */
/* Command line splitting (lib/args.c): separators, quotes, escapes, errors, word limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "check.h"

#define MAX_WORDS 16

/* Splits `line` and checks the words (NULL-terminated list) or, if words is NULL, the error. */
static void expect_split(const char *line, long expected_count, const char *const *expected)
{
    size_t len = strlen(line) + 1;
    char *strings = malloc(len); /* exactly what args.h promises is enough */
    char *words[MAX_WORDS];
    long count = fc_args_split(line, strings, words, MAX_WORDS);

    CHECK(count == expected_count, "split(%s): %ld words, expected %ld", line, count,
          expected_count);
    for (long i = 0; expected != NULL && i < count && i < expected_count; i++) {
        CHECK(strcmp(words[i], expected[i]) == 0, "split(%s): word %ld is [%s], expected [%s]",
              line, i, words[i], expected[i]);
        CHECK(words[i] >= strings && words[i] < strings + len,
              "split(%s): word %ld lies outside the buffer", line, i);
    }
    free(strings);
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__ })

static void test_ordinary_lines(void)
{
    expect_split("", 0, NULL);
    expect_split("    ", 0, NULL);
    expect_split("one", 1, WORDS("one"));
    expect_split("--status 3", 2, WORDS("--status", "3"));
    expect_split("  lead   and\ttrail\t ", 3, WORDS("lead", "and", "trail"));
    expect_split("--mib 64 --rate 8", 4, WORDS("--mib", "64", "--rate", "8"));
}

static void test_quotes_and_escapes(void)
{
    expect_split("\"hello world\"", 1, WORDS("hello world"));
    expect_split("a \"\" b", 3, WORDS("a", "", "b"));
    expect_split("\"\"", 1, WORDS(""));
    expect_split("pre\"mid dle\"post", 1, WORDS("premid dlepost"));
    expect_split("a\\ b c", 2, WORDS("a b", "c"));
    expect_split("\\\"quoted\\\"", 1, WORDS("\"quoted\""));
    expect_split("\"in \\\" side\"", 1, WORDS("in \" side"));
    expect_split("back\\\\slash", 1, WORDS("back\\slash"));
    expect_split("\\a\\b", 1, WORDS("ab"));
    expect_split("\"  spaces  kept  \"", 1, WORDS("  spaces  kept  "));
    expect_split("x \"tab\there\"", 2, WORDS("x", "tab\there"));
}

static void test_errors(void)
{
    expect_split("\"never closed", FC_ARGS_ERR_OPEN_QUOTE, NULL);
    expect_split("ok \"also ok\" \"bad", FC_ARGS_ERR_OPEN_QUOTE, NULL);
    expect_split("ends with\\", FC_ARGS_ERR_TRAILING_BACKSLASH, NULL);
    CHECK(strstr(fc_args_error_text(FC_ARGS_ERR_OPEN_QUOTE), "quote") != NULL,
          "open quote error text names the quote");
    CHECK(strstr(fc_args_error_text(FC_ARGS_ERR_TRAILING_BACKSLASH), "backslash") != NULL,
          "trailing backslash error text names the backslash");
}

static void test_word_limit(void)
{
    const char *line = "a b c d e";
    char strings[16];
    char *words[2] = { NULL, NULL };
    char *sentinel[3] = { NULL, NULL, (char *)"untouched" };
    CHECK(fc_args_split(line, strings, NULL, 0) == 5, "counting needs no word array");
    CHECK(fc_args_split(line, strings, words, 2) == 5, "the count includes words not stored");
    CHECK(words[0] != NULL && strcmp(words[0], "a") == 0 && strcmp(words[1], "b") == 0,
          "the first max_words words are stored");
    fc_args_split(line, strings, sentinel, 2);
    CHECK(strcmp(sentinel[2], "untouched") == 0, "no word pointer is written past max_words");
}

/* Many random lines built from separators, quotes and escapes: never overrun the buffer. */
static void test_random_lines_stay_in_bounds(void)
{
    static const char alphabet[] = "ab \t\"\\";
    srand(12345);
    for (int round = 0; round < 5000; round++) {
        char line[40];
        size_t len = (size_t)(rand() % 39);
        for (size_t i = 0; i < len; i++)
            line[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        line[len] = '\0';

        char *strings = malloc(len + 1); /* ASan reports any write beyond it */
        char *words[64];
        long count = fc_args_split(line, strings, words, 64);
        int sane = count == FC_ARGS_ERR_OPEN_QUOTE || count == FC_ARGS_ERR_TRAILING_BACKSLASH
                   || (count >= 0 && count <= (long)len);
        CHECK(sane, "split(%s) returned %ld", line, count);
        free(strings);
    }
}

int main(void)
{
    test_ordinary_lines();
    test_quotes_and_escapes();
    test_errors();
    test_word_limit();
    test_random_lines_stay_in_bounds();
    return check_summary();
}
