/* SPDX-License-Identifier: MIT */
/*
 * FlexCapsule OS TCP/IP: the stack instance, Ethernet, ARP, IPv4, ICMP echo and the timer
 * entry points of netif.h. TCP is in tcp.c; UDP and the app API are in socket.c.
 */
#include <fc/kopts.h>

#include "net_internal.h"

struct fc_netstack *net_cur;

/* ---- small helpers ---- */

void net_copy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
}

void net_zero(void *dst, size_t n)
{
    uint8_t *d = dst;
    while (n--)
        *d++ = 0;
}

int net_mac_eq(const uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 6; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static const uint8_t mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint32_t net_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len >= 2) {
        sum += (uint32_t)((p[0] << 8) | p[1]);
        p += 2;
        len -= 2;
        if (sum & 0x80000000u)
            sum = (sum & 0xffff) + (sum >> 16);
    }
    if (len)
        sum += (uint32_t)p[0] << 8; /* odd byte: padded with a zero */
    return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

uint32_t net_random(struct fc_netstack *ns)
{
    /* xorshift32, stirred with the clock: unpredictability is not a goal here, only that
     * ISNs and ports differ between boots and connections */
    uint32_t x = ns->rand_state ^ (uint32_t)(ns->now >> 10);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ns->rand_state = x ? x : 0x9e3779b9u;
    return ns->rand_state;
}

uint64_t net_now(struct fc_netstack *ns)
{
    uint64_t t = fc_netenv_now_ns();
    if (t > ns->now)
        ns->now = t;
    return ns->now;
}

void net_ring_put(uint8_t *ring, uint32_t size, uint32_t at, const uint8_t *src, uint32_t len)
{
    uint32_t off = at & (size - 1);
    uint32_t first = size - off < len ? size - off : len;
    net_copy(ring + off, src, first);
    net_copy(ring, src + first, len - first);
}

void net_ring_get(const uint8_t *ring, uint32_t size, uint32_t at, uint8_t *dst, uint32_t len)
{
    uint32_t off = at & (size - 1);
    uint32_t first = size - off < len ? size - off : len;
    net_copy(dst, ring + off, first);
    net_copy(dst + first, ring, len - first);
}

/* ---- instances ---- */

struct fc_netstack *fc_netstack_create(struct fc_netif *nif)
{
    size_t npages = (sizeof(struct fc_netstack) + FC_PAGE_SIZE - 1) / FC_PAGE_SIZE;
    struct fc_netstack *ns = fc_pages_alloc(npages);
    if (!ns)
        return NULL;
    ns->npages = npages;
    ns->nif = nif;
    ns->rand_state = 0x2545f491u;
    for (int i = 0; i < 6; i++)
        ns->rand_state = ns->rand_state * 31 + nif->mac[i];
    ns->rand_state ^= nif->ip;
    ns->now = fc_netenv_now_ns();
    ns->ip_id = (uint16_t)net_random(ns);
    ns->next_port = (uint16_t)(49152 + net_random(ns) % 16384);
    for (int i = 0; i < NET_PCBS; i++)
        ns->pcbs[i].sock = ns->pcbs[i].parent = -1;
    return ns;
}

void fc_netstack_select(struct fc_netstack *ns)
{
    net_cur = ns;
}

struct fc_netstack *fc_netstack_current(void)
{
    return net_cur;
}

void fc_netstack_destroy(struct fc_netstack *ns)
{
    if (!ns)
        return;
    for (int i = 0; i < NET_PCBS; i++)
        if (ns->pcbs[i].flags & PCB_USED)
            net_pcb_free(ns, &ns->pcbs[i]);
    for (int i = 0; i < FC_NET_MAX_SOCKETS; i++)
        if (ns->socks[i].udp_ring)
            fc_pages_free(ns->socks[i].udp_ring, NET_UDP_PAGES);
    if (net_cur == ns)
        net_cur = NULL;
    fc_pages_free(ns, ns->npages);
}

