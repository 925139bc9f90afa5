/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule OS networking: the socket-like API apps call (TCP, UDP, poll).
 *
 * Addresses and ports are in host byte order. Every call returning int/long reports
 * failure as a negative errno. Blocking calls take a timeout in milliseconds (< 0 waits
 * forever, 0 polls) and service events while they wait, so a live migration can happen
 * in the middle of any of them; connections survive it.
 *
 * The interface address comes from the kernel command line (see fc_net_up).
 */
#ifndef FC_NET_H
#define FC_NET_H

#include <stddef.h>
#include <stdint.h>

#define FC_NET_MAX_SOCKETS 64

/* Errno values of the network calls (Linux numbering, like <fc/errno.h>, which may define
 * some of them too). */
#ifndef FC_EBADF
#define FC_EBADF 9
#endif
#ifndef FC_EMFILE
#define FC_EMFILE 24
#endif
#ifndef FC_EPIPE
#define FC_EPIPE 32
#endif
#ifndef FC_EMSGSIZE
#define FC_EMSGSIZE 90
#endif
#ifndef FC_EADDRINUSE
#define FC_EADDRINUSE 98
#endif
#ifndef FC_ENETDOWN
#define FC_ENETDOWN 100
#endif
#ifndef FC_ENETUNREACH
#define FC_ENETUNREACH 101
#endif
#ifndef FC_ECONNRESET
#define FC_ECONNRESET 104
#endif
#ifndef FC_ENOTCONN
#define FC_ENOTCONN 107
#endif
#ifndef FC_ETIMEDOUT
#define FC_ETIMEDOUT 110
#endif
#ifndef FC_ECONNREFUSED
#define FC_ECONNREFUSED 111
#endif

struct fc_net_info {
    uint8_t mac[6];
    uint32_t ip;          /* 0 until configured */
    uint8_t prefix_len;
    uint32_t gateway;     /* 0 = none */
    /* counters since boot (kept across migration) */
    uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
    uint64_t rx_bad_checksum, rx_truncated, rx_out_of_window;
    uint64_t tcp_retransmits, tcp_resets_sent;
    /* also counted in rx_dropped: IPv4 fragments (not reassembled), in-window TCP segments
     * that are not next in sequence (dropped; the peer retransmits them) */
    uint64_t rx_fragments, tcp_out_of_order;
};

/* Brings up the first PV NIC with the address from the kernel options
 * "fc.ip=A.B.C.D/N [fc.gw=A.B.C.D]". -ENODEV without a vif, -EINVAL on a bad option. */
int fc_net_up(void);
int fc_net_info(struct fc_net_info *out);
/* "A.B.C.D" -> host-order address; -EINVAL if malformed. */
int fc_net_parse_ipv4(const char *text, uint32_t *out);

/* TCP. Errors: -EBADF (not a socket of that kind), -EMFILE (no free socket), -EADDRINUSE,
 * -ECONNREFUSED / -ETIMEDOUT (connect), -ECONNRESET (reset or retransmission limit), -EPIPE
 * (send after the peer's reset or our close), -ENETDOWN (no interface), -ENOMEM (no pages). */
int fc_tcp_listen(uint16_t port, int backlog);
int fc_tcp_accept(int listener, uint32_t *peer_ip, uint16_t *peer_port, long timeout_ms);
int fc_tcp_connect(uint32_t ip, uint16_t port, long timeout_ms);
/* bytes received; 0 = the peer closed; -EAGAIN on timeout; -ECONNRESET */
long fc_tcp_recv(int sock, void *buf, size_t len, long timeout_ms);
/* bytes queued (blocks while the send buffer is full, up to the timeout) */
long fc_tcp_send(int sock, const void *buf, size_t len, long timeout_ms);
int fc_tcp_close(int sock);   /* orderly release (FIN); the socket number is free at once */
int fc_tcp_abort(int sock);   /* reset (RST) */

/* UDP */
int fc_udp_bind(uint16_t port);   /* port 0 = an ephemeral port */
long fc_udp_sendto(int sock, const void *buf, size_t len, uint32_t ip, uint16_t port);
long fc_udp_recvfrom(int sock, void *buf, size_t len, uint32_t *ip, uint16_t *port, long timeout_ms);
int fc_udp_close(int sock);

/* poll(2)-like readiness over several sockets; returns how many have revents != 0. */
#define FC_POLLIN 0x1   /* data, a pending connection, or the peer's FIN */
#define FC_POLLOUT 0x4  /* send buffer has room */
#define FC_POLLHUP 0x10 /* reset or fully closed */
struct fc_pollfd {
    int sock;
    short events;
    short revents;
};
int fc_net_poll(struct fc_pollfd *fds, int nfds, long timeout_ms);

#endif
