/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule OS networking: the blocking socket API of <fc/net.h> over the stack, and UDP.
 *
 * Every blocking call loops: run the stack's due timers, check whether it can complete,
 * otherwise wait through the environment (fc_netenv_wait) until the sooner of its own
 * deadline and the stack's next timer. The wait delivers received frames, so the stack
 * progresses while an app blocks. A timeout of 0 still gives the driver one chance to
 * deliver frames before reporting -EAGAIN.
 */
#include "net_internal.h"

#define UDP_RING ((uint32_t)(NET_UDP_PAGES * FC_PAGE_SIZE))
#define UDP_REC_HDR 8 /* length, source port, source address */
#define UDP_MAX_PAYLOAD (FC_ETH_MTU - NET_IP_HLEN - NET_UDP_HLEN)

/* ---- waiting ---- */

static uint64_t deadline_after(long timeout_ms)
{
    uint64_t now = fc_netenv_now_ns();
    if (timeout_ms < 0)
        return ~0ULL;
    uint64_t ms = (uint64_t)timeout_ms;
    if (ms > (~0ULL - now) / NET_MS)
        return ~0ULL;
    return now + ms * NET_MS;
}

static void run_timers(void)
{
    fc_netstack_timers(fc_netenv_now_ns());
}

/* One wait of a blocking call: 0 to check again, -EAGAIN once the deadline has passed (after
 * one last look at the driver). */
static int wait_step(uint64_t deadline, int *last_look)
{
    uint64_t now = fc_netenv_now_ns();
    if (now >= deadline) {
        if (*last_look)
            return -FC_EAGAIN;
        *last_look = 1;
        fc_netenv_wait(now);
    } else {
        uint64_t d = fc_netstack_next_deadline();
        fc_netenv_wait(d < deadline ? d : deadline);
    }
    run_timers();
    return 0;
}

/* ---- sockets ---- */

static struct net_sock *sock_of(struct fc_netstack *ns, int s, uint8_t kind)
{
    if (!ns || s < 0 || s >= FC_NET_MAX_SOCKETS || ns->socks[s].kind != kind)
        return NULL;
    return &ns->socks[s];
}

static struct tcp_pcb *pcb_of(struct fc_netstack *ns, int s)
{
    struct net_sock *so = sock_of(ns, s, SOCK_TCP);
    if (!so || so->pcb < 0 || so->pcb >= NET_PCBS)
        return NULL;
    struct tcp_pcb *pcb = &ns->pcbs[so->pcb];
    return (pcb->flags & PCB_USED) && pcb->sock == s ? pcb : NULL;
}

static int sock_new(struct fc_netstack *ns, uint8_t kind)
{
    for (int i = 0; i < FC_NET_MAX_SOCKETS; i++) {
        if (ns->socks[i].kind == SOCK_FREE) {
            net_zero(&ns->socks[i], sizeof(ns->socks[i]));
            ns->socks[i].kind = kind;
            ns->socks[i].pcb = -1;
            return i;
        }
    }
    return -FC_EMFILE;
}

static void sock_release(struct fc_netstack *ns, int s)
{
    struct net_sock *so = &ns->socks[s];
    if (so->udp_ring)
        fc_pages_free(so->udp_ring, NET_UDP_PAGES);
    net_zero(so, sizeof(*so));
    so->pcb = -1;
}

static struct fc_netstack *ready_stack(void)
{
    struct fc_netstack *ns = net_cur;
    if (!ns || !ns->nif)
        return NULL;
    net_now(ns);
    return ns;
}

/* ---- TCP ---- */

/* A new TCP socket owning a fresh pcb: the socket number (and *out), or -errno. */
static int tcp_sock_new(struct fc_netstack *ns, struct tcp_pcb **out)
{
    int s = sock_new(ns, SOCK_TCP);
    if (s < 0)
        return s;
    struct tcp_pcb *pcb = net_pcb_alloc(ns);
    if (!pcb) {
        sock_release(ns, s);
        return -FC_EMFILE;
    }
    pcb->sock = (int16_t)s;
    ns->socks[s].pcb = (int16_t)net_pcb_index(ns, pcb);
    *out = pcb;
    return s;
}

/* The connection behind sock for recv/send, or NULL with *err set. */
static struct tcp_pcb *data_pcb(int sock, const void *buf, size_t len, struct fc_netstack **ns, long *err)
{
    *ns = ready_stack();
    struct tcp_pcb *pcb = *ns ? pcb_of(*ns, sock) : NULL;
    if (!*ns)
        *err = -FC_ENETDOWN;
    else if (!pcb || pcb->state == TCP_LISTEN)
        *err = -FC_EBADF;
    else if (!buf && len)
        *err = -FC_EINVAL;
    else
        return pcb;
    return NULL;
}

