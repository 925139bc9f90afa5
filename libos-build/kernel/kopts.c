/* SPDX-License-Identifier: MIT */
/* Kernel options on the command line (see include/fc/kopts.h). Pure: no kernel calls. */
#include <fc/errno.h>
#include <fc/kopts.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* Length of the option name if word (ending at a blank or NUL) is fc.NAME=..., else 0. */
static int option_name_len(const char *word)
{
    if (word[0] != 'f' || word[1] != 'c' || word[2] != '.')
        return 0;
    int n = 0;
    while (is_name_char(word[3 + n]))
        n++;
    return n > 0 && word[3 + n] == '=' ? n : 0;
}

int fc_kopts_split(char *line, struct fc_kopt *opts, int max, char **rest)
{
    int count = 0;
    char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        int name_len = option_name_len(p);
        if (!name_len)
            break;
        if (count == max) {
            *rest = p;
            return -FC_E2BIG;
        }
        opts[count].name = p + 3;
        p[3 + name_len] = 0;
        p += 3 + name_len + 1;
        opts[count].value = p;
        while (*p && !is_blank(*p))
            p++;
        count++;
        if (*p)
            *p++ = 0;
    }
    *rest = p;
    return count;
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

const char *fc_kopts_find(const struct fc_kopt *opts, int n, const char *name)
{
    for (int i = n - 1; i >= 0; i--)
        if (same(opts[i].name, name))
            return opts[i].value;
    return 0;
}

/* Decimal 0..max without sign or redundant leading zero; advances *s. */
static int parse_small(const char **s, unsigned max, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (digits == 1 && v == 0)
            return -FC_EINVAL; /* "01": ambiguous (octal to some parsers) */
        v = v * 10 + (unsigned)(*p++ - '0');
        if (v > max || ++digits > 3)
            return -FC_EINVAL;
    }
    if (!digits)
        return -FC_EINVAL;
    *s = p;
    *out = v;
    return 0;
}

static int parse_ipv4_prefix(const char **s, uint32_t *out)
{
    uint32_t ip = 0;
    for (int i = 0; i < 4; i++) {
        unsigned part;
        if (i > 0 && *(*s)++ != '.')
            return -FC_EINVAL;
        if (parse_small(s, 255, &part))
            return -FC_EINVAL;
        ip = ip << 8 | part;
    }
    *out = ip;
    return 0;
}

int fc_kopts_parse_ipv4(const char *text, uint32_t *out)
{
    uint32_t ip;
    if (!text || parse_ipv4_prefix(&text, &ip) || *text)
        return -FC_EINVAL;
    *out = ip;
    return 0;
}

int fc_kopts_parse_cidr(const char *text, uint32_t *ip, uint8_t *prefix_len)
{
    uint32_t addr;
    unsigned len = 32;
    if (!text || parse_ipv4_prefix(&text, &addr))
        return -FC_EINVAL;
    if (*text == '/') {
        text++;
        if (parse_small(&text, 32, &len))
            return -FC_EINVAL;
    }
    if (*text)
        return -FC_EINVAL;
    *ip = addr;
    *prefix_len = (uint8_t)len;
    return 0;
}
