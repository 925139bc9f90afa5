/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule OS TCP/IP stack: internal state and helpers shared by the files in net/ (and by the
 * host tests, which run several stack instances in one process).
 *
 * All state of one stack lives in one struct fc_netstack, allocated from pages on the first
 * fc_netstack_attach(). The public entry points (netif.h, net.h) act on the current instance
 * net_cur; a test harness switches it with fc_netstack_select(). Per-connection buffers are
 * separate page allocations made when a connection starts and returned when it ends, so an
 * idle stack holds (and migrates) only its tables.
 *
 * Wire formats are handled as byte arrays with explicit big-endian accessors: no packed
 * structs, no unaligned or type-punned loads.
 */
#ifndef FC_NET_INTERNAL_H
#define FC_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <fc/api.h>
#include <fc/errno.h>
#include <fc/net.h>
#include <fc/netif.h>

/* ---- sizes and limits (everything is bounded) ---- */
#define NET_ARP_ENTRIES 16
#define NET_ARP_PENDING 4            /* frames waiting for an address resolution */
#define NET_ARP_TTL_NS (60ULL * NET_S)
#define NET_ARP_RETRY_NS (1ULL * NET_S)
#define NET_ARP_TRIES 3
#define NET_PCBS (2 * FC_NET_MAX_SOCKETS) /* TCP control blocks: sockets plus closing orphans */
#define NET_BACKLOG_MAX 32
#define NET_UDP_PAGES 2              /* 8 KiB receive queue per UDP socket */
#define NET_TCP_BUF_PAGES 4          /* 16 KiB each way per TCP connection */
#define NET_TCP_BUF (NET_TCP_BUF_PAGES * (uint32_t)FC_PAGE_SIZE)
#define NET_TCP_MSS 1460             /* what we accept: MTU - IP - TCP headers */
#define NET_TCP_DEFAULT_MSS 536      /* peer sent no MSS option */
#define NET_TCP_INIT_CWND (10 * NET_TCP_MSS) /* RFC 6928 */

#define NET_MS 1000000ULL
#define NET_S 1000000000ULL
#define NET_RTO_INIT (1 * NET_S)
#define NET_RTO_MIN (200 * NET_MS)
#define NET_RTO_MAX (8 * NET_S)
#define NET_TCP_RETRIES 12          /* backoff 0.2 s .. 8 s: ~50 s of silence before a reset */
#define NET_TCP_SYN_RETRIES 6
#define NET_TIME_WAIT_NS (1 * NET_S) /* short: a VM's ports are not shared with anyone */
#define NET_ORPHAN_FIN_WAIT_NS (15 * NET_S) /* closed by the app, our FIN acked, no FIN back */
#define NET_ORPHAN_LINGER_NS (60 * NET_S)  /* closed by the app: the rest is sent within this */
#define NET_OOW_ACK_GAP (500 * NET_MS) /* at most one ACK per this for out-of-window ACKs */
#define NET_DELACK_NS (20 * NET_MS)    /* a lone data segment is acknowledged within this */

#define NET_ETH_HLEN 14
#define NET_IP_HLEN 20
#define NET_TCP_HLEN 20
#define NET_UDP_HLEN 8
#define NET_ETH_ARP 0x0806
#define NET_ETH_IPV4 0x0800
#define NET_PROTO_ICMP 1
#define NET_PROTO_TCP 6
#define NET_PROTO_UDP 17

/* TCP header flags */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

enum tcp_state {
    TCP_CLOSED = 0, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT,
};

/* pcb flags */
#define PCB_USED 0x0001
#define PCB_ACKNOW 0x0002     /* send an ACK at the end of input processing */
#define PCB_FIN_QUEUED 0x0004 /* the app closed: FIN after the queued data */
#define PCB_FIN_SENT 0x0008   /* the FIN is in flight (cleared to resend it) */
#define PCB_FIN_SEQ 0x0010    /* fin_seq is valid (the FIN went out at least once) */
#define PCB_RCVD_FIN 0x0020   /* the peer's FIN was received in order */
#define PCB_ACCEPTQ 0x0040    /* a listener's child, established, not yet accepted */
#define PCB_RTT 0x0080        /* a round-trip time measurement is running */
#define PCB_RETRANSMITTED 0x0100
#define PCB_RECOVERY 0x0200   /* fast retransmit done; partial ACKs until snd_max is reached */

struct tcp_pcb {
    uint16_t flags;
    uint8_t state;
    uint8_t retries;
    int16_t sock;             /* owning socket number, -1 for children and orphans */
    int16_t parent;           /* listener pcb of a not yet accepted child, else -1 */
    uint16_t lport, rport;
    uint32_t rip;
    uint16_t backlog, nchildren; /* listeners */
    uint16_t mss;             /* largest segment we send */
    uint8_t dupacks;
    int err;                  /* pending error for the app (positive errno), 0 if none */
    uint32_t accept_order;
    /* send sequence space */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, fin_seq, recover;
    uint32_t cwnd, ssthresh;  /* congestion window (bytes) */
    /* receive sequence space */
    uint32_t irs, rcv_nxt;
    uint16_t last_wnd;        /* window in the last segment we sent */
    /* buffers: rx ring then tx ring, NET_TCP_BUF each; NULL when not connected */
    uint8_t *buf;
    uint32_t rx_head, rx_tail; /* free-running: app reads at tail, input writes at head */
    uint32_t tx_len;           /* bytes queued from snd_una's data on */
    uint32_t tx_start;         /* ring offset of the byte at snd_una */
    /* timers (absolute ns, 0 = off) */
    uint64_t rtx_at, misc_at;
    uint64_t rto, srtt, rttvar;
    uint64_t rtt_start;
    uint32_t rtt_seq;
    uint64_t oow_last;        /* when we last answered an unacceptable segment */
    uint64_t ack_at;          /* delayed ACK due (0 = none pending) */
    uint8_t unacked_segs;     /* in-order data segments not yet acknowledged */
};

