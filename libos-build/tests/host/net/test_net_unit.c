/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of net/: checksums, address parsing, ARP (reply bytes, resolution, queueing,
 * expiry, gratuitous ARP, gateway routing), ICMP echo reply bytes, IPv4 input edge cases,
 * RST for closed ports, UDP input. One stack on the simulated wire; its frames are captured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "../kernel/kcheck.h"
#include "sim.h"

#define CAP_MAX 64
static uint8_t cap[CAP_MAX][FC_ETH_FRAME_MAX + 16];
static size_t cap_len[CAP_MAX];
static int ncap;

static void capture(int from, const uint8_t *frame, size_t len)
{
    (void)from;
    if (ncap < CAP_MAX && len <= sizeof(cap[0])) {
        memcpy(cap[ncap], frame, len);
        cap_len[ncap++] = len;
    }
}

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_peer[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_other[6] = {0x02, 0, 0, 0, 0, 0x03};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero6[6];
#define IP_A IP4(10, 0, 0, 2)
#define IP_PEER IP4(10, 0, 0, 1)

static struct fc_net_info info(void)
{
    struct fc_net_info i;
    fc_net_info(&i);
    return i;
}

static void test_checksums(void)
{
    /* RFC 1071's worked example */
    const uint8_t ex[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    KCHECK(net_csum_fold(net_csum_add(0, ex, 8)) == 0x220d);
    /* split at an even offset gives the same sum */
    KCHECK(net_csum_fold(net_csum_add(net_csum_add(0, ex, 4), ex + 4, 4)) == 0x220d);
    /* odd length: the last byte is the high half of a zero-padded word */
    const uint8_t odd[3] = {0x01, 0x02, 0x03};
    KCHECK(net_csum_fold(net_csum_add(0, odd, 3)) == (uint16_t)~0x0402);
    /* a real IPv4 header with its checksum 0xb861 */
    uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    KCHECK(net_csum_fold(net_csum_add(0, hdr, 20)) == 0xb861);
    hdr[10] = 0xb8;
    hdr[11] = 0x61;
    KCHECK(net_csum_fold(net_csum_add(0, hdr, 20)) == 0);
    hdr[15] ^= 1;
    KCHECK(net_csum_fold(net_csum_add(0, hdr, 20)) != 0);
    /* many carries */
    static uint8_t ones[65536];
    memset(ones, 0xff, sizeof(ones));
    KCHECK(net_csum_fold(net_csum_add(0, ones, sizeof(ones))) == 0);
    for (size_t n = 1; n < 300; n += 37) {
        uint8_t buf[300];
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(i * 7 + 3);
        KCHECK(net_csum_fold(net_csum_add(0, buf, n)) == fb_csum(buf, n, 0));
    }
    KCHECK(net_pseudo_sum(IP4(1, 2, 3, 4), IP4(5, 6, 7, 8), 6, 20) == 0x0102 + 0x0304 + 0x0506 + 0x0708 + 6 + 20);
}

static void test_parse_ipv4(void)
{
    uint32_t a = 0;
    KCHECK(fc_net_parse_ipv4("10.0.0.1", &a) == 0 && a == IP4(10, 0, 0, 1));
    KCHECK(fc_net_parse_ipv4("255.255.255.255", &a) == 0 && a == 0xffffffffu);
    KCHECK(fc_net_parse_ipv4("0.0.0.0", &a) == 0 && a == 0);
    KCHECK(fc_net_parse_ipv4("192.168.100.200", &a) == 0 && a == IP4(192, 168, 100, 200));
    const char *bad[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
                         "1.2.3.-4", "1234.1.1.1", "1.2.3.4/24", "a.b.c.d", "1.2.3.", ".1.2.3", "1.2.3.0x1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        a = 77;
        KCHECKF(fc_net_parse_ipv4(bad[i], &a) == -FC_EINVAL && a == 77, "\"%s\"", bad[i]);
    }
    KCHECK(fc_net_parse_ipv4(NULL, &a) == -FC_EINVAL);
}

static void test_arp(struct sim_host *h)
{
    uint8_t f[128];
    /* a request for our address: a reply with exactly these bytes */
    ncap = 0;
    fb_arp(f, bcast, mac_peer, 1, mac_peer, IP_PEER, zero6, IP_A);
    sim_inject(h, f, 60);
    KCHECK(ncap == 1);
    uint8_t want[60];
    fb_arp(want, mac_peer, mac_a, 2, mac_a, IP_A, mac_peer, IP_PEER);
    KCHECK(cap_len[0] == 60 && memcmp(cap[0], want, 60) == 0);

    /* a request for someone else: no reply (and it is not learned) */
    ncap = 0;
    fb_arp(f, bcast, mac_other, 1, mac_other, IP4(10, 0, 0, 3), zero6, IP4(10, 0, 0, 9));
    sim_inject(h, f, 60);
    KCHECK(ncap == 0);
    /* malformed: wrong hardware type; truncated */
    struct fc_net_info before = info();
    fb_arp(f, bcast, mac_other, 1, mac_other, IP4(10, 0, 0, 3), zero6, IP_A);
    f[15] = 6;
    sim_inject(h, f, 60);
    fb_arp(f, bcast, mac_other, 1, mac_other, IP4(10, 0, 0, 3), zero6, IP_A);
    sim_inject(h, f, 14 + 20);
    KCHECK(ncap == 0);
    KCHECK(info().rx_truncated == before.rx_truncated + 1);
    KCHECK(info().rx_dropped >= before.rx_dropped + 1);

    /* the peer was learned from its request: a datagram to it goes straight out */
    int u = fc_udp_bind(5000);
    KCHECK(u >= 0);
    ncap = 0;
    KCHECK(fc_udp_sendto(u, "hi", 2, IP_PEER, 7) == 2);
    KCHECK(ncap == 1 && memcmp(cap[0], mac_peer, 6) == 0 && fb_get16(cap[0] + 12) == 0x0800);
    KCHECK(ncap == 1 && cap_len[0] == 60); /* padded to the Ethernet minimum */
    KCHECK(ncap == 1 && fb_get16(cap[0] + 16) == 20 + 8 + 2);
    KCHECK(ncap == 1 && fb_csum(cap[0] + 14, 20, 0) == 0);
    KCHECK(ncap == 1 && fb_csum(cap[0] + 34, 10, fb_pseudo(IP_A, IP_PEER, 17, 10)) == 0);

    /* unknown neighbour: a broadcast request, the datagram waits, the reply releases it */
    ncap = 0;
    KCHECK(fc_udp_sendto(u, "queued", 6, IP4(10, 0, 0, 3), 7) == 6);
    KCHECK(ncap == 1);
    fb_arp(want, bcast, mac_a, 1, mac_a, IP_A, zero6, IP4(10, 0, 0, 3));
    KCHECK(cap_len[0] == 60 && memcmp(cap[0], want, 60) == 0);
    fb_arp(f, mac_a, mac_other, 2, mac_other, IP4(10, 0, 0, 3), mac_a, IP_A);
    sim_inject(h, f, 60);
    KCHECK(ncap == 2 && memcmp(cap[1], mac_other, 6) == 0 && memcmp(cap[1] + 42, "queued", 6) == 0);

    /* nobody answers: three requests a second apart, then the frame is dropped */
    ncap = 0;
    before = info();
    KCHECK(fc_udp_sendto(u, "lost", 4, IP4(10, 0, 0, 4), 7) == 4);
    for (int i = 0; i < 50; i++)
        sim_step(100 * SIM_MS);
    KCHECK(ncap == 3);
    KCHECK(info().tx_dropped == before.tx_dropped + 1);
    struct net_usage us;
    fc_netstack_usage(&us);
    KCHECK(us.pending == 0);

    /* the queue is bounded: ten frames to an unresolved address keep only the newest few */
    before = info();
    for (int i = 0; i < 10; i++)
        fc_udp_sendto(u, "x", 1, IP4(10, 0, 0, 5), 7);
    fc_netstack_usage(&us);
    KCHECK(us.pending == NET_ARP_PENDING);
    KCHECK(info().tx_dropped == before.tx_dropped + 10 - NET_ARP_PENDING);
    for (int i = 0; i < 50; i++)
        sim_step(100 * SIM_MS);
    fc_netstack_usage(&us);
    KCHECK(us.pending == 0 && us.arp <= NET_ARP_ENTRIES);

    /* the cache is bounded */
    for (int i = 0; i < 40; i++) {
        fb_arp(f, bcast, mac_other, 1, mac_other, IP4(10, 0, 1, i + 1), zero6, IP_A);
        sim_inject(h, f, 60);
    }
    fc_netstack_usage(&us);
    KCHECK(us.arp == NET_ARP_ENTRIES);

    /* expiry: a stale entry is still used while it is refreshed with a new request */
    fb_arp(f, bcast, mac_peer, 1, mac_peer, IP_PEER, zero6, IP_A);
    sim_inject(h, f, 60);
    for (int i = 0; i < 61; i++)
        sim_step(SIM_S);
    ncap = 0;
    KCHECK(fc_udp_sendto(u, "stale", 5, IP_PEER, 7) == 5);
    KCHECK(ncap == 2);
    KCHECK(ncap == 2 && fb_get16(cap[0] + 12) == 0x0806 && fb_get32(cap[0] + 38) == IP_PEER);
    KCHECK(ncap == 2 && memcmp(cap[1], mac_peer, 6) == 0 && fb_get16(cap[1] + 12) == 0x0800);

    /* gratuitous ARP after a migration: a request and a reply, both broadcast, for our address */
    ncap = 0;
    fc_netstack_announce();
    KCHECK(ncap == 2);
    for (int i = 0; i < ncap && i < 2; i++) {
        KCHECK(memcmp(cap[i], bcast, 6) == 0 && fb_get16(cap[i] + 12) == 0x0806);
        KCHECK(fb_get32(cap[i] + 28) == IP_A && fb_get32(cap[i] + 38) == IP_A);
        KCHECK(memcmp(cap[i] + 22, mac_a, 6) == 0);
    }
    KCHECK(ncap == 2 && fb_get16(cap[0] + 20) == 1 && fb_get16(cap[1] + 20) == 2);

    /* off-subnet: through the gateway, or not at all without one */
    ncap = 0;
    KCHECK(fc_udp_sendto(u, "far", 3, IP4(192, 168, 5, 5), 7) == -FC_ENETUNREACH);
    KCHECK(ncap == 0);
    h->nif.gateway = IP4(10, 0, 0, 254);
    KCHECK(fc_udp_sendto(u, "far", 3, IP4(192, 168, 5, 5), 7) == 3);
    KCHECK(ncap == 1 && fb_get16(cap[0] + 12) == 0x0806 && fb_get32(cap[0] + 38) == IP4(10, 0, 0, 254));
    fb_arp(f, mac_a, mac_other, 2, mac_other, IP4(10, 0, 0, 254), mac_a, IP_A);
    sim_inject(h, f, 60);
    KCHECK(ncap == 2 && memcmp(cap[1], mac_other, 6) == 0 && fb_get32(cap[1] + 30) == IP4(192, 168, 5, 5));
    h->nif.gateway = 0;
    /* broadcast goes to ff:ff:.. without ARP */
    ncap = 0;
    KCHECK(fc_udp_sendto(u, "all", 3, IP4(10, 0, 0, 255), 7) == 3);
    KCHECK(ncap == 1 && memcmp(cap[0], bcast, 6) == 0);
    KCHECK(fc_udp_sendto(u, "big", 1473, IP_PEER, 7) == -FC_EMSGSIZE);
    fc_udp_close(u);
}

static void test_icmp(struct sim_host *h)
{
    uint8_t f[1600];
    const char payload[] = "abcdefghijklmnopqrstuvwabcdefghi";
    /* the ARP test filled the cache with others: let the peer introduce itself again */
    fb_arp(f, bcast, mac_peer, 1, mac_peer, IP_PEER, zero6, IP_A);
    sim_inject(h, f, 60);
    ncap = 0;
    size_t len = fb_icmp_echo(f, mac_a, mac_peer, IP_PEER, IP_A, 0x4242, 7, payload, 32);
    sim_inject(h, f, len);
    KCHECK(ncap == 1);
    if (ncap == 1) {
        const uint8_t *r = cap[0];
        KCHECK(cap_len[0] == 14 + 20 + 8 + 32);
        KCHECK(memcmp(r, mac_peer, 6) == 0 && memcmp(r + 6, mac_a, 6) == 0 && fb_get16(r + 12) == 0x0800);
        KCHECK(r[14] == 0x45 && fb_get16(r + 16) == 60 && r[22] == 64 && r[23] == 1);
        KCHECK(fb_get32(r + 26) == IP_A && fb_get32(r + 30) == IP_PEER);
        KCHECK(fb_csum(r + 14, 20, 0) == 0);
        KCHECK(r[34] == 0 && r[35] == 0 && fb_get16(r + 38) == 0x4242 && fb_get16(r + 40) == 7);
        KCHECK(memcmp(r + 42, payload, 32) == 0);
        KCHECK(fb_csum(r + 34, 40, 0) == 0);
        /* the reply's ICMP checksum is the request's plus 0x0800 (type 8 -> 0) */
        uint16_t req = fb_get16(f + 36), rep = fb_get16(r + 36);
        uint32_t s = (uint32_t)req + 0x0800;
        KCHECK(rep == (uint16_t)((s & 0xffff) + (s >> 16)));
    }
    /* Ethernet padding after a short request is ignored */
    ncap = 0;
    len = fb_icmp_echo(f, mac_a, mac_peer, IP_PEER, IP_A, 1, 1, "ab", 2);
    memset(f + len, 0xee, 30);
    sim_inject(h, f, len + 30);
    KCHECK(ncap == 1 && fb_get16(cap[0] + 16) == 20 + 8 + 2 && fb_csum(cap[0] + 34, 10, 0) == 0);
    /* a bad ICMP checksum, an echo reply, and a broadcast echo are not answered */
    struct fc_net_info before = info();
    ncap = 0;
    len = fb_icmp_echo(f, mac_a, mac_peer, IP_PEER, IP_A, 1, 2, payload, 32);
    f[50] ^= 0x10;
    sim_inject(h, f, len);
    KCHECK(info().rx_bad_checksum == before.rx_bad_checksum + 1);
    len = fb_icmp_echo(f, mac_a, mac_peer, IP_PEER, IP_A, 1, 3, payload, 32);
    f[34] = 0;
    fb_fix_l4(f);
    sim_inject(h, f, len);
    len = fb_icmp_echo(f, bcast, mac_peer, IP_PEER, IP4(10, 0, 0, 255), 1, 4, payload, 32);
    sim_inject(h, f, len);
    KCHECK(ncap == 0);
    /* a maximum-size echo is answered with a maximum-size frame */
    static char big[1472];
    memset(big, 'z', sizeof(big));
    len = fb_icmp_echo(f, mac_a, mac_peer, IP_PEER, IP_A, 9, 9, big, 1472);
    KCHECK(len == FC_ETH_FRAME_MAX);
    sim_inject(h, f, len);
    KCHECK(ncap == 1 && cap_len[0] == FC_ETH_FRAME_MAX);
}

/* One malformed IPv4 frame: which counter it must raise, and no reply. */
static void ip_case(struct sim_host *h, const char *name, uint8_t *f, size_t len, int counter)
{
    struct fc_net_info b = info();
    ncap = 0;
    sim_inject(h, f, len);
    struct fc_net_info a = info();
    uint64_t d[] = {a.rx_truncated - b.rx_truncated, a.rx_bad_checksum - b.rx_bad_checksum,
                    a.rx_dropped - b.rx_dropped, a.rx_fragments - b.rx_fragments};
    KCHECKF(d[counter] == 1 && ncap == 0, "%s: truncated +%lu bad +%lu dropped +%lu fragments +%lu, %d frames out",
            name, (unsigned long)d[0], (unsigned long)d[1], (unsigned long)d[2], (unsigned long)d[3], ncap);
    KCHECK(a.rx_frames == b.rx_frames + 1);
}

enum { C_TRUNC, C_BADSUM, C_DROP, C_FRAG };

static void test_ipv4_edges(struct sim_host *h)
{
    uint8_t f[1600];
    const char p[] = "0123456789abcdef";
    size_t len;
#define ECHO() (len = fb_icmp_echo(f, mac_a, mac_peer, IP_PEER, IP_A, 5, 5, p, 16))
    ECHO();
    ip_case(h, "runt", f, 10, C_TRUNC);
    ECHO();
    ip_case(h, "header cut", f, 14 + 12, C_TRUNC);
    ECHO();
    f[14] = 0x65;
    fb_fix_ip(f);
    ip_case(h, "version 6", f, len, C_DROP);
    ECHO();
    f[14] = 0x44;
    ip_case(h, "ihl 4", f, len, C_DROP);
    ECHO();
    f[14] = 0x4f;
    ip_case(h, "ihl beyond frame", f, 14 + 40, C_TRUNC);
    ECHO();
    fb_put16(f + 16, (uint16_t)(len - 14 + 1));
    fb_fix_ip(f);
    ip_case(h, "total > frame", f, len, C_TRUNC);
    ECHO();
    fb_put16(f + 16, 19);
    fb_fix_ip(f);
    ip_case(h, "total < header", f, len, C_TRUNC);
    ECHO();
    f[24] ^= 0x55;
    ip_case(h, "bad header checksum", f, len, C_BADSUM);
    ECHO();
    fb_put16(f + 20, 0x2000);
    fb_fix_ip(f);
    ip_case(h, "more fragments", f, len, C_FRAG);
    ECHO();
    fb_put16(f + 20, 0x0010);
    fb_fix_ip(f);
    ip_case(h, "later fragment", f, len, C_FRAG);
    len = fb_icmp_echo(f, mac_a, mac_peer, IP_PEER, IP4(10, 0, 0, 99), 5, 5, p, 16);
    ip_case(h, "not our address", f, len, C_DROP);
    len = fb_icmp_echo(f, mac_a, mac_peer, IP4(10, 0, 0, 255), IP_A, 5, 5, p, 16);
    ip_case(h, "broadcast source", f, len, C_DROP);
    ECHO();
    f[23] = 99;
    fb_fix_ip(f);
    ip_case(h, "unknown protocol", f, len, C_DROP);
    ECHO();
    f[0] = 0x02;
    f[5] = 0x77;
    ip_case(h, "another MAC", f, len, C_DROP);
    ECHO();
    f[12] = 0x86;
    f[13] = 0xdd;
    ip_case(h, "IPv6 ethertype", f, len, C_DROP);
    ECHO();
    ip_case(h, "ICMP cut", f, 14 + 20 + 6, C_TRUNC); /* total length says more than the frame */
    /* an ICMP message shorter than its header, consistently */
    ECHO();
    fb_put16(f + 16, 20 + 4);
    fb_fix_ip(f);
    ip_case(h, "ICMP header short", f, 14 + 24, C_TRUNC);

    /* header with options (IHL 6): still answered */
    ncap = 0;
    uint8_t g[1600];
    ECHO();
    memcpy(g, f, 34);
    g[14] = 0x46;
    memset(g + 34, 1, 4); /* four NOP options */
    memcpy(g + 38, f + 34, len - 34);
    fb_put16(g + 16, (uint16_t)(len - 14 + 4));
    fb_fix_ip(g);
    sim_inject(h, g, len + 4);
    KCHECK(ncap == 1 && cap[0][34] == 0 && memcmp(cap[0] + 42, p, 16) == 0);
#undef ECHO
}

static void test_tcp_closed_port_and_udp(struct sim_host *h)
{
    uint8_t f[1600];
    ncap = 0;
    struct fc_net_info b = info();
    size_t len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, 40000, 9, 1000, 0, TCP_SYN, 1000, NULL, 0);
    sim_inject(h, f, len);
    KCHECK(ncap == 1);
    if (ncap == 1) {
        const uint8_t *t = cap[0] + 34;
        KCHECK(fb_get16(t) == 9 && fb_get16(t + 2) == 40000);
        KCHECK(fb_get32(t + 4) == 0 && fb_get32(t + 8) == 1001 && t[13] == (TCP_RST | TCP_ACK));
        KCHECK(fb_csum(t, 20, fb_pseudo(IP_A, IP_PEER, 6, 20)) == 0);
    }
    KCHECK(info().tcp_resets_sent == b.tcp_resets_sent + 1);
    ncap = 0;
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, 40000, 9, 1000, 5555, TCP_ACK | TCP_PSH, 1000, "data", 4);
    sim_inject(h, f, len);
    KCHECK(ncap == 1 && fb_get32(cap[0] + 38) == 5555 && cap[0][47] == TCP_RST);
    /* an RST is never answered */
    ncap = 0;
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, 40000, 9, 1000, 5555, TCP_RST, 0, NULL, 0);
    sim_inject(h, f, len);
    KCHECK(ncap == 0);
    /* a bad TCP checksum is counted, not answered */
    b = info();
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, 40000, 9, 1000, 0, TCP_SYN, 1000, NULL, 0);
    f[50] ^= 1;
    sim_inject(h, f, len);
    KCHECK(ncap == 0 && info().rx_bad_checksum == b.rx_bad_checksum + 1);
    /* TCP data offset beyond the segment */
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, 40000, 9, 1000, 0, TCP_SYN, 1000, NULL, 0);
    f[46] = 0xf0;
    fb_fix_l4(f);
    sim_inject(h, f, len);
    KCHECK(ncap == 0 && info().rx_truncated == b.rx_truncated + 1);

    /* UDP */
    int u = fc_udp_bind(6000);
    KCHECK(u >= 0);
    KCHECK(fc_udp_bind(6000) == -FC_EADDRINUSE);
    len = fb_udp(f, mac_a, mac_peer, IP_PEER, IP_A, 1234, 6000, "hello", 5);
    sim_inject(h, f, len);
    len = fb_udp(f, mac_a, mac_peer, IP_PEER, IP_A, 1235, 6000, "nosum", 5);
    fb_put16(f + 40, 0); /* checksum 0: none */
    sim_inject(h, f, len);
    b = info();
    len = fb_udp(f, mac_a, mac_peer, IP_PEER, IP_A, 1236, 6000, "broken", 6);
    f[43] ^= 0x20;
    sim_inject(h, f, len);
    KCHECK(info().rx_bad_checksum == b.rx_bad_checksum + 1);
    len = fb_udp(f, mac_a, mac_peer, IP_PEER, IP_A, 1236, 6001, "nobody", 6);
    sim_inject(h, f, len);
    KCHECK(info().rx_dropped == b.rx_dropped + 1);
    len = fb_udp(f, mac_a, mac_peer, IP_PEER, IP_A, 1236, 6000, "long", 4);
    fb_put16(f + 38, 200); /* UDP length beyond the IP payload */
    fb_fix_l4(f);
    sim_inject(h, f, len);
    KCHECK(info().rx_truncated == b.rx_truncated + 1);
    char buf[16];
    uint32_t ip = 0;
    uint16_t port = 0;
    KCHECK(fc_udp_recvfrom(u, buf, sizeof(buf), &ip, &port, 0) == 5 && memcmp(buf, "hello", 5) == 0);
    KCHECK(ip == IP_PEER && port == 1234);
    KCHECK(fc_udp_recvfrom(u, buf, 3, &ip, &port, 0) == 3 && memcmp(buf, "nos", 3) == 0 && port == 1235);
    KCHECK(fc_udp_recvfrom(u, buf, sizeof(buf), &ip, &port, 0) == -FC_EAGAIN);
    uint64_t t0 = sim_now;
    KCHECK(fc_udp_recvfrom(u, buf, sizeof(buf), &ip, &port, 50) == -FC_EAGAIN);
    KCHECK(sim_now >= t0 + 50 * SIM_MS && sim_now < t0 + 200 * SIM_MS);
    /* the queue is bounded: it drops what does not fit */
    b = info();
    static char chunk[1400];
    for (int i = 0; i < 20; i++) {
        len = fb_udp(f, mac_a, mac_peer, IP_PEER, IP_A, 1237, 6000, chunk, sizeof(chunk));
        sim_inject(h, f, len);
    }
    KCHECK(info().rx_dropped > b.rx_dropped);
    KCHECK(fc_udp_close(u) == 0);
    KCHECK(fc_udp_close(u) == -FC_EBADF);
    struct fc_pollfd pfd = {.sock = 63, .events = FC_POLLIN};
    KCHECK(fc_net_poll(&pfd, 1, 0) == 1 && pfd.revents == FC_POLLHUP);
    KCHECK(fc_tcp_recv(63, buf, 1, 0) == -FC_EBADF);
}

