/* SPDX-License-Identifier: MIT */
/*
 * Two stacks on a simulated Ethernet with loss, duplication, reordering and delay: bulk
 * transfers both ways with data integrity, many concurrent connections and the listen
 * backlog, orderly close (active, passive, simultaneous, with data still queued), resets
 * (refused, aborted, after a peer "reboot", retransmission limit), the zero window and the
 * persist timer, and a 3 s suspension (a migration) that connections survive.
 *
 * The apps are small state machines called once per simulation step with timeout-0 calls;
 * some setup uses the blocking calls, which let simulated time pass inside fc_netenv_wait.
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

static uint8_t pat(uint32_t stream, uint64_t off)
{
    uint32_t x = (uint32_t)off ^ (stream * 0x9e3779b9u) ^ (uint32_t)(off >> 32);
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return (uint8_t)x;
}

static void fill(uint8_t *buf, uint32_t stream, uint64_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = pat(stream, off + i);
}

static int matches(const uint8_t *buf, uint32_t stream, uint64_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pat(stream, off + i))
            return 0;
    return 1;
}

static uint32_t seed_offset; /* NET_PAIR_SEED: another run of the same scenarios */

static void setup(uint32_t seed)
{
    sim_init(seed + seed_offset * 1000);
    A = sim_host_add("10.0.0.1", 24, NULL, 1);
    B = sim_host_add("10.0.0.2", 24, NULL, 2);
}

static void impair(unsigned loss_ppm, unsigned dup_ppm, uint64_t delay, uint64_t jitter)
{
    sim_impair.loss_ppm = loss_ppm;
    sim_impair.dup_ppm = dup_ppm;
    sim_impair.delay_ns = delay;
    sim_impair.jitter_ns = jitter;
}

static struct net_usage usage(struct sim_host *h)
{
    struct net_usage u;
    sim_select(h);
    fc_netstack_usage(&u);
    return u;
}

static struct fc_net_info info_of(struct sim_host *h)
{
    struct fc_net_info i;
    sim_select(h);
    fc_net_info(&i);
    return i;
}

static void run_for(uint64_t ns)
{
    uint64_t end = sim_now + ns;
    while (sim_now < end)
        sim_step(end - sim_now < 10 * SIM_MS ? end - sim_now : 10 * SIM_MS);
}

/* Everything is released once TIME_WAIT is over: no control blocks, only the stack's pages. */
static void check_all_released(const char *what)
{
    run_for(3 * SIM_S);
    struct net_usage ua = usage(A), ub = usage(B);
    KCHECKF(ua.pcbs == 0 && ub.pcbs == 0 && ua.socks == 0 && ub.socks == 0, "%s: pcbs %u/%u socks %u/%u", what,
            ua.pcbs, ub.pcbs, ua.socks, ub.socks);
    long stack_pages = (long)ua.pages + (long)ub.pages;
    KCHECKF(sim_pages_outstanding == stack_pages, "%s: %ld pages out, stacks hold %ld", what,
            sim_pages_outstanding, stack_pages);
}

/* Connects B to A's listener and accepts it on A (blocking calls). */
static int connect_pair(uint16_t port, int *sa, int *sb)
{
    *sa = -1;
    sim_select(B);
    *sb = fc_tcp_connect(IP_A, port, 10000);
    if (*sb < 0)
        return *sb;
    return 0;
}

/* ---- a bidirectional stream endpoint ---- */
struct stream_end {
    struct sim_host *h;
    int sock;
    uint32_t tx_stream, rx_stream;
    uint64_t to_send, sent, received, expect;
    int bad, eof, err, closed;
    uint64_t last_progress, max_gap; /* longest time without received data */
};