void fc_netstack_usage(struct net_usage *out)
{
    struct fc_netstack *ns = net_cur;
    net_zero(out, sizeof(*out));
    if (!ns)
        return;
    out->pages = (unsigned)ns->npages;
    for (int i = 0; i < NET_PCBS; i++)
        if (ns->pcbs[i].flags & PCB_USED) {
            out->pcbs++;
            if (ns->pcbs[i].buf)
                out->pages += 2 * NET_TCP_BUF_PAGES;
        }
    for (int i = 0; i < FC_NET_MAX_SOCKETS; i++) {
        if (ns->socks[i].kind != SOCK_FREE)
            out->socks++;
        if (ns->socks[i].udp_ring)
            out->pages += NET_UDP_PAGES;
    }
    for (int i = 0; i < NET_ARP_ENTRIES; i++)
        if (ns->arp[i].ip)
            out->arp++;
    for (int i = 0; i < NET_ARP_PENDING; i++)
        if (ns->pending[i].nexthop)
            out->pending++;
}

/* The kernel's single NIC: the first attach creates the stack, a later one (the driver
 * reconnected after a migration) rebinds it and keeps every connection. */
void fc_netstack_attach(struct fc_netif *nif)
{
    if (!net_cur) {
        net_cur = fc_netstack_create(nif);
        return;
    }
    net_cur->nif = nif;
}

/* ---- Ethernet ---- */

static int net_transmit(struct fc_netstack *ns, const uint8_t *frame, size_t len)
{
    if (len > FC_ETH_FRAME_MAX || !ns->nif || !ns->nif->transmit) {
        ns->info.tx_dropped++;
        return -FC_EMSGSIZE;
    }
    int rc = ns->nif->transmit(ns->nif, frame, len);
    if (rc < 0) {
        ns->info.tx_dropped++;
        return rc;
    }
    ns->info.tx_frames++;
    return 0;
}

static void eth_header(struct fc_netstack *ns, uint8_t *frame, const uint8_t *dst, uint16_t type)
{
    net_copy(frame, dst, 6);
    net_copy(frame + 6, ns->nif->mac, 6);
    net_put16(frame + 12, type);
}

/* ---- ARP ---- */

static struct net_arp_entry *arp_find(struct fc_netstack *ns, uint32_t ip)
{
    for (int i = 0; i < NET_ARP_ENTRIES; i++)
        if (ns->arp[i].ip == ip)
            return &ns->arp[i];
    return NULL;
}

static void arp_flush(struct fc_netstack *ns, uint32_t ip, const uint8_t *mac);

static struct net_arp_entry *arp_slot(struct fc_netstack *ns)
{
    struct net_arp_entry *victim = NULL;
    for (int i = 0; i < NET_ARP_ENTRIES; i++) {
        struct net_arp_entry *e = &ns->arp[i];
        if (!e->ip)
            return e;
        /* evict a resolved entry first, the one refreshed longest ago */
        if (!victim || (e->valid && !victim->valid) ||
            (e->valid == victim->valid && e->expires < victim->expires))
            victim = e;
    }
    if (!victim->valid)
        arp_flush(ns, victim->ip, NULL);
    net_zero(victim, sizeof(*victim));
    return victim;
}

static void arp_send(struct fc_netstack *ns, uint16_t op, const uint8_t *eth_dst,
                     const uint8_t *tha, uint32_t tpa)
{
    uint8_t frame[NET_ETH_HLEN + 28 + 18]; /* padded to the Ethernet minimum of 60 */
    net_zero(frame, sizeof(frame));
    eth_header(ns, frame, eth_dst, NET_ETH_ARP);
    uint8_t *a = frame + NET_ETH_HLEN;
    net_put16(a, 1);
    net_put16(a + 2, NET_ETH_IPV4);
    a[4] = 6;
    a[5] = 4;
    net_put16(a + 6, op);
    net_copy(a + 8, ns->nif->mac, 6);
    net_put32(a + 14, ns->nif->ip);
    net_copy(a + 18, tha, 6);
    net_put32(a + 24, tpa);
    net_transmit(ns, frame, sizeof(frame));
}

static void arp_request(struct fc_netstack *ns, uint32_t ip)
{
    static const uint8_t zero[6];
    arp_send(ns, 1, mac_broadcast, zero, ip);
}

void fc_netstack_announce(void)
{
    struct fc_netstack *ns = net_cur;
    if (!ns || !ns->nif || !ns->nif->ip)
        return;
    net_now(ns);
    /* a gratuitous request and a gratuitous reply: switches learn our MAC's new port from
     * either, hosts update their caches from either */
    static const uint8_t zero[6];
    arp_send(ns, 1, mac_broadcast, zero, ns->nif->ip);
    arp_send(ns, 2, mac_broadcast, ns->nif->mac, ns->nif->ip);
    /* the suspension lost whatever was in flight: send it again now instead of waiting */
    net_tcp_kick(ns);
}

