/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <fc/errno.h>
#include <fc/net.h>
#include <fc/libc/tcp_server.h>

struct connection {
    int sock; /* -1: the slot is free */
    size_t used;
    char *buf;
};

int fc_tcp_send_all(int sock, const void *data, size_t len, long timeout_ms)
{
    /* fc_tcp_send itself waits for room until all is queued; less means it timed out */
    long n = fc_tcp_send(sock, data, len, timeout_ms);
    return n < 0 ? (int)n : (size_t)n == len ? 0 : -FC_EAGAIN;
}

/* Receives what arrived and lets the app use it; 0 when the connection should close. */
static int serve_one(struct connection *c, const struct fc_tcp_server_ops *ops, void *app)
{
    long n = fc_tcp_recv(c->sock, c->buf + c->used, ops->buffer_size - c->used, 0);
    if (n == -FC_EAGAIN)
        return 1;
    if (n <= 0)
        return 0; /* the peer closed, or reset */
    c->used += (size_t)n;
    long used = ops->received(app, c->sock, c->buf, c->used, c->used == ops->buffer_size);
    if (used < 0 || (used == 0 && c->used == ops->buffer_size))
        return 0;
    memmove(c->buf, c->buf + used, c->used - (size_t)used);
    c->used -= (size_t)used;
    return 1;
}

static void accept_one(int listener, struct connection *conns, size_t max_clients)
{
    int sock = fc_tcp_accept(listener, NULL, NULL, 0);
    if (sock < 0)
        return;
    for (size_t i = 0; i < max_clients; i++) {
        if (conns[i].sock < 0) {
            conns[i].sock = sock;
            conns[i].used = 0;
            return;
        }
    }
    fc_tcp_abort(sock);
}

int fc_tcp_serve(uint16_t port, size_t max_clients, const struct fc_tcp_server_ops *ops,
                 void *app)
{
    if (max_clients == 0 || max_clients > FC_NET_MAX_SOCKETS - 1 || ops->buffer_size == 0)
        return -FC_EINVAL;
    struct connection *conns = calloc(max_clients, sizeof(*conns));
    size_t *conn_of = malloc((max_clients + 1) * sizeof(*conn_of));
    struct fc_pollfd *fds = malloc((max_clients + 1) * sizeof(*fds));
    int ok = conns && conn_of && fds;
    for (size_t i = 0; ok && i < max_clients; i++) {
        conns[i].sock = -1;
        ok = (conns[i].buf = malloc(ops->buffer_size)) != NULL;
    }
    int listener = ok ? fc_tcp_listen(port, (int)max_clients) : -FC_ENOMEM;
    if (listener < 0) {
        for (size_t i = 0; conns && i < max_clients; i++)
            free(conns[i].buf);
        free(conns), free(conn_of), free(fds);
        return listener;
    }

    for (;;) {
        int nfds = 0;
        fds[nfds++] = (struct fc_pollfd){ .sock = listener, .events = FC_POLLIN };
        for (size_t i = 0; i < max_clients; i++) {
            if (conns[i].sock >= 0) {
                conn_of[nfds] = i;
                fds[nfds++] = (struct fc_pollfd){ .sock = conns[i].sock, .events = FC_POLLIN };
            }
        }
        if (fc_net_poll(fds, nfds, -1) <= 0)
            continue;
        for (int f = 1; f < nfds; f++) {
            struct connection *c = &conns[conn_of[f]];
            if (fds[f].revents && !serve_one(c, ops, app)) {
                fc_tcp_close(c->sock);
                c->sock = -1;
            }
        }
        if (fds[0].revents & FC_POLLIN)
            accept_one(listener, conns, max_clients);
    }
}