static void pump(struct stream_end *e)
{
    uint8_t buf[6000];
    sim_select(e->h);
    if (e->closed)
        return;
    while (e->sent < e->to_send) {
        size_t n = e->to_send - e->sent < sizeof(buf) ? e->to_send - e->sent : 1 + sim_rand() % sizeof(buf);
        fill(buf, e->tx_stream, e->sent, n);
        long r = fc_tcp_send(e->sock, buf, n, 0);
        if (r <= 0) {
            if (r != -FC_EAGAIN)
                e->err = (int)r;
            break;
        }
        e->sent += (uint64_t)r;
    }
    for (;;) {
        long r = fc_tcp_recv(e->sock, buf, 1 + sim_rand() % sizeof(buf), 0);
        if (r > 0) {
            if (!matches(buf, e->rx_stream, e->received, (size_t)r))
                e->bad = 1;
            e->received += (uint64_t)r;
            if (e->last_progress && sim_now - e->last_progress > e->max_gap)
                e->max_gap = sim_now - e->last_progress;
            e->last_progress = sim_now;
            continue;
        }
        if (r == 0)
            e->eof = 1;
        else if (r != -FC_EAGAIN)
            e->err = (int)r;
        break;
    }
}

/* ---- 1. bulk transfer, 1 MiB each way at once, on a lossy, duplicating, reordering wire ---- */
static void test_bulk(void)
{
    setup(11);
    impair(20000, 10000, 200000, 400000); /* 2% loss, 1% duplicates, 0.2-0.6 ms, reordered */
    sim_select(A);
    int l = fc_tcp_listen(5001, 4);
    KCHECK(l >= 0);
    int sb, sa;
    KCHECK(connect_pair(5001, &sa, &sb) == 0);
    sim_select(A);
    uint32_t pip = 0;
    uint16_t pport = 0;
    sa = fc_tcp_accept(l, &pip, &pport, 5000);
    KCHECK(sa >= 0 && pip == IP_B && pport >= 49152);
    const uint64_t total = 1 << 20;
    struct stream_end ea = {A, sa, 1, 2, total, 0, 0, total, 0, 0, 0, 0, 0, 0};
    struct stream_end eb = {B, sb, 2, 1, total, 0, 0, total, 0, 0, 0, 0, 0, 0};
    uint64_t start = sim_now;
    while ((ea.received < total || eb.received < total) && sim_now < start + 120 * SIM_S && !ea.err && !eb.err) {
        pump(&ea);
        pump(&eb);
        sim_step(SIM_MS);
    }
    KCHECKF(ea.received == total && eb.received == total, "A got %lu, B got %lu of %lu in %lu ms",
            (unsigned long)ea.received, (unsigned long)eb.received, (unsigned long)total,
            (unsigned long)((sim_now - start) / SIM_MS));
    KCHECK(!ea.bad && !eb.bad && !ea.err && !eb.err);
    struct fc_net_info ia = info_of(A), ib = info_of(B);
    KCHECK(ia.tcp_retransmits + ib.tcp_retransmits > 0); /* the loss was real */
    KCHECK(ia.rx_out_of_window + ib.rx_out_of_window > 0); /* so were the duplicates */
    KCHECK(ia.tcp_resets_sent == 0 && ib.tcp_resets_sent == 0);
    printf("bulk: 2 x 1 MiB in %lu ms simulated; retransmits %lu/%lu, out of order %lu/%lu, out of window %lu/%lu\n",
           (unsigned long)((sim_now - start) / SIM_MS), (unsigned long)ia.tcp_retransmits,
           (unsigned long)ib.tcp_retransmits, (unsigned long)ia.tcp_out_of_order,
           (unsigned long)ib.tcp_out_of_order, (unsigned long)ia.rx_out_of_window,
           (unsigned long)ib.rx_out_of_window);

    /* orderly close: A first; B reads the end of the stream, then closes too */
    sim_select(A);
    KCHECK(fc_tcp_close(sa) == 0);
    KCHECK(fc_tcp_recv(sa, NULL, 0, 0) == -FC_EBADF); /* the number is free at once */
    sim_select(B);
    char c;
    KCHECK(fc_tcp_recv(sb, &c, 1, 5000) == 0);
    struct fc_pollfd pfd = {sb, FC_POLLIN | FC_POLLOUT, 0};
    KCHECK(fc_net_poll(&pfd, 1, 0) == 1 && (pfd.revents & FC_POLLIN));
    KCHECK(fc_tcp_send(sb, "late", 4, 0) == 4); /* CLOSE_WAIT may still send */
    KCHECK(fc_tcp_close(sb) == 0);
    sim_select(A);
    KCHECK(fc_tcp_close(l) == 0);
    check_all_released("bulk");
    sim_teardown();
}

