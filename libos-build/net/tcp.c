/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule OS TCP (RFC 9293 state machine, RFC 6298 retransmission timer, RFC 5961
 * challenge ACKs for in-window RST/SYN).
 *
 * Simplifications, all of them safe for a server VM on a LAN:
 *   - in-window segments that are not next in sequence are dropped (counted) and ACKed at
 *     once: the duplicate ACKs make the peer retransmit them;
 *   - after a timeout we go back to the first unacknowledged byte and send one segment; as
 *     ACKs come back the rest of the window follows (no congestion window beyond that);
 *   - no window scaling, SACK or timestamps: buffers are 16 KiB.
 * The whole state is plain memory in struct fc_netstack and the per-connection pages, so a
 * suspended and migrated VM carries its connections along; the retry limit (~50 s of
 * silence) is far above the few seconds a migration takes.
 */
#include "net_internal.h"

#define OUT_FORCE 1 /* send at least one byte even into a zero window (probe, retransmission) */
#define OUT_ONE 2   /* at most one segment */

static uint8_t *rx_ring(struct tcp_pcb *pcb)
{
    return pcb->buf;
}
static uint8_t *tx_ring(struct tcp_pcb *pcb)
{
    return pcb->buf + NET_TCP_BUF;
}

uint32_t net_tcp_rx_used(const struct tcp_pcb *pcb)
{
    return pcb->rx_head - pcb->rx_tail;
}

uint32_t net_tcp_tx_free(const struct tcp_pcb *pcb)
{
    return pcb->buf ? NET_TCP_BUF - pcb->tx_len : 0;
}

static uint32_t rcv_window(const struct tcp_pcb *pcb)
{
    if (!pcb->buf)
        return 0;
    uint32_t free = NET_TCP_BUF - net_tcp_rx_used(pcb);
    return free > 0xffff ? 0xffff : free;
}

/* ---- control blocks ---- */

int net_pcb_index(struct fc_netstack *ns, const struct tcp_pcb *pcb)
{
    return (int)(pcb - ns->pcbs);
}

struct tcp_pcb *net_pcb_alloc(struct fc_netstack *ns)
{
    struct tcp_pcb *pcb = NULL, *oldest_tw = NULL;
    for (int i = 0; i < NET_PCBS; i++) {
        struct tcp_pcb *p = &ns->pcbs[i];
        if (!(p->flags & PCB_USED)) {
            pcb = p;
            break;
        }
        if (p->state == TCP_TIME_WAIT && (!oldest_tw || p->misc_at < oldest_tw->misc_at))
            oldest_tw = p;
    }
    if (!pcb && oldest_tw) { /* TIME_WAIT is a courtesy; a new connection matters more */
        net_pcb_free(ns, oldest_tw);
        pcb = oldest_tw;
    }
    if (!pcb)
        return NULL;
    net_zero(pcb, sizeof(*pcb));
    pcb->flags = PCB_USED;
    pcb->sock = -1;
    pcb->parent = -1;
    pcb->rto = NET_RTO_INIT;
    pcb->mss = NET_TCP_DEFAULT_MSS;
    pcb->cwnd = NET_TCP_INIT_CWND;
    pcb->ssthresh = 0xffffffffu;
    return pcb;
}

static void free_buffers(struct tcp_pcb *pcb)
{
    if (pcb->buf)
        fc_pages_free(pcb->buf, 2 * NET_TCP_BUF_PAGES);
    pcb->buf = NULL;
    pcb->rx_head = pcb->rx_tail = 0;
    pcb->tx_len = 0;
}

void net_pcb_free(struct fc_netstack *ns, struct tcp_pcb *pcb)
{
    free_buffers(pcb);
    if (pcb->parent >= 0 && pcb->parent < NET_PCBS) {
        struct tcp_pcb *l = &ns->pcbs[pcb->parent];
        if (l->nchildren)
            l->nchildren--;
    }
    net_zero(pcb, sizeof(*pcb));
    pcb->sock = -1;
    pcb->parent = -1;
}

int net_tcp_port_in_use(struct fc_netstack *ns, uint16_t port)
{
    for (int i = 0; i < NET_PCBS; i++)
        if ((ns->pcbs[i].flags & PCB_USED) && ns->pcbs[i].lport == port)
            return 1;
    return 0;
}

uint16_t net_ephemeral_port(struct fc_netstack *ns)
{
    for (int tries = 0; tries < 16384; tries++) {
        uint16_t p = ns->next_port;
        ns->next_port = p >= 65535 ? 49152 : (uint16_t)(p + 1);
        if (p < 49152)
            continue;
        if (!net_tcp_port_in_use(ns, p)) {
            int udp = 0;
            for (int i = 0; i < FC_NET_MAX_SOCKETS; i++)
                if (ns->socks[i].kind == SOCK_UDP && ns->socks[i].port == p)
                    udp = 1;
            if (!udp)
                return p;
        }
    }
    return 0;
}

/* ---- segment output ---- */