/* Sends the frames that waited for ip's address, or drops them if it is unreachable. */
static void arp_flush(struct fc_netstack *ns, uint32_t ip, const uint8_t *mac)
{
    for (int i = 0; i < NET_ARP_PENDING; i++) {
        struct net_pending *p = &ns->pending[i];
        if (p->nexthop != ip)
            continue;
        if (mac) {
            net_copy(p->frame, mac, 6);
            net_transmit(ns, p->frame, p->len);
        } else {
            ns->info.tx_dropped++;
        }
        p->nexthop = 0;
    }
}

static void arp_learn(struct fc_netstack *ns, uint32_t ip, const uint8_t *mac, int create)
{
    struct net_arp_entry *e = arp_find(ns, ip);
    if (!e) {
        if (!create)
            return;
        e = arp_slot(ns);
        e->ip = ip;
    }
    net_copy(e->mac, mac, 6);
    e->valid = 1;
    e->tries = 0;
    e->expires = ns->now + NET_ARP_TTL_NS;
    arp_flush(ns, ip, mac);
}

static void arp_input(struct fc_netstack *ns, const uint8_t *frame, size_t len)
{
    if (len < NET_ETH_HLEN + 28) {
        ns->info.rx_truncated++;
        return;
    }
    const uint8_t *a = frame + NET_ETH_HLEN;
    uint16_t op = net_get16(a + 6);
    if (net_get16(a) != 1 || net_get16(a + 2) != NET_ETH_IPV4 || a[4] != 6 || a[5] != 4 ||
        (op != 1 && op != 2) || (a[8] & 1)) {
        ns->info.rx_dropped++;
        return;
    }
    uint32_t spa = net_get32(a + 14), tpa = net_get32(a + 24);
    uint32_t me = ns->nif->ip;
    if (!me) {
        ns->info.rx_dropped++;
        return;
    }
    int for_me = tpa == me;
    if (spa && spa != me && !net_is_local_broadcast(ns, spa))
        arp_learn(ns, spa, a + 8, for_me); /* RFC 826: update if known, add if aimed at us */
    if (for_me && op == 1 && spa != me)
        arp_send(ns, 2, a + 8, a + 8, spa);
    if (!for_me && !arp_find(ns, spa))
        ns->info.rx_dropped++;
}

/* ---- IPv4 ---- */

static int on_subnet(struct fc_netstack *ns, uint32_t ip)
{
    uint8_t plen = ns->nif->prefix_len;
    if (plen == 0)
        return 1;
    if (plen > 32)
        plen = 32;
    uint32_t mask = plen == 32 ? 0xffffffffu : ~(0xffffffffu >> plen);
    return (ip & mask) == (ns->nif->ip & mask);
}

int net_is_local_broadcast(struct fc_netstack *ns, uint32_t ip)
{
    if (ip == 0xffffffffu)
        return 1;
    uint8_t plen = ns->nif->prefix_len;
    if (plen == 0 || plen >= 31)
        return 0;
    uint32_t host = 0xffffffffu >> plen;
    return on_subnet(ns, ip) && (ip & host) == host;
}

static int ip_bad_source(struct fc_netstack *ns, uint32_t ip)
{
    return ip == 0 || (ip >> 28) == 0xe || (ip >> 28) == 0xf || net_is_local_broadcast(ns, ip) ||
           (ip >> 24) == 127;
}