/* ---- 2. 40 concurrent connections through a backlog of 32, each echoing 24 KiB ---- */
#define NCONN 40
static void test_concurrent(void)
{
    setup(22);
    impair(5000, 2000, 300000, 300000);
    sim_select(A);
    int l = fc_tcp_listen(7, 32);
    KCHECK(l >= 0);
    KCHECK(fc_tcp_listen(7, 1) == -FC_EADDRINUSE);
    int cb[NCONN], ca[NCONN];
    int naccepted = 0;
    for (int i = 0; i < NCONN; i++) {
        sim_select(B);
        cb[i] = fc_tcp_connect(IP_A, 7, 10000);
        KCHECKF(cb[i] >= 0, "connect %d: %d", i, cb[i]);
        if (i == 20) { /* the listener has been holding 21 connections */
            sim_select(A);
            struct fc_pollfd pfd = {l, FC_POLLIN, 0};
            KCHECK(fc_net_poll(&pfd, 1, 0) == 1 && pfd.revents == FC_POLLIN);
        }
        if (i >= 20) {
            sim_select(A);
            int s;
            while ((s = fc_tcp_accept(l, NULL, NULL, 0)) >= 0)
                ca[naccepted++] = s;
        }
    }
    sim_select(A);
    while (naccepted < NCONN) {
        int s = fc_tcp_accept(l, NULL, NULL, 2000);
        KCHECK(s >= 0);
        if (s < 0)
            break;
        ca[naccepted++] = s;
    }
    KCHECK(naccepted == NCONN);
    struct net_usage u = usage(A);
    KCHECK(u.pcbs == NCONN + 1 && u.socks == NCONN + 1);

    /* B sends a distinct stream on each; A echoes whatever arrives; B checks and closes */
    const uint64_t per = 24 * 1024;
    uint64_t sent[NCONN] = {0}, echoed_back[NCONN] = {0};
    int done[NCONN] = {0}, bad = 0, closed_a[NCONN] = {0};
    int ndone = 0;
    uint64_t start = sim_now;
    uint8_t buf[3000];
    while (ndone < NCONN && sim_now < start + 120 * SIM_S) {
        sim_select(B);
        for (int i = 0; i < NCONN; i++) {
            if (done[i])
                continue;
            if (sent[i] < per) {
                size_t n = per - sent[i] < 1000 ? per - sent[i] : 1000;
                fill(buf, (uint32_t)i + 100, sent[i], n);
                long r = fc_tcp_send(cb[i], buf, n, 0);
                if (r > 0)
                    sent[i] += (uint64_t)r;
            }
            long r = fc_tcp_recv(cb[i], buf, sizeof(buf), 0);
            if (r > 0) {
                if (!matches(buf, (uint32_t)i + 100, echoed_back[i], (size_t)r))
                    bad++;
                echoed_back[i] += (uint64_t)r;
            }
            if (echoed_back[i] == per) {
                fc_tcp_close(cb[i]);
                done[i] = 1;
                ndone++;
            }
        }
        sim_select(A);
        struct fc_pollfd pfds[NCONN];
        for (int i = 0; i < NCONN; i++) {
            pfds[i].sock = closed_a[i] ? -1 : ca[i];
            pfds[i].events = FC_POLLIN;
        }
        int ready = fc_net_poll(pfds, NCONN, 0);
        for (int i = 0; i < NCONN && ready > 0; i++) {
            if (!(pfds[i].revents & FC_POLLIN))
                continue;
            long r = fc_tcp_recv(ca[i], buf, sizeof(buf), 0);
            if (r > 0) {
                long w = fc_tcp_send(ca[i], buf, (size_t)r, 5000); /* may let time pass */
                if (w != r)
                    bad++;
            } else if (r == 0) {
                fc_tcp_close(ca[i]);
                closed_a[i] = 1;
            }
        }
        sim_step(SIM_MS);
    }
    KCHECKF(ndone == NCONN && bad == 0, "%d of %d connections done, %d bad", ndone, NCONN, bad);
    run_for(SIM_S);
    sim_select(A);
    for (int i = 0; i < NCONN; i++) {
        if (closed_a[i])
            continue;
        char c;
        KCHECK(fc_tcp_recv(ca[i], &c, 1, 1000) == 0);
        fc_tcp_close(ca[i]);
    }
    /* a full backlog: the third connection waits (its SYNs are dropped) until one is accepted */
    int l2 = fc_tcp_listen(8, 2);
    sim_select(B);
    int x1 = fc_tcp_connect(IP_A, 8, 2000), x2 = fc_tcp_connect(IP_A, 8, 2000);
    KCHECK(x1 >= 0 && x2 >= 0);
    KCHECK(fc_tcp_connect(IP_A, 8, 500) == -FC_ETIMEDOUT);
    sim_select(A);
    int y1 = fc_tcp_accept(l2, NULL, NULL, 0);
    KCHECK(y1 >= 0);
    sim_select(B);
    int x3 = fc_tcp_connect(IP_A, 8, 10000);
    KCHECK(x3 >= 0);
    fc_tcp_close(x1);
    fc_tcp_close(x2);
    fc_tcp_close(x3);
    sim_select(A);
    fc_tcp_close(y1);
    fc_tcp_close(l2); /* resets the two never accepted */
    fc_tcp_close(l);
    check_all_released("concurrent");
    sim_teardown();
}