static void send_raw(struct fc_netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport, uint32_t seq,
                     uint32_t ack, uint8_t flags, uint16_t wnd, uint16_t mss_opt, const struct tcp_pcb *data_pcb,
                     uint32_t data_off, uint32_t dlen)
{
    uint8_t *t = net_ip_payload(ns);
    size_t hlen = NET_TCP_HLEN + (mss_opt ? 4 : 0);
    net_put16(t, lport);
    net_put16(t + 2, rport);
    net_put32(t + 4, seq);
    net_put32(t + 8, ack);
    t[12] = (uint8_t)((hlen / 4) << 4);
    t[13] = flags;
    net_put16(t + 14, wnd);
    net_put16(t + 16, 0);
    net_put16(t + 18, 0);
    if (mss_opt) {
        t[20] = 2;
        t[21] = 4;
        net_put16(t + 22, mss_opt);
    }
    if (dlen)
        net_ring_get(data_pcb->buf + NET_TCP_BUF, NET_TCP_BUF, data_off, t + hlen, dlen);
    size_t len = hlen + dlen;
    uint32_t sum = net_pseudo_sum(ns->nif->ip, rip, NET_PROTO_TCP, (uint16_t)len);
    net_put16(t + 16, net_csum_fold(net_csum_add(sum, t, len)));
    if (flags & TCP_RST)
        ns->info.tcp_resets_sent++;
    net_ip_output(ns, rip, NET_PROTO_TCP, len);
}

/* One segment of pcb: seq, flags, and dlen data bytes starting at seq. */
static void send_seg(struct fc_netstack *ns, struct tcp_pcb *pcb, uint32_t seq, uint8_t flags, uint32_t dlen)
{
    uint16_t wnd = (uint16_t)rcv_window(pcb);
    uint32_t off = pcb->tx_start + (seq - pcb->snd_una);
    send_raw(ns, pcb->rip, pcb->lport, pcb->rport, seq, (flags & TCP_ACK) ? pcb->rcv_nxt : 0, flags, wnd,
             (flags & TCP_SYN) ? NET_TCP_MSS : 0, pcb, off, dlen);
    pcb->last_wnd = wnd;
    if (flags & TCP_ACK) {
        pcb->flags &= ~PCB_ACKNOW;
        pcb->ack_at = 0;
        pcb->unacked_segs = 0;
    }
}

static void arm_rtx(struct fc_netstack *ns, struct tcp_pcb *pcb)
{
    if (!pcb->rtx_at)
        pcb->rtx_at = ns->now + pcb->rto;
}

static void sent_up_to(struct tcp_pcb *pcb, uint32_t nxt)
{
    pcb->snd_nxt = nxt;
    if (seq_gt(nxt, pcb->snd_max))
        pcb->snd_max = nxt;
}

static int can_send_data(uint8_t state)
{
    return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT || state == TCP_FIN_WAIT_1 ||
           state == TCP_CLOSING || state == TCP_LAST_ACK;
}

void net_tcp_output(struct fc_netstack *ns, struct tcp_pcb *pcb, int mode)
{
    if (pcb->state == TCP_SYN_SENT || pcb->state == TCP_SYN_RCVD) {
        if (pcb->snd_nxt == pcb->iss) {
            uint8_t flags = pcb->state == TCP_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
            send_seg(ns, pcb, pcb->iss, flags, 0);
            sent_up_to(pcb, pcb->iss + 1);
            arm_rtx(ns, pcb);
        } else if (pcb->state == TCP_SYN_RCVD && (pcb->flags & PCB_ACKNOW)) {
            send_seg(ns, pcb, pcb->snd_max, TCP_ACK, 0);
        }
        return;
    }
    if (can_send_data(pcb->state) && pcb->buf) {
        for (;;) {
            if (pcb->flags & PCB_FIN_SENT)
                break;
            uint32_t queued_off = pcb->snd_nxt - pcb->snd_una;
            uint32_t unsent = pcb->tx_len > queued_off ? pcb->tx_len - queued_off : 0;
            uint32_t wnd = pcb->snd_wnd < pcb->cwnd ? pcb->snd_wnd : pcb->cwnd;
            int32_t room = (int32_t)(pcb->snd_una + wnd - pcb->snd_nxt);
            uint32_t n = unsent < pcb->mss ? unsent : pcb->mss;
            if (room <= 0) {
                n = (mode & OUT_FORCE) && n ? 1 : 0;
            } else if (n > (uint32_t)room) {
                n = (uint32_t)room;
            }
            if (n) {
                uint8_t flags = TCP_ACK | (n == unsent ? TCP_PSH : 0);
                send_seg(ns, pcb, pcb->snd_nxt, flags, n);
                if (!(pcb->flags & PCB_RTT) && pcb->snd_nxt == pcb->snd_max) {
                    pcb->flags |= PCB_RTT;
                    pcb->rtt_seq = pcb->snd_nxt;
                    pcb->rtt_start = ns->now;
                }
                sent_up_to(pcb, pcb->snd_nxt + n);
                arm_rtx(ns, pcb);
                mode &= ~OUT_FORCE;
                if (mode & OUT_ONE)
                    break;
                continue;
            }
            if (!unsent && (pcb->flags & PCB_FIN_QUEUED)) {
                if (!(pcb->flags & PCB_FIN_SEQ)) {
                    pcb->fin_seq = pcb->snd_nxt;
                    pcb->flags |= PCB_FIN_SEQ;
                }
                send_seg(ns, pcb, pcb->snd_nxt, TCP_FIN | TCP_ACK, 0);
                pcb->flags |= PCB_FIN_SENT;
                sent_up_to(pcb, pcb->fin_seq + 1);
                arm_rtx(ns, pcb);
                if (pcb->state == TCP_ESTABLISHED)
                    pcb->state = TCP_FIN_WAIT_1;
                else if (pcb->state == TCP_CLOSE_WAIT)
                    pcb->state = TCP_LAST_ACK;
            }
            if (unsent && pcb->snd_wnd == 0 && pcb->snd_max == pcb->snd_una)
                arm_rtx(ns, pcb); /* persist: probe the zero window when the timer fires */
            break;
        }
    }
    if (pcb->flags & PCB_ACKNOW)
        send_seg(ns, pcb, pcb->snd_max, TCP_ACK, 0);
}

