/* SPDX-License-Identifier: MIT */
/* Kernel options: fc.NAME=VALUE words split off the command line; IPv4/CIDR parsing. */
#include <stdlib.h>
#include <string.h>

#include <fc/errno.h>
#include <fc/kopts.h>

#include "kcheck.h"

static char buf[1024];
static struct fc_kopt opts[FC_KOPTS_MAX];

static int split(const char *line, char **rest)
{
    strcpy(buf, line);
    return fc_kopts_split(buf, opts, FC_KOPTS_MAX, rest);
}

static void test_split(void)
{
    char *rest;
    KCHECK(split("", &rest) == 0 && strcmp(rest, "") == 0);
    KCHECK(split("--port 80", &rest) == 0 && strcmp(rest, "--port 80") == 0);
    KCHECK(split("fc.ip=10.77.0.50/24 fc.gw=10.77.0.1 --port 80", &rest) == 2);
    KCHECK(strcmp(rest, "--port 80") == 0);
    KCHECK(strcmp(opts[0].name, "ip") == 0 && strcmp(opts[0].value, "10.77.0.50/24") == 0);
    KCHECK(strcmp(opts[1].name, "gw") == 0 && strcmp(opts[1].value, "10.77.0.1") == 0);
    KCHECK(strcmp(fc_kopts_find(opts, 2, "gw"), "10.77.0.1") == 0);
    KCHECK(fc_kopts_find(opts, 2, "g") == NULL && fc_kopts_find(opts, 2, "gwx") == NULL);

    /* only leading words: a later fc.x=y belongs to the app, verbatim */
    KCHECK(split("fc.ip=1.2.3.4 app fc.gw=5.6.7.8", &rest) == 1);
    KCHECK(strcmp(rest, "app fc.gw=5.6.7.8") == 0);
    /* blanks (spaces, tabs) around and between options; the app's own spacing is kept */
    KCHECK(split(" \tfc.a=1\t\tfc.b=2   x  \"y z\" ", &rest) == 2);
    KCHECK(strcmp(rest, "x  \"y z\" ") == 0 && strcmp(opts[1].value, "2") == 0);
    /* options only, trailing blanks */
    KCHECK(split("fc.ip=1.2.3.4   ", &rest) == 1 && strcmp(rest, "") == 0);
    KCHECK(strcmp(opts[0].value, "1.2.3.4") == 0);
    /* empty value; '=' inside the value; last one wins */
    KCHECK(split("fc.x= fc.y=a=b fc.x=2", &rest) == 3);
    KCHECK(strcmp(opts[0].value, "") == 0 && strcmp(opts[1].value, "a=b") == 0);
    KCHECK(strcmp(fc_kopts_find(opts, 3, "x"), "2") == 0);
    /* not options: no '=', empty name, other prefixes, bad name characters */
    KCHECK(split("fc.ip 1", &rest) == 0 && strcmp(rest, "fc.ip 1") == 0);
    KCHECK(split("fc.=1", &rest) == 0 && strcmp(rest, "fc.=1") == 0);
    KCHECK(split("fcx.a=1", &rest) == 0);
    KCHECK(split("FC.a=1", &rest) == 0);
    KCHECK(split("fc.a/b=1 x", &rest) == 0 && strcmp(rest, "fc.a/b=1 x") == 0);
    KCHECK(split("--fc.a=1", &rest) == 0);
    /* too many */
    char many[512] = "";
    for (int i = 0; i < FC_KOPTS_MAX + 1; i++)
        strcat(many, "fc.n=1 ");
    strcat(many, "app");
    KCHECK(split(many, &rest) == -FC_E2BIG);
    many[0] = 0;
    for (int i = 0; i < FC_KOPTS_MAX; i++)
        strcat(many, "fc.n=1 ");
    strcat(many, "app");
    KCHECK(split(many, &rest) == FC_KOPTS_MAX && strcmp(rest, "app") == 0);
}

static void test_ipv4(void)
{
    uint32_t ip = 0;
    uint8_t len = 0;
    KCHECK(fc_kopts_parse_ipv4("10.77.0.50", &ip) == 0 && ip == 0x0a4d0032);
    KCHECK(fc_kopts_parse_ipv4("0.0.0.0", &ip) == 0 && ip == 0);
    KCHECK(fc_kopts_parse_ipv4("255.255.255.255", &ip) == 0 && ip == 0xffffffff);
    const char *bad[] = {"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
                         "1..2.3", "01.2.3.4", "1.2.3.-4", "1.2.3.4/24", "a.b.c.d", "1.2.3.1000",
                         "1.2.3.4.", NULL};
    for (int i = 0; bad[i]; i++) {
        ip = 7;
        KCHECK(fc_kopts_parse_ipv4(bad[i], &ip) == -FC_EINVAL && ip == 7);
    }
    KCHECK(fc_kopts_parse_ipv4(NULL, &ip) == -FC_EINVAL);
    KCHECK(fc_kopts_parse_cidr("10.77.0.50/24", &ip, &len) == 0 && ip == 0x0a4d0032 && len == 24);
    KCHECK(fc_kopts_parse_cidr("10.0.0.1", &ip, &len) == 0 && len == 32);
    KCHECK(fc_kopts_parse_cidr("10.0.0.1/0", &ip, &len) == 0 && len == 0);
    KCHECK(fc_kopts_parse_cidr("10.0.0.1/32", &ip, &len) == 0 && len == 32);
    const char *bad_cidr[] = {"10.0.0.1/33", "10.0.0.1/", "10.0.0.1/024", "10.0.0.1/2 4",
                              "10.0.0.1/-1", "/24", "10.0.0.1/24/", NULL};
    for (int i = 0; bad_cidr[i]; i++)
        KCHECK(fc_kopts_parse_cidr(bad_cidr[i], &ip, &len) == -FC_EINVAL);
    /* random strings never crash and never read past the NUL */
    srand(7);
    for (int n = 0; n < 20000; n++) {
        char *s = malloc(12);
        const char alphabet[] = "0123456789./ x";
        int l = rand() % 12;
        for (int i = 0; i < l; i++)
            s[i] = alphabet[rand() % (sizeof(alphabet) - 1)];
        s[l] = 0;
        fc_kopts_parse_cidr(s, &ip, &len);
        fc_kopts_parse_ipv4(s, &ip);
        free(s);
    }
}

int main(void)
{
    test_split();
    test_ipv4();
    return kcheck_summary("kernel options");
}