/* ---- 3. resets ---- */
static void test_resets(void)
{
    setup(33);
    sim_select(A);
    int l = fc_tcp_listen(80, 8);
    /* nobody listens on 81: refused at once */
    sim_select(B);
    uint64_t t0 = sim_now;
    KCHECK(fc_tcp_connect(IP_A, 81, 5000) == -FC_ECONNREFUSED);
    KCHECK(sim_now - t0 < 100 * SIM_MS);
    KCHECK(info_of(A).tcp_resets_sent == 1);

    /* an abort resets the peer: recv and send report it, poll says HUP */
    int sa, sb;
    connect_pair(80, &sa, &sb);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    KCHECK(sa >= 0);
    sim_select(B);
    KCHECK(fc_tcp_send(sb, "hello", 5, 0) == 5);
    run_for(10 * SIM_MS);
    sim_select(A);
    KCHECK(fc_tcp_abort(sa) == 0);
    run_for(10 * SIM_MS);
    sim_select(B);
    char buf[16];
    struct fc_pollfd pfd = {sb, FC_POLLIN, 0};
    KCHECK(fc_net_poll(&pfd, 1, 0) == 1 && (pfd.revents & FC_POLLHUP));
    KCHECK(fc_tcp_recv(sb, buf, sizeof(buf), 0) == -FC_ECONNRESET);
    KCHECK(fc_tcp_send(sb, "x", 1, 0) == -FC_ECONNRESET);
    KCHECK(fc_tcp_close(sb) == 0);
    KCHECK(info_of(A).tcp_resets_sent == 2);

    /* the peer lost its state (a reboot): our next segment draws an RST */
    connect_pair(80, &sa, &sb);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    KCHECK(sa >= 0);
    fc_netstack_destroy(A->ns);
    A->ns = fc_netstack_create(&A->nif);
    sim_select(B);
    KCHECK(fc_tcp_send(sb, "anyone?", 7, 0) == 7);
    KCHECK(fc_tcp_recv(sb, buf, sizeof(buf), 2000) == -FC_ECONNRESET);
    fc_tcp_close(sb);

    /* retransmission limit: a peer that is gone for good; silence of a few seconds is
     * tolerated, a long one ends in a reset */
    sim_select(A);
    l = fc_tcp_listen(80, 8);
    connect_pair(80, &sa, &sb);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    sim_blackout = 1;
    sim_select(B);
    KCHECK(fc_tcp_send(sb, "into the void", 13, 0) == 13);
    t0 = sim_now;
    long r = fc_tcp_recv(sb, buf, sizeof(buf), 10000);
    KCHECK(r == -FC_EAGAIN); /* 10 s of silence: still connected */
    r = fc_tcp_recv(sb, buf, sizeof(buf), 300000);
    KCHECK(r == -FC_ECONNRESET);
    KCHECKF(sim_now - t0 > 20 * SIM_S && sim_now - t0 < 120 * SIM_S, "reset after %lu ms",
            (unsigned long)((sim_now - t0) / SIM_MS));
    KCHECK(info_of(B).tcp_retransmits >= NET_TCP_RETRIES);
    sim_blackout = 0;
    sim_select(B);
    fc_tcp_close(sb);
    sim_select(A);
    fc_tcp_abort(sa);
    fc_tcp_close(l);
    /* a connect to a silent address gives up at its timeout */
    sim_select(B);
    t0 = sim_now;
    KCHECK(fc_tcp_connect(IP4(10, 0, 0, 77), 80, 1500) == -FC_ETIMEDOUT);
    KCHECK(sim_now - t0 >= 1500 * SIM_MS && sim_now - t0 < 1700 * SIM_MS);
    check_all_released("resets");
    sim_teardown();
}

