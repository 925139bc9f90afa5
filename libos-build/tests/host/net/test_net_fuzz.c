/* SPDX-License-Identifier: MIT */
/*
 * Fuzz test of net/: while two stacks keep real TCP and UDP traffic going (connections
 * opening, echoing, closing, aborting, so sockets are in every state), stack A is fed random
 * frames and mutations of frames really seen on the wire, many with their checksums fixed
 * up so they reach ARP, ICMP, UDP and deep into the TCP state machine.
 *
 * Invariants, checked after every injected frame: no crash or sanitizer report, every
 * frame counted, counters never decrease, no transmitted frame exceeds the MTU, the socket,
 * control block, ARP and pending tables and the pages held stay within their bounds. At the
 * end the drop counters have risen and a clean transfer still works.
 *
 * NET_FUZZ_SEED (default 1) and NET_FUZZ_FRAMES (default 100000) change the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "../kernel/kcheck.h"
#include "sim.h"

static struct sim_host *A, *B;
#define IP_A IP4(10, 0, 0, 1)
#define IP_B IP4(10, 0, 0, 2)

/* ---- corpus of frames seen on the wire ---- */
#define CORPUS 512
static uint8_t corpus[CORPUS][FC_ETH_FRAME_MAX];
static size_t corpus_len[CORPUS];
static int ncorpus;

static void record(int from, const uint8_t *f, size_t len)
{
    (void)from;
    if (len > FC_ETH_FRAME_MAX)
        return;
    int slot = ncorpus < CORPUS ? ncorpus++ : (int)(sim_rand() % CORPUS);
    memcpy(corpus[slot], f, len);
    corpus_len[slot] = len;
}

static uint32_t rnd(uint32_t n)
{
    return n ? sim_rand() % n : 0;
}

/* Builds one hostile frame into f; returns its length. */
static size_t make_frame(uint8_t *f)
{
    uint32_t kind = rnd(10);
    if (kind < 2 || ncorpus == 0) { /* random bytes, often with a plausible Ethernet header */
        size_t len = rnd(1600);
        for (size_t i = 0; i < len; i++)
            f[i] = (uint8_t)sim_rand();
        if (len >= 14 && rnd(2))
            memcpy(f, A->nif.mac, 6);
        if (len >= 14 && rnd(10) < 7)
            fb_put16(f + 12, rnd(2) ? 0x0800 : 0x0806);
        if (len >= 34 && rnd(2)) {
            f[14] = 0x45;
            fb_put32(f + 30, IP_A);
            fb_put16(f + 16, (uint16_t)(len - 14 - rnd(4)));
            fb_put16(f + 20, 0);
            f[23] = (uint8_t)(rnd(3) == 0 ? 1 : rnd(2) ? 6 : 17);
            fb_fix_ip(f);
            if (rnd(2))
                fb_fix_l4(f);
        }
        return len > FC_ETH_FRAME_MAX + 100 ? FC_ETH_FRAME_MAX + 100 : len;
    }
    /* a real frame, mutated */
    int c = (int)rnd((uint32_t)ncorpus);
    size_t len = corpus_len[c];
    memcpy(f, corpus[c], len);
    memcpy(f, A->nif.mac, 6); /* aimed at A whoever sent it */
    int is_ip = len >= 34 && fb_get16(f + 12) == 0x0800 && (f[14] >> 4) == 4;
    if (is_ip && rnd(3) == 0)
        fb_put32(f + 30, IP_A);
    if (kind < 6) { /* flip a few bytes anywhere */
        int flips = 1 + (int)rnd(4);
        for (int i = 0; i < flips && len; i++)
            f[rnd((uint32_t)len)] ^= (uint8_t)(1 + rnd(255));
    } else if (is_ip && len >= 54 && f[23] == 6) { /* TCP: shift seq/ack, shuffle flags */
        size_t t = 14 + (size_t)(f[14] & 15) * 4;
        if (t + 20 <= len) {
            int32_t dseq = (int32_t)rnd(70000) - 35000, dack = (int32_t)rnd(70000) - 35000;
            if (rnd(2))
                fb_put32(f + t + 4, fb_get32(f + t + 4) + (uint32_t)dseq);
            if (rnd(2))
                fb_put32(f + t + 8, fb_get32(f + t + 8) + (uint32_t)dack);
            if (rnd(2))
                f[t + 13] = (uint8_t)rnd(64);
            if (rnd(4) == 0)
                fb_put16(f + t + 14, (uint16_t)rnd(3));
            if (rnd(4) == 0 && t + 24 <= len) { /* odd option bytes */
                f[t + 12] = (uint8_t)((6 + rnd(10)) << 4);
            }
        }
    } else if (is_ip) { /* header fields */
        switch (rnd(5)) {
        case 0:
            fb_put16(f + 16, (uint16_t)rnd(2000));
            break;
        case 1:
            f[14] = (uint8_t)(0x40 | rnd(16));
            break;
        case 2:
            fb_put16(f + 20, (uint16_t)rnd(65536));
            break;
        case 3:
            f[23] = (uint8_t)rnd(256);
            break;
        default:
            fb_put32(f + 26, (uint32_t)sim_rand());
        }
    }
    if (rnd(4) == 0) /* truncate or extend */
        len = rnd(2) ? rnd((uint32_t)len + 1) : len + rnd(40);
    if (is_ip && len >= 34 && rnd(10) < 7) {
        size_t hl = (size_t)(f[14] & 15) * 4;
        if (hl >= 20 && 14 + hl <= len) {
            fb_fix_ip(f);
            if (fb_get16(f + 16) <= len - 14 && rnd(10) < 8)
                fb_fix_l4(f);
        }
    }
    return len;
}