/* TCP through injected segments: the handshake's bytes, delayed ACK, out-of-window
 * handling (ACKed, counted, and rate-limited for segments without data), RFC 5961 RST. */
static void test_tcp_segments(struct sim_host *h)
{
    uint8_t f[1600];
    const uint16_t cport = 40001;
    uint32_t cseq = 5000;
    fb_arp(f, bcast, mac_peer, 1, mac_peer, IP_PEER, zero6, IP_A);
    sim_inject(h, f, 60);
    int l = fc_tcp_listen(80, 2);
    KCHECK(l >= 0);
    ncap = 0;
    size_t len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq, 0, TCP_SYN, 8192, NULL, 0);
    sim_inject(h, f, len);
    KCHECK(ncap == 1);
    if (ncap != 1)
        return;
    const uint8_t *t = cap[0] + 34;
    uint32_t iss = fb_get32(t + 4);
    KCHECK(t[13] == (TCP_SYN | TCP_ACK) && fb_get32(t + 8) == cseq + 1);
    KCHECK((t[12] >> 4) == 6 && t[20] == 2 && t[21] == 4 && fb_get16(t + 22) == 1460); /* MSS option */
    KCHECK(fb_get16(t + 14) == NET_TCP_BUF);
    KCHECK(fb_csum(t, 24, fb_pseudo(IP_A, IP_PEER, 6, 24)) == 0);
    KCHECK(fc_tcp_accept(l, NULL, NULL, 0) == -FC_EAGAIN); /* not established yet */
    cseq++;
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq, iss + 1, TCP_ACK, 8192, NULL, 0);
    sim_inject(h, f, len);
    uint32_t pip = 0;
    uint16_t pport = 0;
    int s = fc_tcp_accept(l, &pip, &pport, 0);
    KCHECK(s >= 0 && pip == IP_PEER && pport == cport);

    /* a lone data segment: no ACK at once, the delayed one within 20 ms */
    ncap = 0;
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq, iss + 1, TCP_ACK | TCP_PSH, 8192, "hello", 5);
    sim_inject(h, f, len);
    KCHECK(ncap == 0);
    char buf[64];
    KCHECK(fc_tcp_recv(s, buf, sizeof(buf), 0) == 5 && memcmp(buf, "hello", 5) == 0);
    for (int i = 0; i < 5; i++)
        sim_step(5 * SIM_MS);
    KCHECK(ncap == 1 && cap[0][47] == TCP_ACK && fb_get32(cap[0] + 42) == cseq + 5);
    cseq += 5;

    /* 50 ACKs from far outside the window: counted, answered once (no ACK war) */
    struct fc_net_info b = info();
    ncap = 0;
    for (int i = 0; i < 50; i++) {
        len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq + 100000, iss + 1, TCP_ACK, 8192, NULL, 0);
        sim_inject(h, f, len);
    }
    KCHECK(info().rx_out_of_window == b.rx_out_of_window + 50);
    KCHECKF(ncap == 1, "%d answers", ncap);
    KCHECK(ncap >= 1 && fb_get32(cap[0] + 38) == iss + 1 && fb_get32(cap[0] + 42) == cseq);
    /* old data again (the peer missed our ACK): every one is answered */
    ncap = 0;
    for (int i = 0; i < 3; i++) {
        len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq - 5, iss + 1, TCP_ACK, 8192, "hello", 5);
        sim_inject(h, f, len);
    }
    KCHECK(ncap == 3 && fb_get32(cap[2] + 42) == cseq);
    KCHECK(fc_tcp_recv(s, buf, sizeof(buf), 0) == -FC_EAGAIN); /* nothing new for the app */
    /* an ACK for data we never sent: dropped, counted */
    b = info();
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq, iss + 5000, TCP_ACK, 8192, NULL, 0);
    sim_inject(h, f, len);
    KCHECK(info().rx_out_of_window == b.rx_out_of_window + 1);
    /* in-window but not next: dropped, counted, a duplicate ACK at once */
    ncap = 0;
    b = info();
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq + 10, iss + 1, TCP_ACK, 8192, "later", 5);
    sim_inject(h, f, len);
    KCHECK(info().tcp_out_of_order == b.tcp_out_of_order + 1 && ncap == 1 && fb_get32(cap[0] + 42) == cseq);

    /* RST: in the window but not exact draws a challenge ACK; exact resets */
    for (int i = 0; i < 60; i++)
        sim_step(10 * SIM_MS); /* past the out-of-window ACK limit */
    ncap = 0;
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq + 100, 0, TCP_RST, 0, NULL, 0);
    sim_inject(h, f, len);
    KCHECK(ncap == 1 && cap[0][47] == TCP_ACK);
    KCHECK(fc_tcp_recv(s, buf, sizeof(buf), 0) == -FC_EAGAIN);
    len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, cport, 80, cseq, 0, TCP_RST, 0, NULL, 0);
    sim_inject(h, f, len);
    KCHECK(fc_tcp_recv(s, buf, sizeof(buf), 0) == -FC_ECONNRESET);
    KCHECK(fc_tcp_close(s) == 0);

    /* the backlog is bounded: a third SYN is dropped while two wait */
    b = info();
    ncap = 0;
    for (int i = 0; i < 3; i++) {
        len = fb_tcp(f, mac_a, mac_peer, IP_PEER, IP_A, (uint16_t)(41000 + i), 80, 100, 0, TCP_SYN, 8192, NULL, 0);
        sim_inject(h, f, len);
    }
    KCHECK(ncap == 2 && info().rx_dropped == b.rx_dropped + 1);
    KCHECK(fc_tcp_close(l) == 0); /* the two half-open ones are reset */
    struct net_usage us;
    fc_netstack_usage(&us);
    KCHECK(us.pcbs == 0);
}

int main(void)
{
    test_checksums();
    test_parse_ipv4();

    sim_init(7);
    struct sim_host *h = sim_host_add("10.0.0.2", 24, NULL, 0x0a);
    sim_select(h);
    sim_tx_hook = capture;
    test_arp(h);
    test_icmp(h);
    test_ipv4_edges(h);
    test_tcp_closed_port_and_udp(h);
    test_tcp_segments(h);
    KCHECK(sim_max_tx_len <= FC_ETH_FRAME_MAX);
    sim_teardown();
    KCHECK(sim_pages_outstanding == 0);

    /* no stack attached: every call fails cleanly */
    KCHECK(fc_tcp_listen(80, 4) == -FC_ENETDOWN);
    KCHECK(fc_udp_bind(1) == -FC_ENETDOWN);
    KCHECK(fc_netstack_next_deadline() == ~0ULL);
    fc_netstack_input("x", 1);
    return kcheck_summary("net unit");
}