int fc_tcp_listen(uint16_t port, int backlog)
{
    struct fc_netstack *ns = ready_stack();
    if (!ns)
        return -FC_ENETDOWN;
    if (!port)
        return -FC_EINVAL;
    for (int i = 0; i < NET_PCBS; i++)
        if ((ns->pcbs[i].flags & PCB_USED) && ns->pcbs[i].state == TCP_LISTEN && ns->pcbs[i].lport == port)
            return -FC_EADDRINUSE;
    struct tcp_pcb *pcb;
    int s = tcp_sock_new(ns, &pcb);
    if (s < 0)
        return s;
    pcb->state = TCP_LISTEN;
    pcb->lport = port;
    pcb->backlog = (uint16_t)(backlog < 1 ? 1 : backlog > NET_BACKLOG_MAX ? NET_BACKLOG_MAX : backlog);
    return s;
}

static struct tcp_pcb *first_acceptable(struct fc_netstack *ns, int lidx)
{
    struct tcp_pcb *best = NULL;
    for (int i = 0; i < NET_PCBS; i++) {
        struct tcp_pcb *c = &ns->pcbs[i];
        if ((c->flags & (PCB_USED | PCB_ACCEPTQ)) == (PCB_USED | PCB_ACCEPTQ) && c->parent == lidx &&
            (!best || (int32_t)(c->accept_order - best->accept_order) < 0))
            best = c;
    }
    return best;
}

int fc_tcp_accept(int listener, uint32_t *peer_ip, uint16_t *peer_port, long timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    int last_look = 0;
    run_timers();
    for (;;) {
        struct fc_netstack *ns = ready_stack();
        if (!ns)
            return -FC_ENETDOWN;
        struct tcp_pcb *l = pcb_of(ns, listener);
        if (!l || l->state != TCP_LISTEN)
            return -FC_EBADF;
        struct tcp_pcb *c = first_acceptable(ns, net_pcb_index(ns, l));
        if (c) {
            int s = sock_new(ns, SOCK_TCP);
            if (s < 0)
                return s;
            c->flags &= ~PCB_ACCEPTQ;
            c->parent = -1;
            if (l->nchildren)
                l->nchildren--;
            c->sock = (int16_t)s;
            ns->socks[s].pcb = (int16_t)net_pcb_index(ns, c);
            if (peer_ip)
                *peer_ip = c->rip;
            if (peer_port)
                *peer_port = c->rport;
            return s;
        }
        int rc = wait_step(deadline, &last_look);
        if (rc)
            return rc;
    }
}

int fc_tcp_connect(uint32_t ip, uint16_t port, long timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    int last_look = 0;
    struct fc_netstack *ns = ready_stack();
    if (!ns)
        return -FC_ENETDOWN;
    if (!ip || !port || ip == 0xffffffffu)
        return -FC_EINVAL;
    struct tcp_pcb *pcb;
    int s = tcp_sock_new(ns, &pcb);
    if (s < 0)
        return s;
    int rc = net_tcp_connect(ns, pcb, ip, port);
    if (rc < 0) {
        net_pcb_free(ns, pcb);
        sock_release(ns, s);
        return rc;
    }
    for (;;) {
        ns = net_cur;
        pcb = pcb_of(ns, s);
        if (!pcb) /* cannot happen: the socket owns it */
            return -FC_EBADF;
        if (pcb->state == TCP_ESTABLISHED || pcb->state == TCP_CLOSE_WAIT)
            return s;
        if (pcb->state == TCP_CLOSED) {
            int err = pcb->err ? pcb->err : FC_ECONNREFUSED;
            net_pcb_free(ns, pcb);
            sock_release(ns, s);
            return -err;
        }
        if (wait_step(deadline, &last_look)) {
            ns = net_cur;
            pcb = pcb_of(ns, s);
            if (pcb)
                net_tcp_abort(ns, pcb);
            sock_release(ns, s);
            return -FC_ETIMEDOUT;
        }
    }
}

long fc_tcp_recv(int sock, void *buf, size_t len, long timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    int last_look = 0;
    run_timers();
    for (;;) {
        struct fc_netstack *ns;
        long err;
        struct tcp_pcb *pcb = data_pcb(sock, buf, len, &ns, &err);
        if (!pcb)
            return err;
        if (pcb->buf && net_tcp_rx_used(pcb))
            return (long)net_tcp_read(ns, pcb, buf, len);
        if (pcb->err)
            return -pcb->err;
        if ((pcb->flags & PCB_RCVD_FIN) || pcb->state == TCP_CLOSED || !len)
            return 0;
        int rc = wait_step(deadline, &last_look);
        if (rc)
            return rc;
    }
}

