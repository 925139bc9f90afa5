/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc internals: splitting the domain's command line into argv. */
#ifndef FC_LIBC_ARGS_H
#define FC_LIBC_ARGS_H

#include <stddef.h>

#define FC_ARGS_ERR_OPEN_QUOTE (-1)       /* a '"' has no closing '"' */
#define FC_ARGS_ERR_TRAILING_BACKSLASH (-2) /* the line ends in an unescaped '\' */

/*
 * Splits `line` shell-like: runs of spaces/tabs separate words, "..." groups (an empty "" is an
 * empty word), a backslash takes the next character literally, inside quotes too.
 * The words are written NUL-terminated into `strings`, which needs strlen(line) + 1 bytes
 * (a word never takes more room than its source text). The first `max_words` word pointers go
 * to `words` (which may be NULL when max_words is 0).
 * Returns the number of words, even if larger than max_words, or a negative FC_ARGS_ERR_*.
 */
long fc_args_split(const char *line, char *strings, char **words, size_t max_words);

/* A one-line English description of an FC_ARGS_ERR_* code. */
const char *fc_args_error_text(long error);

#endif /* FC_LIBC_ARGS_H */
