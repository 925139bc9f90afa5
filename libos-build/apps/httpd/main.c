/* SPDX-License-Identifier: MIT */
/*
 * httpd: a small web server for live-migration experiments. GET / serves a short page,
 * GET /counter returns a number one higher than the last answer (its state lives in the app
 * VM's memory, so it must run on across every migration), GET /stats the network counters.
 * Many clients at once through fc_net_poll; HTTP/1.1 keep-alive and pipelining.
 *
 *   httpd [--port P] [--max-clients N]     (defaults 80, 48)
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

#include "http.h"

#define EXIT_USAGE 2
#define REQUEST_BUF 2048
#define SEND_TIMEOUT_MS 10000

static unsigned long long counter_value;
static unsigned long long requests_served;

static const char page[] =
    "<!doctype html>\n<html><head><title>FlexCapsule</title></head>\n"
    "<body><h1>Served by FlexCapsule OS</h1>\n"
    "<p>One app, one tiny Xen PV VM, live-migrated while you read this.</p></body></html>\n";

/* HEAD gets the same head with no body. */
static int respond(int sock, int status, const char *type, const char *body, size_t body_len,
                   int keep_alive, int head_only)
{
    char head[256];
    long head_len = http_response_head(head, sizeof(head), status, type, body_len, keep_alive);
    if (head_len < 0)
        return (int)head_len;
    int rc = fc_tcp_send_all(sock, head, (size_t)head_len, SEND_TIMEOUT_MS);
    return rc < 0 || head_only ? rc : fc_tcp_send_all(sock, body, body_len, SEND_TIMEOUT_MS);
}

static int stats_body(char *out, size_t cap)
{
    struct fc_net_info info;
    if (fc_net_info(&info) < 0)
        return snprintf(out, cap, "{}\n");
    return snprintf(out, cap,
                    "{\"domid\": %d, \"requests\": %llu, \"counter\": %llu, \"rx_frames\": %llu, "
                    "\"tx_frames\": %llu, \"rx_dropped\": %llu, \"rx_bad_checksum\": %llu, "
                    "\"tcp_retransmits\": %llu}\n",
                    fc_domid(), requests_served, counter_value,
                    (unsigned long long)info.rx_frames, (unsigned long long)info.tx_frames,
                    (unsigned long long)info.rx_dropped,
                    (unsigned long long)info.rx_bad_checksum,
                    (unsigned long long)info.tcp_retransmits);
}

/* Answers one parsed request; returns 1 to keep the connection, 0 to close it. */
static int serve(int sock, const struct http_request *req)
{
    char body[384];
    int keep = req->keep_alive && !req->has_body;
    int head_only = strcmp(req->method, "HEAD") == 0;
    int rc;
    requests_served++;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        const char msg[] = "only GET and HEAD\n";
        respond(sock, 405, "text/plain", msg, sizeof(msg) - 1, 0, 0);
        return 0;
    }
    if (strcmp(req->path, "/") == 0 || strcmp(req->path, "/index.html") == 0) {
        rc = respond(sock, 200, "text/html", page, sizeof(page) - 1, keep, head_only);
    } else if (strcmp(req->path, "/counter") == 0) {
        int n = snprintf(body, sizeof(body), "%llu\n", head_only ? counter_value : ++counter_value);
        rc = respond(sock, 200, "text/plain", body, (size_t)n, keep, head_only);
    } else if (strcmp(req->path, "/stats") == 0) {
        int n = stats_body(body, sizeof(body));
        rc = respond(sock, 200, "application/json", body, (size_t)n, keep, head_only);
    } else {
        const char msg[] = "not found\n";
        rc = respond(sock, 404, "text/plain", msg, sizeof(msg) - 1, keep, head_only);
    }
    return rc == 0 && keep;
}

/* Answers every complete request received so far (pipelining); returns the bytes used, or -1
 * to close the connection. */
static long received(void *app, int sock, const char *data, size_t len, int full)
{
    (void)app, (void)full; /* a full buffer without a whole head gets -FC_E2BIG from the parser */
    size_t used = 0;
    for (;;) {
        struct http_request req;
        long head = http_parse_request(data + used, len - used, REQUEST_BUF, &req);
        if (head == 0)
            return (long)used;
        if (head < 0) {
            const char msg[] = "bad request\n";
            respond(sock, head == -FC_E2BIG ? 431 : 400, "text/plain", msg, sizeof(msg) - 1, 0, 0);
            return -1;
        }
        if (!serve(sock, &req))
            return -1;
        used += (size_t)head;
    }
}

int main(int argc, char **argv)
{
    unsigned long long port = 80, max_clients = 48;
    const struct fc_option options[] = {
        { "port", &port, 1, 65535 },
        { "max-clients", &max_clients, 1, FC_NET_MAX_SOCKETS - 2 },
    };
    if (fc_options_parse(argc, argv, options, sizeof(options) / sizeof(options[0])) != argc) {
        printf("usage: httpd [--port P] [--max-clients N]\n");
        return EXIT_USAGE;
    }
    int rc = fc_net_up();
    if (rc < 0) {
        printf("httpd: no network (error %d): give the app VM a vif and fc.ip=A.B.C.D/N\n", rc);
        return 1;
    }
    struct fc_net_info info;
    fc_net_info(&info);
    printf("httpd listening on %u.%u.%u.%u:%llu\n", info.ip >> 24, (info.ip >> 16) & 255,
           (info.ip >> 8) & 255, info.ip & 255, port);
    const struct fc_tcp_server_ops ops = { REQUEST_BUF, received };
    rc = fc_tcp_serve((uint16_t)port, max_clients, &ops, NULL);
    printf("httpd: cannot serve on port %llu (error %d)\n", port, rc);
    return 1;
}