/* ---- 4. a migration: one side suspended 3.3 s mid-transfer, then announced ----
 * (3.3 s: at least the 3 s asked for, and not a sum of the backed-off timeouts 0.2+0.4+...,
 * which would hide what the announcement is for) */
#define SUSPEND_NS (3300 * SIM_MS)
static void suspension_run(int announce, int blackout_only)
{
    setup(44 + (uint32_t)announce);
    impair(10000, 0, 200000, 200000);
    sim_select(A);
    int l = fc_tcp_listen(9000, 4);
    int sa, sb;
    KCHECK(connect_pair(9000, &sa, &sb) == 0);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    const uint64_t total = 512 * 1024;
    struct stream_end ea = {A, sa, 5, 6, total, 0, 0, total, 0, 0, 0, 0, 0, 0};
    struct stream_end eb = {B, sb, 6, 5, total, 0, 0, total, 0, 0, 0, 0, 0, 0};
    uint64_t start = sim_now, resumed = 0;
    int suspended = 0;
    ea.last_progress = eb.last_progress = start;
    while ((ea.received < total || eb.received < total) && sim_now < start + 120 * SIM_S && !ea.err && !eb.err) {
        if (!suspended && ea.received > total / 3) {
            suspended = 1;
            if (blackout_only) {
                sim_blackout = 1;
            } else {
                A->suspended = 1;
            }
            uint64_t until = sim_now + SUSPEND_NS;
            while (sim_now < until) {
                pump(&eb); /* only B runs */
                sim_step(10 * SIM_MS);
            }
            sim_blackout = 0;
            A->suspended = 0;
            resumed = sim_now;
            /* no random loss for a moment: the check below measures the recovery the
             * announcement starts, not the luck of its one fast retransmission */
            sim_impair.loss_ppm = 0;
            if (announce) {
                sim_select(A);
                fc_netstack_announce();
            }
        }
        if (resumed && sim_now > resumed + 300 * SIM_MS)
            sim_impair.loss_ppm = 10000;
        if (!A->suspended)
            pump(&ea);
        pump(&eb);
        sim_step(SIM_MS);
    }
    KCHECKF(ea.received == total && eb.received == total && !ea.bad && !eb.bad && !ea.err && !eb.err,
            "announce %d blackout %d: A got %lu, B got %lu, errors %d/%d", announce, blackout_only,
            (unsigned long)ea.received, (unsigned long)eb.received, ea.err, eb.err);
    KCHECK(resumed != 0);
    /* the longest time either side went without data, less the suspension itself */
    uint64_t gap = ea.max_gap > eb.max_gap ? ea.max_gap : eb.max_gap;
    uint64_t stall = gap > SUSPEND_NS ? gap - SUSPEND_NS : 0;
    printf("suspension (announce %d, %s): longest gap %lu ms, %lu ms beyond the 3.3 s suspension\n", announce,
           blackout_only ? "wire down" : "VM suspended", (unsigned long)(gap / SIM_MS),
           (unsigned long)(stall / SIM_MS));
    KCHECK(gap >= SUSPEND_NS);
    if (announce)
        KCHECKF(stall < SIM_S, "stall %lu ms", (unsigned long)(stall / SIM_MS));
    else
        KCHECKF(stall < 20 * SIM_S, "stall %lu ms", (unsigned long)(stall / SIM_MS));
    sim_select(A);
    fc_tcp_close(sa);
    fc_tcp_close(l);
    sim_select(B);
    fc_tcp_close(sb);
    check_all_released("suspension");
    sim_teardown();
}

