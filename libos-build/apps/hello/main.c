/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest FlexCapsule app. Greets, prints its argv (to show the command line
 * arrived intact), and exits with the status asked for.
 *
 *   hello [--status N] [WORD...]     N from 0 to 254 (255 means a panic to dom0)
 */
#include <stdio.h>

#include <fc/api.h>
#include <fc/libc/options.h>

#define EXIT_USAGE 2

int main(int argc, char **argv)
{
    unsigned long long status = 0;
    const struct fc_option options[] = {
        { "status", &status, 0, 254 },
    };
    if (fc_options_parse(argc, argv, options, sizeof(options) / sizeof(options[0])) < 0) {
        printf("usage: hello [--status N] [WORD...]\n");
        return EXIT_USAGE;
    }

    printf("Hello from FlexCapsule OS! This is %s in domain %d.\n", argv[0], fc_domid());
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=\"%s\"\n", i, argv[i]);
    printf("hello: exiting with status %llu\n", status);
    return (int)status;
}