/* ---- state changes ---- */

static void enter_time_wait(struct fc_netstack *ns, struct tcp_pcb *pcb)
{
    pcb->state = TCP_TIME_WAIT;
    free_buffers(pcb);
    pcb->rtx_at = pcb->ack_at = 0;
    pcb->misc_at = ns->now + NET_TIME_WAIT_NS;
}

/* The connection is gone (reset, refused, timed out). An owned socket keeps the pcb in
 * CLOSED with the error until the app closes it; anything else is freed. */
static void conn_fail(struct fc_netstack *ns, struct tcp_pcb *pcb, int err)
{
    if (pcb->sock < 0) {
        net_pcb_free(ns, pcb);
        return;
    }
    free_buffers(pcb);
    pcb->state = TCP_CLOSED;
    pcb->flags &= ~PCB_ACKNOW;
    pcb->ack_at = 0;
    pcb->err = err;
    pcb->rtx_at = pcb->misc_at = 0;
}

/* The peer takes an RST only at exactly its rcv_nxt (RFC 5961), which is somewhere from our
 * snd_una to snd_max: send both ends; for anything in between it answers with a challenge
 * ACK, and our RST to that (the connection is gone by then) carries its exact number. */
static void send_rst_for(struct fc_netstack *ns, struct tcp_pcb *pcb)
{
    send_raw(ns, pcb->rip, pcb->lport, pcb->rport, pcb->snd_max, pcb->rcv_nxt, TCP_RST | TCP_ACK, 0, 0, NULL,
             0, 0);
    if (pcb->snd_una != pcb->snd_max && pcb->state != TCP_SYN_RCVD)
        send_raw(ns, pcb->rip, pcb->lport, pcb->rport, pcb->snd_una, pcb->rcv_nxt, TCP_RST | TCP_ACK, 0, 0,
                 NULL, 0, 0);
}

void net_tcp_abort(struct fc_netstack *ns, struct tcp_pcb *pcb)
{
    if (pcb->state == TCP_LISTEN) {
        int idx = net_pcb_index(ns, pcb);
        for (int i = 0; i < NET_PCBS; i++) {
            struct tcp_pcb *c = &ns->pcbs[i];
            if ((c->flags & PCB_USED) && c->parent == idx)
                net_tcp_abort(ns, c);
        }
    } else if (pcb->state != TCP_CLOSED && pcb->state != TCP_SYN_SENT && pcb->state != TCP_TIME_WAIT) {
        send_rst_for(ns, pcb);
    }
    net_pcb_free(ns, pcb);
}

void net_tcp_close(struct fc_netstack *ns, struct tcp_pcb *pcb)
{
    switch (pcb->state) {
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
    case TCP_SYN_RCVD:
        pcb->sock = -1;
        pcb->parent = -1;
        pcb->rx_tail = pcb->rx_head; /* unread data is dropped; later data is discarded */
        pcb->flags |= PCB_FIN_QUEUED;
        pcb->misc_at = ns->now + NET_ORPHAN_LINGER_NS;
        net_tcp_output(ns, pcb, 0);
        break;
    case TCP_LISTEN:
        net_tcp_abort(ns, pcb);
        break;
    default: /* not connected yet, or already failed */
        net_pcb_free(ns, pcb);
    }
}

int net_tcp_connect(struct fc_netstack *ns, struct tcp_pcb *pcb, uint32_t ip, uint16_t port)
{
    uint16_t lport = net_ephemeral_port(ns);
    if (!lport)
        return -FC_EADDRINUSE;
    pcb->buf = fc_pages_alloc(2 * NET_TCP_BUF_PAGES);
    if (!pcb->buf)
        return -FC_ENOMEM;
    pcb->lport = lport;
    pcb->rip = ip;
    pcb->rport = port;
    pcb->iss = net_random(ns) + (uint32_t)(ns->now >> 12);
    pcb->snd_una = pcb->snd_nxt = pcb->snd_max = pcb->iss;
    pcb->state = TCP_SYN_SENT;
    net_tcp_output(ns, pcb, 0);
    return 0;
}

/* ---- timers ---- */

static void rtt_sample(struct tcp_pcb *pcb, uint64_t r)
{
    if (!r)
        r = 1;
    if (!pcb->srtt) {
        pcb->srtt = r;
        pcb->rttvar = r / 2;
    } else {
        uint64_t delta = pcb->srtt > r ? pcb->srtt - r : r - pcb->srtt;
        pcb->rttvar = (3 * pcb->rttvar + delta) / 4;
        pcb->srtt = (7 * pcb->srtt + r) / 8;
    }
}