/* ---- background traffic ---- */
#define CLIENTS 8
static int srv_listen, srv_udp, cli_udp;
static int srv_conn[FC_NET_MAX_SOCKETS];
static int cli[CLIENTS];
static uint64_t bytes_echoed, connects_ok, connects_failed, udp_answers;

static void traffic_a(void)
{
    sim_select(A);
    int s;
    while ((s = fc_tcp_accept(srv_listen, NULL, NULL, 0)) >= 0)
        srv_conn[s] = 1;
    uint8_t buf[2048];
    for (int i = 0; i < FC_NET_MAX_SOCKETS; i++) {
        if (!srv_conn[i])
            continue;
        long r = fc_tcp_recv(i, buf, sizeof(buf), 0);
        if (r > 0) {
            long w = fc_tcp_send(i, buf, (size_t)r, 0);
            if (w > 0)
                bytes_echoed += (uint64_t)w;
        }
        if ((r < 0 && r != -FC_EAGAIN) || r == 0 || rnd(3000) == 0) {
            if (rnd(2))
                fc_tcp_close(i);
            else
                fc_tcp_abort(i);
            srv_conn[i] = 0;
        }
    }
    uint32_t ip;
    uint16_t port;
    long r = fc_udp_recvfrom(srv_udp, buf, sizeof(buf), &ip, &port, 0);
    if (r > 0)
        fc_udp_sendto(srv_udp, buf, (size_t)r, ip, port);
}

static void traffic_b(void)
{
    sim_select(B);
    uint8_t buf[2048];
    for (int i = 0; i < CLIENTS; i++) {
        if (cli[i] < 0) {
            if (rnd(50) == 0) {
                cli[i] = fc_tcp_connect(IP_A, rnd(8) ? 80 : 81, 300);
                if (cli[i] >= 0)
                    connects_ok++;
                else
                    connects_failed++;
            }
            continue;
        }
        size_t n = 1 + rnd(sizeof(buf));
        memset(buf, 'a' + i, n);
        long w = fc_tcp_send(cli[i], buf, n, 0);
        long r = fc_tcp_recv(cli[i], buf, sizeof(buf), 0);
        if ((w < 0 && w != -FC_EAGAIN) || (r < 0 && r != -FC_EAGAIN) || r == 0 || rnd(500) == 0) {
            if (rnd(4))
                fc_tcp_close(cli[i]);
            else
                fc_tcp_abort(cli[i]);
            cli[i] = -1;
        }
    }
    if (rnd(20) == 0)
        fc_udp_sendto(cli_udp, "ping", 4, rnd(8) ? IP_A : IP4(10, 0, 0, 1 + rnd(5)), 53);
    uint32_t ip;
    uint16_t port;
    if (fc_udp_recvfrom(cli_udp, buf, sizeof(buf), &ip, &port, 0) > 0)
        udp_answers++;
}

