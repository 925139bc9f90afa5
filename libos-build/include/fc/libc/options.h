/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule libc: command-line options for apps, `--name VALUE` or `--name=VALUE`, where every
 * value is an unsigned decimal number with an allowed range.
 */
#ifndef FC_LIBC_OPTIONS_H
#define FC_LIBC_OPTIONS_H

#include <stddef.h>

struct fc_option {
    const char *name;          /* without the leading "--" */
    unsigned long long *value; /* holds the default on entry, the parsed value on return */
    unsigned long long min;
    unsigned long long max;
};

/*
 * Reads options from argv[1] on, up to the first argument that does not start with "--" or
 * just past a lone "--". Returns the index of the first remaining (positional) argument, or -1
 * after printing one line naming the problem (unknown option, missing value, not a number,
 * out of range). Values seen before an error may already be stored.
 */
int fc_options_parse(int argc, char **argv, const struct fc_option *options, size_t count);

#endif /* FC_LIBC_OPTIONS_H */
