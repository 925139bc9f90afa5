/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule libc: program start. The kernel calls fc_libc_start() once it is up; we build
 * argv from the domain's command line and run main(). Compiled once per app, because argv[0]
 * comes from the build's FC_APP_NAME.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fc/api.h>

#include "args.h"

#ifndef FC_APP_NAME
#error "build lib/start.c with -DFC_APP_NAME='\"<app>\"' (see lib/Makefile.inc)"
#endif

#define EXIT_BAD_COMMAND_LINE 2

int main(int argc, char **argv);

int fc_libc_start(void)
{
    const char *line = fc_cmdline();
    if (line == NULL)
        line = "";

    char *strings = malloc(strlen(line) + 1);
    long nwords = strings == NULL ? 0 : fc_args_split(line, strings, NULL, 0);
    if (nwords < 0) {
        printf("%s: bad command line: %s: %s\n", FC_APP_NAME, fc_args_error_text(nwords), line);
        return EXIT_BAD_COMMAND_LINE;
    }
    char **argv = malloc(((size_t)nwords + 2) * sizeof(char *));
    if (strings == NULL || argv == NULL) {
        printf("%s: out of memory building argv\n", FC_APP_NAME);
        return EXIT_FAILURE;
    }

    argv[0] = (char *)FC_APP_NAME;
    fc_args_split(line, strings, argv + 1, (size_t)nwords);
    argv[nwords + 1] = NULL;
    return main((int)nwords + 1, argv);
}