long fc_tcp_send(int sock, const void *buf, size_t len, long timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    int last_look = 0;
    size_t done = 0;
    run_timers();
    for (;;) {
        struct fc_netstack *ns;
        long err;
        struct tcp_pcb *pcb = data_pcb(sock, buf, len, &ns, &err);
        if (!pcb)
            return err;
        if (pcb->err)
            return done ? (long)done : -pcb->err;
        if (pcb->state != TCP_ESTABLISHED && pcb->state != TCP_CLOSE_WAIT)
            return done ? (long)done : -FC_EPIPE;
        done += net_tcp_write(ns, pcb, (const uint8_t *)buf + done, len - done);
        if (done == len)
            return (long)done;
        if (wait_step(deadline, &last_look))
            return done ? (long)done : -FC_EAGAIN;
    }
}

/* Ends a TCP socket the way `end` says (orderly close or reset); its number is free at once. */
static int tcp_end(int sock, void (*end)(struct fc_netstack *, struct tcp_pcb *))
{
    struct fc_netstack *ns = ready_stack();
    if (!ns)
        return -FC_ENETDOWN;
    struct net_sock *so = sock_of(ns, sock, SOCK_TCP);
    if (!so)
        return -FC_EBADF;
    struct tcp_pcb *pcb = pcb_of(ns, sock);
    if (pcb)
        end(ns, pcb);
    sock_release(ns, sock);
    return 0;
}

int fc_tcp_close(int sock)
{
    return tcp_end(sock, net_tcp_close);
}

int fc_tcp_abort(int sock)
{
    return tcp_end(sock, net_tcp_abort);
}

/* ---- UDP ---- */

void net_udp_input(struct fc_netstack *ns, uint32_t src, uint32_t dst, const uint8_t *d, size_t len)
{
    if (len < NET_UDP_HLEN) {
        ns->info.rx_truncated++;
        return;
    }
    size_t ulen = net_get16(d + 4);
    if (ulen < NET_UDP_HLEN || ulen > len) {
        ns->info.rx_truncated++;
        return;
    }
    if (net_get16(d + 6)) {
        uint32_t sum = net_pseudo_sum(src, dst, NET_PROTO_UDP, (uint16_t)ulen);
        if (net_csum_fold(net_csum_add(sum, d, ulen)) != 0) {
            ns->info.rx_bad_checksum++;
            return;
        }
    }
    uint16_t sport = net_get16(d), dport = net_get16(d + 2);
    struct net_sock *so = NULL;
    for (int i = 0; i < FC_NET_MAX_SOCKETS; i++)
        if (ns->socks[i].kind == SOCK_UDP && ns->socks[i].port == dport && ns->socks[i].udp_ring)
            so = &ns->socks[i];
    uint32_t plen = (uint32_t)(ulen - NET_UDP_HLEN);
    if (!so || sport == 0 || UDP_RING - (so->udp_head - so->udp_tail) < UDP_REC_HDR + plen) {
        ns->info.rx_dropped++; /* no socket, or its queue is full */
        return;
    }
    uint8_t hdr[UDP_REC_HDR];
    net_put16(hdr, (uint16_t)plen);
    net_put16(hdr + 2, sport);
    net_put32(hdr + 4, src);
    net_ring_put(so->udp_ring, UDP_RING, so->udp_head, hdr, UDP_REC_HDR);
    net_ring_put(so->udp_ring, UDP_RING, so->udp_head + UDP_REC_HDR, d + NET_UDP_HLEN, plen);
    so->udp_head += UDP_REC_HDR + plen;
}

static int udp_port_used(struct fc_netstack *ns, uint16_t port)
{
    for (int i = 0; i < FC_NET_MAX_SOCKETS; i++)
        if (ns->socks[i].kind == SOCK_UDP && ns->socks[i].port == port)
            return 1;
    return 0;
}

int fc_udp_bind(uint16_t port)
{
    struct fc_netstack *ns = ready_stack();
    if (!ns)
        return -FC_ENETDOWN;
    if (!port) {
        port = net_ephemeral_port(ns);
        if (!port)
            return -FC_EADDRINUSE;
    } else if (udp_port_used(ns, port)) {
        return -FC_EADDRINUSE;
    }
    int s = sock_new(ns, SOCK_UDP);
    if (s < 0)
        return s;
    ns->socks[s].udp_ring = fc_pages_alloc(NET_UDP_PAGES);
    if (!ns->socks[s].udp_ring) {
        sock_release(ns, s);
        return -FC_ENOMEM;
    }
    ns->socks[s].port = port;
    return s;
}