static void rto_from_srtt(struct tcp_pcb *pcb)
{
    if (!pcb->srtt)
        return;
    uint64_t var = 4 * pcb->rttvar;
    if (var < NET_MS)
        var = NET_MS; /* clock granularity G */
    uint64_t rto = pcb->srtt + var;
    pcb->rto = rto < NET_RTO_MIN ? NET_RTO_MIN : rto > NET_RTO_MAX ? NET_RTO_MAX : rto;
}

static void backoff(struct tcp_pcb *pcb)
{
    pcb->rto = pcb->rto * 2 > NET_RTO_MAX ? NET_RTO_MAX : pcb->rto * 2;
}

static uint32_t half_flight(const struct tcp_pcb *pcb)
{
    uint32_t half = (pcb->snd_max - pcb->snd_una) / 2;
    return half > 2u * pcb->mss ? half : 2u * pcb->mss;
}

/* Start over from the first unacknowledged byte (or the SYN). */
static void go_back(struct tcp_pcb *pcb)
{
    pcb->snd_nxt = pcb->snd_una;
    pcb->flags &= ~(PCB_FIN_SENT | PCB_RTT);
}

static void rto_expired(struct fc_netstack *ns, struct tcp_pcb *pcb)
{
    pcb->rtx_at = 0;
    if (pcb->state == TCP_SYN_SENT || pcb->state == TCP_SYN_RCVD) {
        if (pcb->retries >= NET_TCP_SYN_RETRIES) {
            conn_fail(ns, pcb, FC_ETIMEDOUT);
            return;
        }
        pcb->retries++;
        ns->info.tcp_retransmits++;
        pcb->flags |= PCB_RETRANSMITTED;
        backoff(pcb);
        pcb->snd_nxt = pcb->iss;
        net_tcp_output(ns, pcb, 0);
        return;
    }
    if (!can_send_data(pcb->state) || !pcb->buf)
        return;
    if (pcb->snd_max == pcb->snd_una) {
        /* nothing in flight: the persist timer for a zero window */
        if (pcb->tx_len && pcb->snd_wnd == 0) {
            backoff(pcb);
            net_tcp_output(ns, pcb, OUT_FORCE | OUT_ONE);
            arm_rtx(ns, pcb);
        }
        return;
    }
    if (pcb->retries >= NET_TCP_RETRIES) {
        send_rst_for(ns, pcb);
        conn_fail(ns, pcb, FC_ECONNRESET);
        return;
    }
    pcb->retries++;
    ns->info.tcp_retransmits++;
    pcb->flags |= PCB_RETRANSMITTED;
    pcb->flags &= ~PCB_RECOVERY;
    pcb->ssthresh = half_flight(pcb);
    pcb->cwnd = pcb->mss; /* after a timeout: one segment, then slow start */
    backoff(pcb);
    go_back(pcb);
    net_tcp_output(ns, pcb, OUT_FORCE | OUT_ONE);
    arm_rtx(ns, pcb);
}

void net_tcp_timers(struct fc_netstack *ns, uint64_t now)
{
    for (int i = 0; i < NET_PCBS; i++) {
        struct tcp_pcb *pcb = &ns->pcbs[i];
        if (!(pcb->flags & PCB_USED))
            continue;
        if (pcb->misc_at && now >= pcb->misc_at) {
            /* TIME_WAIT is over, or an orphan (closed by the app) did not finish in time:
             * a peer that never reads or never sends its FIN does not hold a block forever */
            if (pcb->state != TCP_TIME_WAIT)
                send_rst_for(ns, pcb);
            net_pcb_free(ns, pcb);
            continue;
        }
        if (pcb->rtx_at && now >= pcb->rtx_at)
            rto_expired(ns, pcb);
        if ((pcb->flags & PCB_USED) && pcb->ack_at && now >= pcb->ack_at) {
            pcb->flags |= PCB_ACKNOW;
            net_tcp_output(ns, pcb, 0);
        }
    }
}

uint64_t net_tcp_deadline(struct fc_netstack *ns)
{
    uint64_t d = ~0ULL;
    for (int i = 0; i < NET_PCBS; i++) {
        const struct tcp_pcb *pcb = &ns->pcbs[i];
        if (!(pcb->flags & PCB_USED))
            continue;
        if (pcb->rtx_at && pcb->rtx_at < d)
            d = pcb->rtx_at;
        if (pcb->misc_at && pcb->misc_at < d)
            d = pcb->misc_at;
        if (pcb->ack_at && pcb->ack_at < d)
            d = pcb->ack_at;
    }
    return d;
}

void net_tcp_kick(struct fc_netstack *ns)
{
    for (int i = 0; i < NET_PCBS; i++) {
        struct tcp_pcb *pcb = &ns->pcbs[i];
        if (!(pcb->flags & PCB_USED))
            continue;
        if (pcb->state == TCP_SYN_SENT || pcb->state == TCP_SYN_RCVD) {
            pcb->snd_nxt = pcb->iss;
            net_tcp_output(ns, pcb, 0);
            continue;
        }
        if (!can_send_data(pcb->state) && pcb->state != TCP_FIN_WAIT_2)
            continue;
        if (pcb->snd_max != pcb->snd_una) {
            go_back(pcb);
            net_tcp_output(ns, pcb, OUT_FORCE | OUT_ONE);
            pcb->rtx_at = ns->now + pcb->rto;
        }
        /* duplicate ACKs: a peer whose data to us was lost during the suspension retransmits
         * it now (fast retransmit) rather than when its backed-off timer fires. Four: the
         * first may still acknowledge new data or change the window, which a peer does not
         * count as a duplicate. */
        for (int k = 0; k < 4; k++)
            send_seg(ns, pcb, pcb->snd_max, TCP_ACK, 0);
    }
}