/* ---- 5. zero window: the receiver stops reading; the sender probes, then resumes ---- */
static void test_zero_window(void)
{
    setup(55);
    impair(30000, 0, 200000, 0);
    sim_select(A);
    int l = fc_tcp_listen(9100, 4);
    int sa, sb;
    KCHECK(connect_pair(9100, &sa, &sb) == 0);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    const uint64_t total = 200 * 1024;
    static uint8_t data[200 * 1024];
    fill(data, 9, 0, total);
    sim_select(B);
    long queued = fc_tcp_send(sb, data, total, 2000); /* fills A's window and B's buffer */
    KCHECKF(queued > 0 && queued < (long)total && queued <= 2 * (long)NET_TCP_BUF, "queued %ld", queued);
    uint64_t frames_before = sim_wire_frames;
    run_for(20 * SIM_S); /* nobody reads for 20 s */
    uint64_t probes = sim_wire_frames - frames_before;
    KCHECKF(probes > 2 && probes < 40, "%lu frames in 20 s of zero window", (unsigned long)probes);
    struct fc_pollfd pfd = {sb, FC_POLLOUT, 0};
    KCHECK(fc_net_poll(&pfd, 1, 0) == 0); /* still full, still connected */
    /* now A reads everything while B sends the rest */
    uint64_t sent = (uint64_t)queued, got = 0;
    int bad = 0;
    uint8_t buf[4096];
    uint64_t start = sim_now;
    while (got < total && sim_now < start + 60 * SIM_S) {
        sim_select(B);
        if (sent < total) {
            long r = fc_tcp_send(sb, data + sent, total - sent, 0);
            if (r > 0)
                sent += (uint64_t)r;
        }
        sim_select(A);
        long r = fc_tcp_recv(sa, buf, sizeof(buf), 0);
        if (r > 0) {
            if (memcmp(buf, data + got, (size_t)r) != 0)
                bad = 1;
            got += (uint64_t)r;
        } else if (r != -FC_EAGAIN) {
            break;
        }
        sim_step(SIM_MS);
    }
    KCHECKF(got == total && !bad, "got %lu of %lu", (unsigned long)got, (unsigned long)total);
    KCHECK(info_of(B).tcp_resets_sent == 0 && info_of(A).tcp_resets_sent == 0);
    sim_select(A);
    fc_tcp_close(sa);
    fc_tcp_close(l);
    sim_select(B);
    fc_tcp_close(sb);
    check_all_released("zero window");
    sim_teardown();
}