long fc_udp_sendto(int sock, const void *buf, size_t len, uint32_t ip, uint16_t port)
{
    struct fc_netstack *ns = ready_stack();
    if (!ns)
        return -FC_ENETDOWN;
    struct net_sock *so = sock_of(ns, sock, SOCK_UDP);
    if (!so)
        return -FC_EBADF;
    if (!ip || !port || (!buf && len))
        return -FC_EINVAL;
    if (len > UDP_MAX_PAYLOAD)
        return -FC_EMSGSIZE;
    uint8_t *u = net_ip_payload(ns);
    uint16_t ulen = (uint16_t)(NET_UDP_HLEN + len);
    net_put16(u, so->port);
    net_put16(u + 2, port);
    net_put16(u + 4, ulen);
    net_put16(u + 6, 0);
    net_copy(u + NET_UDP_HLEN, buf, len);
    uint16_t c = net_csum_fold(net_csum_add(net_pseudo_sum(ns->nif->ip, ip, NET_PROTO_UDP, ulen), u, ulen));
    net_put16(u + 6, c ? c : 0xffff);
    int rc = net_ip_output(ns, ip, NET_PROTO_UDP, ulen);
    return rc < 0 ? rc : (long)len;
}

long fc_udp_recvfrom(int sock, void *buf, size_t len, uint32_t *ip, uint16_t *port, long timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    int last_look = 0;
    run_timers();
    for (;;) {
        struct fc_netstack *ns = ready_stack();
        if (!ns)
            return -FC_ENETDOWN;
        struct net_sock *so = sock_of(ns, sock, SOCK_UDP);
        if (!so)
            return -FC_EBADF;
        if (!buf && len)
            return -FC_EINVAL;
        if (so->udp_head != so->udp_tail) {
            uint8_t hdr[UDP_REC_HDR];
            net_ring_get(so->udp_ring, UDP_RING, so->udp_tail, hdr, UDP_REC_HDR);
            uint32_t plen = net_get16(hdr);
            uint32_t n = len < plen ? (uint32_t)len : plen; /* the rest of a long datagram is lost */
            net_ring_get(so->udp_ring, UDP_RING, so->udp_tail + UDP_REC_HDR, buf, n);
            so->udp_tail += UDP_REC_HDR + plen;
            if (port)
                *port = net_get16(hdr + 2);
            if (ip)
                *ip = net_get32(hdr + 4);
            return (long)n;
        }
        int rc = wait_step(deadline, &last_look);
        if (rc)
            return rc;
    }
}

int fc_udp_close(int sock)
{
    struct fc_netstack *ns = ready_stack();
    if (!ns)
        return -FC_ENETDOWN;
    if (!sock_of(ns, sock, SOCK_UDP))
        return -FC_EBADF;
    sock_release(ns, sock);
    return 0;
}

/* ---- poll ---- */

static short readiness(struct fc_netstack *ns, int s)
{
    if (s < 0 || s >= FC_NET_MAX_SOCKETS)
        return FC_POLLHUP;
    struct net_sock *so = &ns->socks[s];
    if (so->kind == SOCK_UDP)
        return (short)((so->udp_head != so->udp_tail ? FC_POLLIN : 0) | FC_POLLOUT);
    struct tcp_pcb *pcb = pcb_of(ns, s);
    if (!pcb)
        return FC_POLLHUP;
    if (pcb->state == TCP_LISTEN)
        return first_acceptable(ns, net_pcb_index(ns, pcb)) ? FC_POLLIN : 0;
    short r = 0;
    if ((pcb->buf && net_tcp_rx_used(pcb)) || (pcb->flags & PCB_RCVD_FIN) || pcb->err || pcb->state == TCP_CLOSED)
        r |= FC_POLLIN;
    if (((pcb->state == TCP_ESTABLISHED || pcb->state == TCP_CLOSE_WAIT) && net_tcp_tx_free(pcb)) || pcb->err)
        r |= FC_POLLOUT;
    if (pcb->err || pcb->state == TCP_CLOSED)
        r |= FC_POLLHUP;
    return r;
}

int fc_net_poll(struct fc_pollfd *fds, int nfds, long timeout_ms)
{
    if (nfds < 0 || (nfds && !fds))
        return -FC_EINVAL;
    uint64_t deadline = deadline_after(timeout_ms);
    int last_look = 0;
    run_timers();
    for (;;) {
        struct fc_netstack *ns = ready_stack();
        if (!ns)
            return -FC_ENETDOWN;
        int count = 0;
        for (int i = 0; i < nfds; i++) {
            fds[i].revents = 0;
            if (fds[i].sock < 0)
                continue;
            fds[i].revents = (short)(readiness(ns, fds[i].sock) & (fds[i].events | FC_POLLHUP));
            if (fds[i].revents)
                count++;
        }
        if (count)
            return count;
        int rc = wait_step(deadline, &last_look);
        if (rc)
            return 0;
    }
}