int net_ip_output(struct fc_netstack *ns, uint32_t dst, uint8_t proto, size_t len)
{
    struct fc_netif *nif = ns->nif;
    if (!nif || !nif->ip || len > FC_ETH_MTU - NET_IP_HLEN) {
        ns->info.tx_dropped++;
        return -FC_ENETDOWN;
    }
    uint8_t *ip = ns->tx + NET_ETH_HLEN;
    ip[0] = 0x45;
    ip[1] = 0;
    net_put16(ip + 2, (uint16_t)(NET_IP_HLEN + len));
    net_put16(ip + 4, ns->ip_id++);
    net_put16(ip + 6, 0x4000); /* DF: we never fragment */
    ip[8] = 64;
    ip[9] = proto;
    net_put16(ip + 10, 0);
    net_put32(ip + 12, nif->ip);
    net_put32(ip + 16, dst);
    net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, NET_IP_HLEN)));
    size_t flen = NET_ETH_HLEN + NET_IP_HLEN + len;
    if (flen < 60) { /* Ethernet minimum; the IP total length tells the receiver the truth */
        net_zero(ns->tx + flen, 60 - flen);
        flen = 60;
    }

    if (net_is_local_broadcast(ns, dst)) {
        eth_header(ns, ns->tx, mac_broadcast, NET_ETH_IPV4);
        return net_transmit(ns, ns->tx, flen);
    }
    uint32_t hop = dst;
    if (!on_subnet(ns, dst)) {
        if (!nif->gateway) {
            ns->info.tx_dropped++;
            return -FC_ENETUNREACH;
        }
        hop = nif->gateway;
    }
    eth_header(ns, ns->tx, mac_broadcast, NET_ETH_IPV4);
    struct net_arp_entry *e = arp_find(ns, hop);
    if (e && e->valid) {
        net_copy(ns->tx, e->mac, 6);
        if (ns->now >= e->expires && (e->tries == 0 || ns->now >= e->expires + e->tries * NET_ARP_RETRY_NS)) {
            /* stale: keep using it while asking again */
            if (e->tries >= NET_ARP_TRIES) {
                e->valid = 0; /* no answer to the refresh: resolve from scratch below */
                e->tries = 0;
            } else {
                e->tries++;
                arp_request(ns, hop);
            }
        }
        if (e->valid)
            return net_transmit(ns, ns->tx, flen);
    }
    /* queue the frame until the address is known; the oldest waiting frame makes room */
    struct net_pending *slot = NULL;
    for (int i = 0; i < NET_ARP_PENDING; i++) {
        struct net_pending *p = &ns->pending[i];
        if (!p->nexthop) {
            slot = p;
            break;
        }
        if (!slot || p->queued_at < slot->queued_at)
            slot = p;
    }
    if (slot->nexthop)
        ns->info.tx_dropped++;
    slot->nexthop = hop;
    slot->len = (uint16_t)flen;
    slot->queued_at = ns->now;
    net_copy(slot->frame, ns->tx, flen);
    if (!e) {
        e = arp_slot(ns);
        e->ip = hop;
    }
    if (!e->valid && e->tries == 0) {
        e->tries = 1;
        e->expires = ns->now + NET_ARP_RETRY_NS;
        arp_request(ns, hop);
    }
    return 0;
}

static void arp_timers(struct fc_netstack *ns, uint64_t now)
{
    for (int i = 0; i < NET_ARP_ENTRIES; i++) {
        struct net_arp_entry *e = &ns->arp[i];
        if (!e->ip || e->valid || now < e->expires)
            continue;
        if (e->tries >= NET_ARP_TRIES) {
            arp_flush(ns, e->ip, NULL);
            net_zero(e, sizeof(*e));
            continue;
        }
        e->tries++;
        e->expires = now + NET_ARP_RETRY_NS;
        arp_request(ns, e->ip);
    }
    /* a resolved entry nobody used for long is forgotten */
    for (int i = 0; i < NET_ARP_ENTRIES; i++) {
        struct net_arp_entry *e = &ns->arp[i];
        if (e->ip && e->valid && now >= e->expires + 4 * NET_ARP_TTL_NS)
            net_zero(e, sizeof(*e));
    }
}

static void icmp_input(struct fc_netstack *ns, uint32_t src, const uint8_t *msg, size_t len)
{
    if (len < 8) {
        ns->info.rx_truncated++;
        return;
    }
    if (net_csum_fold(net_csum_add(0, msg, len)) != 0) {
        ns->info.rx_bad_checksum++;
        return;
    }
    if (msg[0] != 8 || msg[1] != 0) { /* only echo requests are answered */
        ns->info.rx_dropped++;
        return;
    }
    uint8_t *out = net_ip_payload(ns);
    net_copy(out, msg, len);
    out[0] = 0;
    net_put16(out + 2, 0);
    net_put16(out + 2, net_csum_fold(net_csum_add(0, out, len)));
    net_ip_output(ns, src, NET_PROTO_ICMP, len);
}

