/* SPDX-License-Identifier: MIT */
/* Frame builders for the net/ host tests (independent of the stack's own output code). */
#ifndef FRAMES_H
#define FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void fb_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void fb_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint16_t fb_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t fb_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* a straightforward RFC 1071 checksum, written separately from net/ on purpose */
static inline uint16_t fb_csum(const uint8_t *p, size_t len, uint32_t start)
{
    uint64_t sum = start;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}
static inline uint32_t fb_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

static inline void fb_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    fb_put16(f + 12, type);
}

/* IPv4 header at f+14 with a payload of plen bytes; returns the frame length */
static inline size_t fb_ipv4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t plen)
{
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    fb_put16(ip + 2, (uint16_t)(20 + plen));
    fb_put16(ip + 4, 0x1234);
    fb_put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = proto;
    fb_put16(ip + 10, 0);
    fb_put32(ip + 12, src);
    fb_put32(ip + 16, dst);
    fb_put16(ip + 10, fb_csum(ip, 20, 0));
    return 14 + 20 + plen;
}

/* Fixes the L4 checksum of a frame whose IPv4 header (any IHL) is at f+14. */
static inline void fb_fix_l4(uint8_t *f)
{
    uint8_t *ip = f + 14;
    size_t hl = (size_t)(ip[0] & 15) * 4;
    size_t total = fb_get16(ip + 2);
    if (total < hl)
        return;
    size_t l4len = total - hl;
    uint8_t *l4 = ip + hl;
    uint32_t ps = fb_pseudo(fb_get32(ip + 12), fb_get32(ip + 16), ip[9], (uint16_t)l4len);
    if (ip[9] == 6 && l4len >= 20) {
        fb_put16(l4 + 16, 0);
        fb_put16(l4 + 16, fb_csum(l4, l4len, ps));
    } else if (ip[9] == 17 && l4len >= 8) {
        fb_put16(l4 + 6, 0);
        uint16_t c = fb_csum(l4, l4len, ps);
        fb_put16(l4 + 6, c ? c : 0xffff);
    } else if (ip[9] == 1 && l4len >= 4) {
        fb_put16(l4 + 2, 0);
        fb_put16(l4 + 2, fb_csum(l4, l4len, 0));
    }
}
static inline void fb_fix_ip(uint8_t *f)
{
    uint8_t *ip = f + 14;
    size_t hl = (size_t)(ip[0] & 15) * 4;
    fb_put16(ip + 10, 0);
    fb_put16(ip + 10, fb_csum(ip, hl, 0));
}

/* A TCP segment; returns the frame length */
static inline size_t fb_tcp(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t src, uint32_t dst,
                            uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                            uint16_t wnd, const void *data, size_t dlen)
{
    fb_eth(f, dmac, smac, 0x0800);
    uint8_t *t = f + 34;
    memset(t, 0, 20);
    fb_put16(t, sport);
    fb_put16(t + 2, dport);
    fb_put32(t + 4, seq);
    fb_put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    fb_put16(t + 14, wnd);
    if (dlen)
        memcpy(t + 20, data, dlen);
    size_t len = fb_ipv4(f, src, dst, 6, 20 + dlen);
    fb_fix_l4(f);
    return len;
}

static inline size_t fb_udp(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t src, uint32_t dst,
                            uint16_t sport, uint16_t dport, const void *data, size_t dlen)
{
    fb_eth(f, dmac, smac, 0x0800);
    uint8_t *u = f + 34;
    fb_put16(u, sport);
    fb_put16(u + 2, dport);
    fb_put16(u + 4, (uint16_t)(8 + dlen));
    fb_put16(u + 6, 0);
    memcpy(u + 8, data, dlen);
    size_t len = fb_ipv4(f, src, dst, 17, 8 + dlen);
    fb_fix_l4(f);
    return len;
}

static inline size_t fb_icmp_echo(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
                                  uint32_t dst, uint16_t id, uint16_t seq, const void *data, size_t dlen)
{
    fb_eth(f, dmac, smac, 0x0800);
    uint8_t *m = f + 34;
    m[0] = 8;
    m[1] = 0;
    fb_put16(m + 2, 0);
    fb_put16(m + 4, id);
    fb_put16(m + 6, seq);
    memcpy(m + 8, data, dlen);
    size_t len = fb_ipv4(f, src, dst, 1, 8 + dlen);
    fb_fix_l4(f);
    return len;
}

static inline size_t fb_arp(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint16_t op,
                            const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
    memset(f, 0, 60);
    fb_eth(f, dmac, smac, 0x0806);
    uint8_t *a = f + 14;
    fb_put16(a, 1);
    fb_put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    fb_put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    fb_put32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    fb_put32(a + 24, tpa);
    return 60;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

#endif