/* ---- input ---- */

static void reply_rst(struct fc_netstack *ns, uint32_t src, uint16_t sport, uint16_t dport, uint32_t seq,
                      uint32_t ack, uint8_t flags, uint32_t seglen)
{
    if (flags & TCP_RST)
        return;
    if (flags & TCP_ACK)
        send_raw(ns, src, dport, sport, ack, 0, TCP_RST, 0, 0, NULL, 0, 0);
    else
        send_raw(ns, src, dport, sport, 0, seq + seglen, TCP_RST | TCP_ACK, 0, 0, NULL, 0, 0);
}

static uint16_t parse_mss(const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
            break;
        if (kind == 2 && opt[i + 1] == 4)
            return net_get16(opt + i + 2);
        i += opt[i + 1];
    }
    return 0;
}

static void set_mss(struct tcp_pcb *pcb, uint16_t peer)
{
    uint16_t m = peer ? peer : NET_TCP_DEFAULT_MSS;
    if (m > NET_TCP_MSS)
        m = NET_TCP_MSS;
    if (m < 64)
        m = 64;
    pcb->mss = m;
}

struct seg {
    uint32_t src;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd, mss;
    const uint8_t *data;
    uint32_t dlen;
};

static void listen_input(struct fc_netstack *ns, struct tcp_pcb *l, const struct seg *s)
{
    if (s->flags & TCP_RST)
        return;
    if (s->flags & TCP_ACK) {
        reply_rst(ns, s->src, s->sport, s->dport, s->seq, s->ack, s->flags, 0);
        return;
    }
    if (!(s->flags & TCP_SYN)) {
        ns->info.rx_dropped++;
        return;
    }
    struct tcp_pcb *c = NULL;
    if (l->nchildren < l->backlog)
        c = net_pcb_alloc(ns);
    if (c) {
        c->buf = fc_pages_alloc(2 * NET_TCP_BUF_PAGES);
        if (!c->buf) {
            net_pcb_free(ns, c);
            c = NULL;
        }
    }
    if (!c) { /* backlog full or out of memory: the peer retries its SYN */
        ns->info.rx_dropped++;
        return;
    }
    c->state = TCP_SYN_RCVD;
    c->parent = (int16_t)net_pcb_index(ns, l);
    l->nchildren++;
    c->lport = l->lport;
    c->rip = s->src;
    c->rport = s->sport;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    set_mss(c, s->mss);
    c->iss = net_random(ns) + (uint32_t)(ns->now >> 12);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_wnd = s->wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = c->iss;
    net_tcp_output(ns, c, 0);
}

static void syn_sent_input(struct fc_netstack *ns, struct tcp_pcb *pcb, const struct seg *s)
{
    if (s->flags & TCP_ACK) {
        if (seq_leq(s->ack, pcb->iss) || seq_gt(s->ack, pcb->snd_max)) {
            ns->info.rx_out_of_window++;
            reply_rst(ns, s->src, s->sport, s->dport, s->seq, s->ack, s->flags, 0);
            return;
        }
    }
    if (s->flags & TCP_RST) {
        if (s->flags & TCP_ACK)
            conn_fail(ns, pcb, FC_ECONNREFUSED);
        return;
    }
    if (!(s->flags & TCP_SYN))
        return;
    pcb->irs = s->seq;
    pcb->rcv_nxt = s->seq + 1;
    set_mss(pcb, s->mss);
    pcb->snd_wnd = s->wnd;
    pcb->snd_wl1 = s->seq;
    pcb->snd_wl2 = s->ack;
    pcb->flags |= PCB_ACKNOW;
    if (s->flags & TCP_ACK) {
        if (!(pcb->flags & PCB_RETRANSMITTED)) {
            rtt_sample(pcb, ns->now - (pcb->rtx_at - pcb->rto));
            rto_from_srtt(pcb);
        } else {
            pcb->rto = NET_RTO_INIT;
        }
        pcb->flags &= ~PCB_RETRANSMITTED;
        pcb->snd_una = pcb->snd_nxt = pcb->snd_max = pcb->iss + 1;
        pcb->state = TCP_ESTABLISHED;
        pcb->retries = 0;
        pcb->rtx_at = 0;
    } else { /* simultaneous open */
        pcb->state = TCP_SYN_RCVD;
        pcb->snd_nxt = pcb->iss;
        pcb->rtx_at = 0;
    }
}

static int seg_acceptable(const struct tcp_pcb *pcb, const struct seg *s, uint32_t seglen)
{
    uint32_t wnd = rcv_window(pcb);
    uint32_t nxt = pcb->rcv_nxt;
    if (seglen == 0) {
        if (wnd == 0)
            return s->seq == nxt;
        return seq_leq(nxt, s->seq) && seq_lt(s->seq, nxt + wnd);
    }
    if (wnd == 0)
        return 0;
    uint32_t last = s->seq + seglen - 1;
    return (seq_leq(nxt, s->seq) && seq_lt(s->seq, nxt + wnd)) || (seq_leq(nxt, last) && seq_lt(last, nxt + wnd));
}