/* ---- 6. close paths ---- */
static void test_close_paths(void)
{
    setup(66);
    impair(20000, 5000, 200000, 200000);
    sim_select(A);
    int l = fc_tcp_listen(9200, 8);
    int sa, sb;

    /* simultaneous close */
    connect_pair(9200, &sa, &sb);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    KCHECK(fc_tcp_close(sa) == 0);
    sim_select(B);
    KCHECK(fc_tcp_close(sb) == 0);
    run_for(3 * SIM_S);
    KCHECK(usage(A).pcbs == 1 && usage(B).pcbs == 0);

    /* close with data still queued: all of it arrives, then the end of the stream */
    connect_pair(9200, &sa, &sb);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    static uint8_t data[12000], got[12000];
    fill(data, 77, 0, sizeof(data));
    KCHECK(fc_tcp_send(sa, data, sizeof(data), 0) == (long)sizeof(data));
    KCHECK(fc_tcp_close(sa) == 0);
    sim_select(B);
    size_t n;
    long r = sim_recv_all(sb, got, sizeof(got), &n, 5000);
    KCHECK(r == 0 && n == sizeof(data) && memcmp(got, data, n) == 0);
    fc_tcp_close(sb);

    /* an orphan whose peer never reads: given up (with an RST) after the linger time */
    connect_pair(9200, &sa, &sb);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    static uint8_t big[40000];
    long q = fc_tcp_send(sa, big, sizeof(big), 2000);
    KCHECK(q > 0 && q < (long)sizeof(big));
    KCHECK(fc_tcp_close(sa) == 0);
    run_for(30 * SIM_S);
    KCHECK(usage(A).pcbs == 2); /* still trying */
    run_for(40 * SIM_S);
    KCHECK(usage(A).pcbs == 1); /* just the listener */
    sim_select(B);
    n = 0;
    while ((r = fc_tcp_recv(sb, got, sizeof(got), 1000)) > 0)
        n += (size_t)r;
    KCHECKF(r == -FC_ECONNRESET, "n %zu r %ld", n, r); /* the reset discards what was unread */
    fc_tcp_close(sb);

    /* many short connections in a row, like HTTP/1.0 clients */
    int ok = 0;
    for (int i = 0; i < 300; i++) {
        sim_select(B);
        sb = fc_tcp_connect(IP_A, 9200, 5000);
        if (sb < 0)
            continue;
        KCHECK(fc_tcp_send(sb, "GET / HTTP/1.0\r\n\r\n", 18, 0) == 18);
        sim_select(A);
        sa = fc_tcp_accept(l, NULL, NULL, 5000);
        if (sa < 0)
            continue;
        char req[64];
        r = fc_tcp_recv(sa, req, sizeof(req), 5000);
        fc_tcp_send(sa, data, 3000, 5000);
        fc_tcp_close(sa);
        sim_select(B);
        r = sim_recv_all(sb, got, sizeof(got), &n, 5000);
        if (r == 0 && n == 3000 && memcmp(got, data, 3000) == 0)
            ok++;
        fc_tcp_close(sb);
        struct net_usage ua = usage(A);
        if (ua.pcbs > NET_PCBS)
            break;
    }
    KCHECKF(ok == 300, "%d of 300 short connections", ok);
    sim_select(A);
    fc_tcp_close(l);
    check_all_released("close paths");
    sim_teardown();
}