static int within_bounds(struct sim_host *h, const char **why)
{
    struct net_usage u;
    sim_select(h);
    fc_netstack_usage(&u);
    unsigned max_pages = (unsigned)h->ns->npages + NET_PCBS * 2 * NET_TCP_BUF_PAGES +
                         FC_NET_MAX_SOCKETS * NET_UDP_PAGES;
    if (u.pcbs > NET_PCBS)
        *why = "pcbs";
    else if (u.socks > FC_NET_MAX_SOCKETS)
        *why = "sockets";
    else if (u.arp > NET_ARP_ENTRIES)
        *why = "arp";
    else if (u.pending > NET_ARP_PENDING)
        *why = "pending";
    else if (u.pages > max_pages)
        *why = "pages";
    else
        return 1;
    return 0;
}

static int counters_monotonic(const struct fc_net_info *a, const struct fc_net_info *b)
{
    return b->rx_frames >= a->rx_frames && b->tx_frames >= a->tx_frames && b->rx_dropped >= a->rx_dropped &&
           b->tx_dropped >= a->tx_dropped && b->rx_bad_checksum >= a->rx_bad_checksum &&
           b->rx_truncated >= a->rx_truncated && b->rx_out_of_window >= a->rx_out_of_window &&
           b->tcp_retransmits >= a->tcp_retransmits && b->tcp_resets_sent >= a->tcp_resets_sent &&
           b->rx_fragments >= a->rx_fragments && b->tcp_out_of_order >= a->tcp_out_of_order;
}

