/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: shell-like command line splitting (see args.h for the rules). */
#include <stddef.h>

#include "args.h"

static int is_separator(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

long fc_args_split(const char *line, char *strings, char **words, size_t max_words)
{
    const char *p = line;
    char *out = strings;
    long count = 0;

    for (;;) {
        while (is_separator(*p))
            p++;
        if (*p == '\0')
            return count;

        char *word = out;
        int in_quotes = 0;
        while (*p != '\0' && (in_quotes || !is_separator(*p))) {
            if (*p == '\\') {
                if (p[1] == '\0')
                    return FC_ARGS_ERR_TRAILING_BACKSLASH;
                *out++ = p[1];
                p += 2;
            } else if (*p == '"') {
                in_quotes = !in_quotes;
                p++;
            } else {
                *out++ = *p++;
            }
        }
        if (in_quotes)
            return FC_ARGS_ERR_OPEN_QUOTE;
        *out++ = '\0';
        if ((size_t)count < max_words)
            words[count] = word;
        count++;
    }
}

const char *fc_args_error_text(long error)
{
    switch (error) {
    case FC_ARGS_ERR_OPEN_QUOTE: return "a double quote is never closed";
    case FC_ARGS_ERR_TRAILING_BACKSLASH: return "the line ends with a lone backslash";
    default: return "unknown error";
    }
}