/* ---- 7. UDP between the two, and bounded socket tables ---- */
static void test_udp_and_limits(void)
{
    setup(77);
    sim_select(A);
    int ua = fc_udp_bind(53);
    sim_select(B);
    int ub = fc_udp_bind(0);
    KCHECK(ua >= 0 && ub >= 0);
    KCHECK(fc_udp_sendto(ub, "query", 5, IP_A, 53) == 5);
    sim_select(A);
    char buf[32];
    uint32_t ip;
    uint16_t port;
    KCHECK(fc_udp_recvfrom(ua, buf, sizeof(buf), &ip, &port, 1000) == 5 && ip == IP_B);
    KCHECK(fc_udp_sendto(ua, "answer", 6, ip, port) == 6);
    sim_select(B);
    KCHECK(fc_udp_recvfrom(ub, buf, sizeof(buf), &ip, &port, 1000) == 6 && memcmp(buf, "answer", 6) == 0 &&
           port == 53);
    fc_udp_close(ub);
    /* sockets run out cleanly */
    int socks[FC_NET_MAX_SOCKETS + 1], n = 0;
    for (int i = 0; i < FC_NET_MAX_SOCKETS + 1; i++) {
        socks[i] = fc_udp_bind(0);
        if (socks[i] >= 0)
            n++;
    }
    KCHECK(n == FC_NET_MAX_SOCKETS && socks[FC_NET_MAX_SOCKETS] == -FC_EMFILE);
    KCHECK(fc_tcp_listen(1, 1) == -FC_EMFILE);
    for (int i = 0; i < n; i++)
        fc_udp_close(socks[i]);
    sim_select(A);
    fc_udp_close(ua);
    check_all_released("udp");
    sim_teardown();
}

/* ---- 8. delayed ACK: the answer carries the ACK; a lone segment is ACKed within 20 ms ---- */
static int frames_from[SIM_MAX_HOSTS];
static void count_frames(int from, const uint8_t *f, size_t len)
{
    (void)f;
    (void)len;
    frames_from[from]++;
}

static void test_delayed_ack(void)
{
    setup(88);
    sim_select(A);
    int l = fc_tcp_listen(80, 4);
    int sa, sb;
    connect_pair(80, &sa, &sb);
    sim_select(A);
    sa = fc_tcp_accept(l, NULL, NULL, 5000);
    run_for(100 * SIM_MS);
    sim_tx_hook = count_frames;
    char buf[256];
    for (int i = 0; i < 10; i++) {
        frames_from[0] = frames_from[1] = 0;
        sim_select(B);
        KCHECK(fc_tcp_send(sb, "GET /counter HTTP/1.0\r\n\r\n", 25, 0) == 25);
        sim_select(A);
        KCHECK(fc_tcp_recv(sa, buf, sizeof(buf), 1000) == 25);
        KCHECK(fc_tcp_send(sa, "HTTP/1.0 200 OK\r\n\r\n42", 21, 0) == 21);
        sim_select(B);
        KCHECK(fc_tcp_recv(sb, buf, sizeof(buf), 1000) == 21);
        run_for(100 * SIM_MS);
        /* one segment each way with its ACK riding along, then B's delayed ACK */
        KCHECKF(frames_from[0] == 1 && frames_from[1] == 2, "A sent %d, B sent %d", frames_from[0],
                frames_from[1]);
    }
    /* nobody answers: the ACK still comes, after the delay */
    frames_from[0] = 0;
    sim_select(B);
    KCHECK(fc_tcp_send(sb, "x", 1, 0) == 1);
    run_for(5 * SIM_MS);
    KCHECK(frames_from[0] == 0);
    run_for(30 * SIM_MS);
    KCHECK(frames_from[0] == 1);
    KCHECK(info_of(B).tcp_retransmits == 0);
    sim_tx_hook = NULL;
    sim_select(A);
    fc_tcp_close(sa);
    fc_tcp_close(l);
    sim_select(B);
    fc_tcp_close(sb);
    check_all_released("delayed ack");
    sim_teardown();
}

int main(void)
{
    const char *seed_env = getenv("NET_PAIR_SEED");
    seed_offset = seed_env ? (uint32_t)strtoul(seed_env, NULL, 0) : 0;
    test_bulk();
    test_concurrent();
    test_resets();
    suspension_run(1, 0);
    suspension_run(0, 0);
    suspension_run(0, 1);
    suspension_run(1, 1);
    test_zero_window();
    test_close_paths();
    test_udp_and_limits();
    test_delayed_ack();
    KCHECK(sim_max_tx_len <= FC_ETH_FRAME_MAX);
    KCHECK(sim_pages_outstanding == 0);
    return kcheck_summary("net pair");
}
