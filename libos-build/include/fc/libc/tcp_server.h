/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule libc: the accept, poll and receive loop of a small TCP server, so an app only
 * says what to do with the bytes a connection sent.
 */
#ifndef FC_LIBC_TCP_SERVER_H
#define FC_LIBC_TCP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct fc_tcp_server_ops {
    size_t buffer_size; /* input kept per connection until the app uses it */
    /* Handles what the connection has sent and the app has not used yet: returns how many
     * bytes it used (the rest waits for more), or < 0 to close the connection. full says the
     * buffer is full, so using nothing now means waiting forever: answer and close. */
    long (*received)(void *app, int sock, const char *data, size_t len, int full);
};

/* Listens on port and serves forever; returns only if it cannot start (-errno). A connection
 * beyond max_clients is reset rather than left to starve. */
int fc_tcp_serve(uint16_t port, size_t max_clients, const struct fc_tcp_server_ops *ops,
                 void *app);

/* Sends all of data within timeout_ms: 0, or -errno (-FC_EAGAIN: only part was queued in time). */
int fc_tcp_send_all(int sock, const void *data, size_t len, long timeout_ms);

#endif