static void ipv4_input(struct fc_netstack *ns, const uint8_t *frame, size_t len)
{
    if (len < NET_ETH_HLEN + NET_IP_HLEN) {
        ns->info.rx_truncated++;
        return;
    }
    const uint8_t *ip = frame + NET_ETH_HLEN;
    size_t avail = len - NET_ETH_HLEN;
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || hlen < NET_IP_HLEN) {
        ns->info.rx_dropped++;
        return;
    }
    size_t total = net_get16(ip + 2);
    if (hlen > avail || total > avail || total < hlen) {
        ns->info.rx_truncated++;
        return;
    }
    if (net_csum_fold(net_csum_add(0, ip, hlen)) != 0) {
        ns->info.rx_bad_checksum++;
        return;
    }
    uint16_t frag = net_get16(ip + 6);
    if ((frag & 0x2000) || (frag & 0x1fff)) { /* more fragments, or not the first */
        ns->info.rx_fragments++;
        ns->info.rx_dropped++;
        return;
    }
    uint32_t src = net_get32(ip + 12), dst = net_get32(ip + 16);
    uint32_t me = ns->nif->ip;
    int bcast = net_is_local_broadcast(ns, dst);
    if (!me || (dst != me && !bcast) || ip_bad_source(ns, src) || src == me) {
        ns->info.rx_dropped++;
        return;
    }
    const uint8_t *payload = ip + hlen;
    size_t plen = total - hlen;
    switch (ip[9]) {
    case NET_PROTO_ICMP:
        if (bcast)
            ns->info.rx_dropped++;
        else
            icmp_input(ns, src, payload, plen);
        break;
    case NET_PROTO_TCP:
        if (bcast)
            ns->info.rx_dropped++;
        else
            net_tcp_input(ns, src, dst, payload, plen);
        break;
    case NET_PROTO_UDP:
        net_udp_input(ns, src, dst, payload, plen);
        break;
    default:
        ns->info.rx_dropped++;
    }
}

/* ---- netif.h entry points ---- */

void fc_netstack_input(const void *frame, size_t len)
{
    struct fc_netstack *ns = net_cur;
    if (!ns || !ns->nif)
        return;
    const uint8_t *f = frame;
    ns->info.rx_frames++;
    net_now(ns);
    if (!f || len < NET_ETH_HLEN) {
        ns->info.rx_truncated++;
        return;
    }
    if (len > FC_ETH_FRAME_MAX + 4) { /* allow a VLAN tag's worth; more is not Ethernet */
        ns->info.rx_dropped++;
        return;
    }
    if (!net_mac_eq(f, ns->nif->mac) && !net_mac_eq(f, mac_broadcast)) {
        ns->info.rx_dropped++;
        return;
    }
    switch (net_get16(f + 12)) {
    case NET_ETH_ARP:
        arp_input(ns, f, len);
        break;
    case NET_ETH_IPV4:
        ipv4_input(ns, f, len);
        break;
    default:
        ns->info.rx_dropped++;
    }
}

void fc_netstack_timers(uint64_t now_ns)
{
    struct fc_netstack *ns = net_cur;
    if (!ns || !ns->nif)
        return;
    if (now_ns > ns->now)
        ns->now = now_ns;
    arp_timers(ns, ns->now);
    net_tcp_timers(ns, ns->now);
}

uint64_t fc_netstack_next_deadline(void)
{
    struct fc_netstack *ns = net_cur;
    if (!ns)
        return ~0ULL;
    uint64_t d = net_tcp_deadline(ns);
    for (int i = 0; i < NET_ARP_ENTRIES; i++) {
        const struct net_arp_entry *e = &ns->arp[i];
        if (e->ip && !e->valid && e->expires < d)
            d = e->expires;
    }
    return d;
}

/* ---- net.h: info and address parsing ---- */

int fc_net_info(struct fc_net_info *out)
{
    struct fc_netstack *ns = net_cur;
    if (!out)
        return -FC_EINVAL;
    if (!ns || !ns->nif) {
        net_zero(out, sizeof(*out));
        return -FC_ENETDOWN;
    }
    net_copy(out, &ns->info, sizeof(*out));
    net_copy(out->mac, ns->nif->mac, 6);
    out->ip = ns->nif->ip;
    out->prefix_len = ns->nif->prefix_len;
    out->gateway = ns->nif->gateway;
    return 0;
}

/* The kernel's own parser (kernel/kopts.c, always linked): one notion of a valid address. */
int fc_net_parse_ipv4(const char *text, uint32_t *out)
{
    return out ? fc_kopts_parse_ipv4(text, out) : -FC_EINVAL;
}