#define SOCK_FREE 0
#define SOCK_TCP 1
#define SOCK_UDP 2

struct net_sock {
    uint8_t kind;
    int16_t pcb;             /* TCP */
    uint16_t port;           /* UDP local port */
    uint8_t *udp_ring;       /* UDP receive queue (NET_UDP_PAGES) */
    uint32_t udp_head, udp_tail;
};

struct net_arp_entry {
    uint32_t ip;              /* 0 = free */
    uint8_t mac[6];
    uint8_t valid;            /* mac is known */
    uint8_t tries;            /* requests sent for the current resolution */
    uint64_t expires;         /* valid: refresh after; pending: next request at */
};

struct net_pending {
    uint32_t nexthop;         /* 0 = slot free */
    uint16_t len;
    uint64_t queued_at;
    uint8_t frame[FC_ETH_FRAME_MAX];
};

struct fc_netstack {
    struct fc_netif *nif;
    struct fc_net_info info;  /* counters; address fields are refreshed from nif */
    uint64_t now;
    uint32_t rand_state;
    uint16_t ip_id;
    uint16_t next_port;
    uint32_t accept_counter;
    size_t npages;            /* size of this allocation */
    struct net_arp_entry arp[NET_ARP_ENTRIES];
    struct net_pending pending[NET_ARP_PENDING];
    struct tcp_pcb pcbs[NET_PCBS];
    struct net_sock socks[FC_NET_MAX_SOCKETS];
    uint8_t tx[FC_ETH_FRAME_MAX]; /* the frame being built */
};

extern struct fc_netstack *net_cur;

/* ---- for the host tests (and a kernel that wants a second NIC one day) ---- */
struct fc_netstack *fc_netstack_create(struct fc_netif *nif); /* does not select it */
void fc_netstack_select(struct fc_netstack *ns);
struct fc_netstack *fc_netstack_current(void);
void fc_netstack_destroy(struct fc_netstack *ns); /* frees every buffer and the state */
struct net_usage {
    unsigned pcbs, socks, arp, pending, pages;
};
void fc_netstack_usage(struct net_usage *out); /* of the current instance */

/* ---- byte helpers ---- */
static inline uint16_t net_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t net_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void net_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void net_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
void net_copy(void *dst, const void *src, size_t n);
void net_zero(void *dst, size_t n);
int net_mac_eq(const uint8_t *a, const uint8_t *b);

/* Internet checksum: accumulate 16-bit big-endian words, then fold and complement. */
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t net_csum_fold(uint32_t sum);
uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* sequence arithmetic (mod 2^32) */
static inline int seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline int seq_leq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline int seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}
static inline int seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

uint32_t net_random(struct fc_netstack *ns);
uint64_t net_now(struct fc_netstack *ns); /* refreshes ns->now from the environment */

/* ---- layers ---- */
/* The payload area of ns->tx for an IPv4 packet; ip_output sends ns->tx with len payload bytes. */
static inline uint8_t *net_ip_payload(struct fc_netstack *ns)
{
    return ns->tx + NET_ETH_HLEN + NET_IP_HLEN;
}
int net_ip_output(struct fc_netstack *ns, uint32_t dst, uint8_t proto, size_t len);
int net_is_local_broadcast(struct fc_netstack *ns, uint32_t ip);

void net_tcp_input(struct fc_netstack *ns, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);
void net_tcp_timers(struct fc_netstack *ns, uint64_t now);
uint64_t net_tcp_deadline(struct fc_netstack *ns);
void net_tcp_kick(struct fc_netstack *ns); /* after a migration: retransmit what is in flight now */
void net_udp_input(struct fc_netstack *ns, uint32_t src, uint32_t dst, const uint8_t *dgram, size_t len);

/* TCP services for the socket layer (tcp.c) */
struct tcp_pcb *net_pcb_alloc(struct fc_netstack *ns);
void net_pcb_free(struct fc_netstack *ns, struct tcp_pcb *pcb);
int net_pcb_index(struct fc_netstack *ns, const struct tcp_pcb *pcb);
int net_tcp_port_in_use(struct fc_netstack *ns, uint16_t port);
uint16_t net_ephemeral_port(struct fc_netstack *ns);
int net_tcp_connect(struct fc_netstack *ns, struct tcp_pcb *pcb, uint32_t ip, uint16_t port);
void net_tcp_output(struct fc_netstack *ns, struct tcp_pcb *pcb, int force_one);
void net_tcp_close(struct fc_netstack *ns, struct tcp_pcb *pcb);  /* app's orderly close */
void net_tcp_abort(struct fc_netstack *ns, struct tcp_pcb *pcb);  /* RST, then free */
uint32_t net_tcp_rx_used(const struct tcp_pcb *pcb);
uint32_t net_tcp_tx_free(const struct tcp_pcb *pcb);
size_t net_tcp_read(struct fc_netstack *ns, struct tcp_pcb *pcb, uint8_t *out, size_t len);
size_t net_tcp_write(struct fc_netstack *ns, struct tcp_pcb *pcb, const uint8_t *in, size_t len);

/* ring copies for power-of-two rings addressed by free-running counters */
void net_ring_put(uint8_t *ring, uint32_t size, uint32_t at, const uint8_t *src, uint32_t len);
void net_ring_get(const uint8_t *ring, uint32_t size, uint32_t at, uint8_t *dst, uint32_t len);

#endif