/* The ACK that answers an unacceptable segment. For one without data it is sent at most once
 * per NET_OOW_ACK_GAP per connection: two ends that disagree about the sequence space (or a
 * forger) would otherwise keep answering each other's ACKs forever. */
static void oow_ack(struct fc_netstack *ns, struct tcp_pcb *pcb, uint32_t seglen)
{
    if (!seglen && pcb->oow_last && ns->now - pcb->oow_last < NET_OOW_ACK_GAP)
        return;
    pcb->oow_last = ns->now;
    pcb->flags |= PCB_ACKNOW;
}

/* Returns 0 if pcb was freed. */
static int established_input(struct fc_netstack *ns, struct tcp_pcb *pcb, const struct seg *s)
{
    uint32_t seglen = s->dlen + ((s->flags & TCP_SYN) ? 1 : 0) + ((s->flags & TCP_FIN) ? 1 : 0);

    if (pcb->state == TCP_SYN_RCVD && (s->flags & TCP_SYN) && !(s->flags & TCP_ACK) && s->seq == pcb->irs) {
        pcb->snd_nxt = pcb->iss; /* our SYN-ACK was lost: send it again */
        net_tcp_output(ns, pcb, 0);
        return 1;
    }
    if (!seg_acceptable(pcb, s, seglen)) {
        ns->info.rx_out_of_window++;
        ns->info.rx_dropped++;
        if (!(s->flags & TCP_RST))
            oow_ack(ns, pcb, seglen);
        if (pcb->state == TCP_TIME_WAIT && (s->flags & TCP_FIN))
            pcb->misc_at = ns->now + NET_TIME_WAIT_NS; /* the peer missed our last ACK */
        return 1;
    }
    if (s->flags & TCP_RST) {
        if (s->seq != pcb->rcv_nxt) {
            oow_ack(ns, pcb, 0); /* challenge ACK (RFC 5961) */
            return 1;
        }
        if (pcb->parent >= 0 || pcb->state == TCP_TIME_WAIT || pcb->state == TCP_LAST_ACK) {
            net_pcb_free(ns, pcb);
            return 0;
        }
        conn_fail(ns, pcb, FC_ECONNRESET);
        return pcb->flags & PCB_USED ? 1 : 0;
    }
    if (s->flags & TCP_SYN) {
        oow_ack(ns, pcb, 0); /* challenge ACK */
        return 1;
    }
    if (!(s->flags & TCP_ACK))
        return 1;

    /* ---- the acknowledgment ---- */
    if (pcb->state == TCP_SYN_RCVD) {
        if (seq_leq(s->ack, pcb->snd_una) || seq_gt(s->ack, pcb->snd_max)) {
            reply_rst(ns, s->src, s->sport, s->dport, s->seq, s->ack, s->flags, seglen);
            return 1;
        }
        pcb->state = TCP_ESTABLISHED;
        pcb->snd_una = pcb->iss + 1;
        if (seq_lt(pcb->snd_nxt, pcb->snd_una))
            pcb->snd_nxt = pcb->snd_una;
        if (!(pcb->flags & PCB_RETRANSMITTED) && pcb->rtx_at) {
            rtt_sample(pcb, ns->now - (pcb->rtx_at - pcb->rto));
            rto_from_srtt(pcb);
        } else {
            pcb->rto = NET_RTO_INIT;
        }
        pcb->flags &= ~PCB_RETRANSMITTED;
        pcb->retries = 0;
        pcb->rtx_at = 0;
        pcb->snd_wnd = s->wnd;
        pcb->snd_wl1 = s->seq;
        pcb->snd_wl2 = s->ack;
        if (pcb->parent >= 0) {
            pcb->flags |= PCB_ACCEPTQ;
            pcb->accept_order = ns->accept_counter++;
        }
    }
    if (seq_gt(s->ack, pcb->snd_max)) {
        ns->info.rx_out_of_window++;
        ns->info.rx_dropped++;
        oow_ack(ns, pcb, seglen);
        return 1;
    }
    int fin_acked = 0;
    if (seq_gt(s->ack, pcb->snd_una)) {
        uint32_t acked = s->ack - pcb->snd_una;
        if ((pcb->flags & PCB_FIN_SEQ) && seq_gt(s->ack, pcb->fin_seq)) {
            fin_acked = 1;
            acked--;
        }
        if (acked > pcb->tx_len)
            acked = pcb->tx_len;
        pcb->tx_start += acked;
        pcb->tx_len -= acked;
        /* congestion window (RFC 5681): slow start, then about one segment per round trip */
        if (pcb->cwnd < pcb->ssthresh)
            pcb->cwnd += acked < pcb->mss ? acked : pcb->mss;
        else
            pcb->cwnd += (uint32_t)pcb->mss * pcb->mss / pcb->cwnd + 1;
        if (pcb->cwnd > 4 * NET_TCP_BUF)
            pcb->cwnd = 4 * NET_TCP_BUF;
        pcb->snd_una = s->ack;
        if (seq_lt(pcb->snd_nxt, pcb->snd_una))
            pcb->snd_nxt = pcb->snd_una;
        if ((pcb->flags & PCB_RTT) && seq_gt(s->ack, pcb->rtt_seq)) {
            pcb->flags &= ~PCB_RTT;
            if (!(pcb->flags & PCB_RETRANSMITTED))
                rtt_sample(pcb, ns->now - pcb->rtt_start);
        }
        pcb->flags &= ~PCB_RETRANSMITTED;
        rto_from_srtt(pcb);
        pcb->retries = 0;
        pcb->dupacks = 0;
        if (pcb->flags & PCB_RECOVERY) {
            /* a partial ACK after a fast retransmit: the next hole follows at once. Our own
             * receiver keeps no out-of-order data, so resend the rest of the window too. */
            if (seq_geq(s->ack, pcb->recover))
                pcb->flags &= ~PCB_RECOVERY;
            else
                go_back(pcb);
        }
        pcb->rtx_at = pcb->snd_una == pcb->snd_max ? 0 : ns->now + pcb->rto;
    } else if (s->ack == pcb->snd_una && s->dlen == 0 && !(s->flags & TCP_FIN) && s->wnd == pcb->snd_wnd &&
               pcb->snd_max != pcb->snd_una) {
        if (pcb->dupacks < 2 && !(pcb->flags & PCB_RECOVERY))
            pcb->cwnd += pcb->mss; /* limited transmit (RFC 3042): new data makes more dupacks */
        if (++pcb->dupacks == 3 && !(pcb->flags & PCB_RECOVERY)) {
            /* fast retransmit of the first unacknowledged segment */
            pcb->flags |= PCB_RECOVERY;
            pcb->recover = pcb->snd_max;
            pcb->ssthresh = half_flight(pcb);
            pcb->cwnd = pcb->ssthresh;
            uint32_t saved_nxt = pcb->snd_nxt;
            uint16_t saved_fin = pcb->flags & PCB_FIN_SENT;
            go_back(pcb);
            ns->info.tcp_retransmits++;
            net_tcp_output(ns, pcb, OUT_FORCE | OUT_ONE);
            if (seq_gt(saved_nxt, pcb->snd_nxt)) {
                pcb->snd_nxt = saved_nxt;
                pcb->flags |= saved_fin;
            }
        }
    }
    if (seq_lt(pcb->snd_wl1, s->seq) || (pcb->snd_wl1 == s->seq && seq_leq(pcb->snd_wl2, s->ack))) {
        pcb->snd_wnd = s->wnd;
        pcb->snd_wl1 = s->seq;
        pcb->snd_wl2 = s->ack;
    }
    if (pcb->snd_wnd == 0 && s->ack == pcb->snd_una)
        pcb->retries = 0; /* the peer answers our probes: it is alive, just not reading */

    if (fin_acked) {
        switch (pcb->state) {
        case TCP_FIN_WAIT_1:
            pcb->state = TCP_FIN_WAIT_2;
            pcb->rtx_at = 0;
            if (pcb->sock < 0)
                pcb->misc_at = ns->now + NET_ORPHAN_FIN_WAIT_NS;
            break;
        case TCP_CLOSING:
            enter_time_wait(ns, pcb);
            break;
        case TCP_LAST_ACK:
            net_pcb_free(ns, pcb);
            return 0;
        default:
            break;
        }
    }

    /* ---- the data and the FIN ---- */
    const uint8_t *data = s->data;
    uint32_t dlen = s->dlen, seq = s->seq;
    int fin = (s->flags & TCP_FIN) != 0;
    if (pcb->state == TCP_TIME_WAIT) {
        if (fin) {
            pcb->flags |= PCB_ACKNOW;
            pcb->misc_at = ns->now + NET_TIME_WAIT_NS;
        }
        return 1;
    }
    if (!dlen && !fin)
        return 1;
    if (seq_lt(seq, pcb->rcv_nxt)) { /* starts with bytes we already have */
        uint32_t skip = pcb->rcv_nxt - seq;
        if (skip > dlen)
            skip = dlen;
        data += skip;
        dlen -= skip;
        seq += skip;
    }
    if (seq != pcb->rcv_nxt) {
        ns->info.tcp_out_of_order++;
        ns->info.rx_dropped++;
        pcb->flags |= PCB_ACKNOW;
        return 1;
    }
    if (pcb->flags & PCB_RCVD_FIN)
        return 1; /* nothing can follow the FIN */
    uint32_t room = rcv_window(pcb);
    if (dlen > room) {
        dlen = room;
        fin = 0;
    }
    if (dlen && (pcb->state == TCP_ESTABLISHED || pcb->state == TCP_FIN_WAIT_1 || pcb->state == TCP_FIN_WAIT_2)) {
        if (pcb->sock >= 0 || pcb->parent >= 0) {
            net_ring_put(rx_ring(pcb), NET_TCP_BUF, pcb->rx_head, data, dlen);
            pcb->rx_head += dlen;
        } /* else: an orphan discards, but acknowledges */
        pcb->rcv_nxt += dlen;
        /* delayed ACK (RFC 1122): every second segment at once; a lone one waits a little
         * so that the app's answer carries it */
        if (++pcb->unacked_segs >= 2)
            pcb->flags |= PCB_ACKNOW;
        else if (!pcb->ack_at)
            pcb->ack_at = ns->now + NET_DELACK_NS;
    } else if (dlen) {
        return 1;
    }
    if (fin) {
        pcb->rcv_nxt++;
        pcb->flags |= PCB_RCVD_FIN | PCB_ACKNOW;
        switch (pcb->state) {
        case TCP_ESTABLISHED:
            pcb->state = TCP_CLOSE_WAIT;
            break;
        case TCP_FIN_WAIT_1:
            pcb->state = TCP_CLOSING;
            break;
        case TCP_FIN_WAIT_2:
            send_seg(ns, pcb, pcb->snd_max, TCP_ACK, 0);
            enter_time_wait(ns, pcb);
            break;
        default:
            break;
        }
    }
    return 1;
}

