/* SPDX-License-Identifier: MIT */
/*
 * kv: a tiny in-memory key-value store over TCP (protocol in proto.h). Its contents live in
 * the app VM's memory and must survive every live migration.
 *
 *   kv [--port P] [--max-clients N]     (defaults 7000, 48)
 * The address comes from the kernel options fc.ip=A.B.C.D/N [fc.gw=G].
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fc/api.h>
#include <fc/errno.h>
#include <fc/net.h>
#include <fc/libc/options.h>
#include <fc/libc/tcp_server.h>

#include "proto.h"

#define EXIT_USAGE 2
#define SEND_TIMEOUT_MS 10000

#define LINE_BUF (KV_LINE_MAX + 2)

static struct kv_store store;

/* Runs every complete line received so far; returns the bytes used, or -1 to close. */
static long received(void *app, int sock, const char *data, size_t len, int full)
{
    (void)app;
    char out[KV_REPLY_MAX];
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        size_t line = i - start;
        if (line > 0 && data[start + line - 1] == '\r')
            line--;
        int quit;
        size_t out_len = kv_execute(&store, data + start, line, out, sizeof(out), &quit);
        if (fc_tcp_send_all(sock, out, out_len, SEND_TIMEOUT_MS) < 0 || quit)
            return -1;
        start = i + 1;
    }
    if (full && start == 0) {
        const char msg[] = "ERROR line too long\n";
        fc_tcp_send_all(sock, msg, sizeof(msg) - 1, SEND_TIMEOUT_MS);
        return -1;
    }
    return (long)start;
}

int main(int argc, char **argv)
{
    unsigned long long port = 7000, max_clients = 48;
    const struct fc_option options[] = {
        { "port", &port, 1, 65535 },
        { "max-clients", &max_clients, 1, FC_NET_MAX_SOCKETS - 2 },
    };
    if (fc_options_parse(argc, argv, options, sizeof(options) / sizeof(options[0])) != argc) {
        printf("usage: kv [--port P] [--max-clients N]\n");
        return EXIT_USAGE;
    }
    if (kv_store_init(&store) < 0) {
        printf("kv: out of memory\n");
        return 1;
    }
    int rc = fc_net_up();
    if (rc < 0) {
        printf("kv: no network (error %d): give the app VM a vif and fc.ip=A.B.C.D/N\n", rc);
        return 1;
    }
    printf("kv listening on port %llu\n", port);
    const struct fc_tcp_server_ops ops = { LINE_BUF, received };
    rc = fc_tcp_serve((uint16_t)port, max_clients, &ops, NULL);
    printf("kv: cannot serve on port %llu (error %d)\n", port, rc);
    return 1;
}