int main(void)
{
    const char *seed_env = getenv("NET_FUZZ_SEED"), *frames_env = getenv("NET_FUZZ_FRAMES");
    uint32_t seed = seed_env ? (uint32_t)strtoul(seed_env, NULL, 0) : 1;
    long frames = frames_env ? strtol(frames_env, NULL, 0) : 100000;
    printf("net fuzz: seed %u (NET_FUZZ_SEED), %ld frames (NET_FUZZ_FRAMES)\n", seed, frames);

    sim_init(seed);
    A = sim_host_add("10.0.0.1", 24, "10.0.0.254", 1);
    B = sim_host_add("10.0.0.2", 24, NULL, 2);
    sim_impair.loss_ppm = 5000;
    sim_impair.jitter_ns = 100000;
    sim_tx_hook = record;
    sim_select(A);
    srv_listen = fc_tcp_listen(80, 8);
    srv_udp = fc_udp_bind(53);
    sim_select(B);
    cli_udp = fc_udp_bind(0);
    for (int i = 0; i < CLIENTS; i++)
        cli[i] = -1;
    KCHECK(srv_listen >= 0 && srv_udp >= 0 && cli_udp >= 0);

    /* warm up: real traffic fills the corpus */
    for (int i = 0; i < 2000; i++) {
        traffic_a();
        traffic_b();
        sim_step(SIM_MS);
    }
    KCHECK(ncorpus == CORPUS);

    struct fc_net_info start = {0}, prev, now;
    sim_select(A);
    fc_net_info(&start);
    prev = start;
    uint8_t f[FC_ETH_FRAME_MAX + 200];
    long injected = 0, bad_count = 0, bad_bounds = 0, bad_mono = 0;
    const char *why = "";
    while (injected < frames) {
        int burst = 1 + (int)rnd(8);
        for (int k = 0; k < burst && injected < frames; k++) {
            size_t len = make_frame(f);
            sim_inject(A, f, len);
            injected++;
            sim_select(A);
            fc_net_info(&now);
            if (now.rx_frames != prev.rx_frames + 1)
                bad_count++;
            if (!counters_monotonic(&prev, &now))
                bad_mono++;
            prev = now;
            if (!within_bounds(A, &why))
                bad_bounds++;
        }
        traffic_a();
        traffic_b();
        sim_select(A);
        fc_net_info(&prev); /* traffic moves the counters too */
        sim_step(SIM_MS);
        sim_select(A);
        fc_net_info(&prev);
        if (!within_bounds(B, &why))
            bad_bounds++;
    }
    KCHECKF(bad_count == 0, "%ld frames not counted exactly once", bad_count);
    KCHECKF(bad_mono == 0, "%ld counter decreases", bad_mono);
    KCHECKF(bad_bounds == 0, "%ld bound violations (last: %s)", bad_bounds, why);
    KCHECKF(sim_max_tx_len <= FC_ETH_FRAME_MAX, "a %zu-byte frame was transmitted", sim_max_tx_len);
    sim_select(A);
    fc_net_info(&now);
    KCHECK(now.rx_frames - start.rx_frames >= (uint64_t)frames);
    KCHECK(now.rx_bad_checksum > start.rx_bad_checksum);
    KCHECK(now.rx_truncated > start.rx_truncated);
    KCHECK(now.rx_out_of_window > start.rx_out_of_window);
    KCHECK(now.rx_dropped > start.rx_dropped);
    KCHECK(now.rx_fragments > start.rx_fragments);
    KCHECK(bytes_echoed > 100000 && connects_ok > 20);
    printf("net fuzz: %ld frames into A: +%lu bad checksum, +%lu truncated, +%lu out of window, +%lu dropped, "
           "+%lu fragments, +%lu RSTs sent; background: %lu connects (%lu failed), %lu bytes echoed, %lu UDP "
           "answers\n",
           injected, (unsigned long)(now.rx_bad_checksum - start.rx_bad_checksum),
           (unsigned long)(now.rx_truncated - start.rx_truncated),
           (unsigned long)(now.rx_out_of_window - start.rx_out_of_window),
           (unsigned long)(now.rx_dropped - start.rx_dropped),
           (unsigned long)(now.rx_fragments - start.rx_fragments),
           (unsigned long)(now.tcp_resets_sent - start.tcp_resets_sent), (unsigned long)connects_ok,
           (unsigned long)connects_failed, (unsigned long)bytes_echoed, (unsigned long)udp_answers);

    /* no self-sustaining exchange (an ACK war) was left behind: with the apps idle, the
     * wire calms down to retransmissions and probes */
    uint64_t t_end = sim_now + 2 * SIM_S;
    while (sim_now < t_end)
        sim_step(10 * SIM_MS);
    uint64_t before_quiet = sim_wire_frames;
    struct net_usage ua, ub;
    sim_select(A);
    fc_netstack_usage(&ua);
    sim_select(B);
    fc_netstack_usage(&ub);
    t_end = sim_now + 2 * SIM_S;
    while (sim_now < t_end)
        sim_step(10 * SIM_MS);
    /* each connection left may retransmit and be answered a few times; an ACK war over a
     * 100 us wire would be thousands of frames per connection */
    uint64_t quiet_bound = 100 + 40 * (uint64_t)(ua.pcbs + ub.pcbs);
    KCHECKF(sim_wire_frames - before_quiet < quiet_bound, "%lu frames in 2 s of idle apps, %u+%u connections",
            (unsigned long)(sim_wire_frames - before_quiet), ua.pcbs, ub.pcbs);

    /* after all that, a clean exchange still works */
    sim_tx_hook = NULL;
    sim_impair.loss_ppm = 0;
    for (int i = 0; i < CLIENTS; i++)
        if (cli[i] >= 0) {
            sim_select(B);
            fc_tcp_close(cli[i]);
            cli[i] = -1;
        }
    sim_select(A);
    int l = fc_tcp_listen(8080, 4);
    sim_select(B);
    int c = fc_tcp_connect(IP_A, 8080, 5000);
    KCHECK(l >= 0 && c >= 0);
    sim_select(A);
    int s = fc_tcp_accept(l, NULL, NULL, 5000);
    KCHECK(s >= 0);
    static uint8_t data[20000], got[20000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13);
    sim_select(B);
    KCHECK(fc_tcp_send(c, data, sizeof(data), 5000) == (long)sizeof(data));
    fc_tcp_close(c);
    sim_select(A);
    size_t n;
    long r = sim_recv_all(s, got, sizeof(got), &n, 5000);
    KCHECK(r == 0 && n == sizeof(data) && memcmp(got, data, n) == 0);
    fc_tcp_close(s);

    sim_teardown();
    KCHECK(sim_pages_outstanding == 0);
    return kcheck_summary("net fuzz");
}