static struct tcp_pcb *lookup(struct fc_netstack *ns, uint32_t src, uint16_t sport, uint16_t dport, int *listener)
{
    struct tcp_pcb *l = NULL;
    for (int i = 0; i < NET_PCBS; i++) {
        struct tcp_pcb *p = &ns->pcbs[i];
        if (!(p->flags & PCB_USED) || p->lport != dport)
            continue;
        if (p->state == TCP_LISTEN)
            l = p;
        else if (p->state != TCP_CLOSED && p->rip == src && p->rport == sport) {
            *listener = 0;
            return p;
        }
    }
    *listener = 1;
    return l;
}

void net_tcp_input(struct fc_netstack *ns, uint32_t src, uint32_t dst, const uint8_t *t, size_t len)
{
    if (len < NET_TCP_HLEN) {
        ns->info.rx_truncated++;
        return;
    }
    size_t hlen = (size_t)(t[12] >> 4) * 4;
    if (hlen < NET_TCP_HLEN || hlen > len) {
        ns->info.rx_truncated++;
        return;
    }
    uint32_t sum = net_pseudo_sum(src, dst, NET_PROTO_TCP, (uint16_t)len);
    if (net_csum_fold(net_csum_add(sum, t, len)) != 0) {
        ns->info.rx_bad_checksum++;
        return;
    }
    struct seg s;
    s.src = src;
    s.sport = net_get16(t);
    s.dport = net_get16(t + 2);
    s.seq = net_get32(t + 4);
    s.ack = net_get32(t + 8);
    s.flags = t[13] & 0x3f;
    s.wnd = net_get16(t + 14);
    s.mss = (s.flags & TCP_SYN) ? parse_mss(t + NET_TCP_HLEN, hlen - NET_TCP_HLEN) : 0;
    s.data = t + hlen;
    s.dlen = (uint32_t)(len - hlen);
    if (s.sport == 0 || s.dport == 0) {
        ns->info.rx_dropped++;
        return;
    }
    uint32_t seglen = s.dlen + ((s.flags & TCP_SYN) ? 1 : 0) + ((s.flags & TCP_FIN) ? 1 : 0);

    int is_listener;
    struct tcp_pcb *pcb = lookup(ns, src, s.sport, s.dport, &is_listener);
    if (pcb && !is_listener && pcb->state == TCP_TIME_WAIT && (s.flags & TCP_SYN) && !(s.flags & TCP_ACK) &&
        seq_gt(s.seq, pcb->rcv_nxt)) {
        net_pcb_free(ns, pcb); /* a new incarnation of the connection (RFC 6191 style) */
        pcb = lookup(ns, src, s.sport, s.dport, &is_listener);
    }
    if (!pcb) {
        ns->info.rx_dropped++;
        reply_rst(ns, src, s.sport, s.dport, s.seq, s.ack, s.flags, seglen);
        return;
    }
    if (is_listener) {
        listen_input(ns, pcb, &s);
        return;
    }
    if (pcb->state == TCP_SYN_SENT) {
        syn_sent_input(ns, pcb, &s);
        if (pcb->flags & PCB_USED)
            net_tcp_output(ns, pcb, 0);
        return;
    }
    if (established_input(ns, pcb, &s) && (pcb->flags & PCB_USED))
        net_tcp_output(ns, pcb, 0);
}

