/* SPDX-License-Identifier: MIT */
/* FlexCapsule libc: numeric command-line options for apps (see fc/libc/options.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fc/libc/options.h>

static const struct fc_option *find_option(const struct fc_option *options, size_t count,
                                           const char *name, size_t name_len)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(options[i].name) == name_len && strncmp(options[i].name, name, name_len) == 0)
            return &options[i];
    }
    return NULL;
}

/* Stores `text` into the option if it is a plain decimal number within range. */
static int set_value(const char *app, const struct fc_option *option, const char *text)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE) {
        printf("%s: --%s needs a whole number, got \"%s\"\n", app, option->name, text);
        return -1;
    }
    if (value < option->min || value > option->max) {
        printf("%s: --%s must be from %llu to %llu, got %llu\n", app, option->name, option->min,
               option->max, value);
        return -1;
    }
    *option->value = value;
    return 0;
}

int fc_options_parse(int argc, char **argv, const struct fc_option *options, size_t count)
{
    const char *app = argc > 0 ? argv[0] : "app";
    int i = 1;
    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        const char *arg = argv[i] + 2;
        if (*arg == '\0')
            return i + 1; /* "--" ends the options */

        const char *equals = strchr(arg, '=');
        size_t name_len = equals != NULL ? (size_t)(equals - arg) : strlen(arg);
        const struct fc_option *option = find_option(options, count, arg, name_len);
        if (option == NULL) {
            printf("%s: unknown option \"%s\"\n", app, argv[i]);
            return -1;
        }
        const char *value = equals != NULL ? equals + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (value == NULL) {
            printf("%s: --%s needs a value\n", app, option->name);
            return -1;
        }
        if (set_value(app, option, value) != 0)
            return -1;
        i += equals != NULL ? 1 : 2;
    }
    return i;
}