/* ---- the socket layer's data path ---- */

size_t net_tcp_read(struct fc_netstack *ns, struct tcp_pcb *pcb, uint8_t *out, size_t len)
{
    if (!pcb->buf)
        return 0;
    uint32_t used = net_tcp_rx_used(pcb);
    uint32_t n = len < used ? (uint32_t)len : used;
    net_ring_get(rx_ring(pcb), NET_TCP_BUF, pcb->rx_tail, out, n);
    pcb->rx_tail += n;
    /* tell the peer about the space once it is worth a segment or two (no silly windows) */
    uint32_t wnd = rcv_window(pcb);
    if (n && wnd >= (uint32_t)pcb->last_wnd + 2 * NET_TCP_MSS && !(pcb->flags & PCB_RCVD_FIN) &&
        pcb->state != TCP_SYN_RCVD) {
        pcb->flags |= PCB_ACKNOW;
        net_tcp_output(ns, pcb, 0);
    }
    return n;
}

size_t net_tcp_write(struct fc_netstack *ns, struct tcp_pcb *pcb, const uint8_t *in, size_t len)
{
    uint32_t free = net_tcp_tx_free(pcb);
    uint32_t n = len < free ? (uint32_t)len : free;
    if (!n)
        return 0;
    net_ring_put(tx_ring(pcb), NET_TCP_BUF, pcb->tx_start + pcb->tx_len, in, n);
    pcb->tx_len += n;
    net_tcp_output(ns, pcb, 0);
    return n;
}
