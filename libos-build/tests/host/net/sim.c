/* SPDX-License-Identifier: MIT */
/* The simulated wire, clock and page allocator for the net/ host tests (see sim.h). */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fc/api.h>

uint64_t sim_now;
struct sim_impair sim_impair;
int sim_blackout;
size_t sim_max_tx_len;
uint64_t sim_wire_frames, sim_wire_lost;
struct sim_host sim_hosts[SIM_MAX_HOSTS];
int sim_nhosts;
void (*sim_tx_hook)(int from, const uint8_t *frame, size_t len);
long sim_pages_outstanding;

#define WIRE_SLOTS 4096
struct wire_frame {
    uint64_t at;
    uint64_t order;
    int to;
    uint16_t len;
    uint8_t data[FC_ETH_FRAME_MAX];
};
static struct wire_frame *wire;
static int wire_count;
static uint64_t wire_order;
static uint32_t rng = 1;

uint32_t sim_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

void sim_init(uint32_t seed)
{
    rng = seed ? seed : 1;
    sim_now = 1000 * SIM_S;
    memset(&sim_impair, 0, sizeof(sim_impair));
    sim_impair.delay_ns = 100000; /* 100 us */
    sim_blackout = 0;
    sim_max_tx_len = 0;
    sim_wire_frames = sim_wire_lost = 0;
    sim_nhosts = 0;
    sim_tx_hook = NULL;
    if (!wire)
        wire = calloc(WIRE_SLOTS, sizeof(*wire));
    wire_count = 0;
    memset(sim_hosts, 0, sizeof(sim_hosts));
}

/* ---- environment of net/ ---- */

uint64_t fc_netenv_now_ns(void)
{
    return sim_now;
}

static void deliver_due(void);
static void run_timers(void);

/* Lets time pass up to `limit`, but not past the next frame on the wire or any host's next
 * timer (so every host gets to act), then delivers and runs what is due. */
static void advance(uint64_t limit)
{
    uint64_t next = limit;
    for (int i = 0; i < wire_count; i++)
        if (wire[i].at < next)
            next = wire[i].at;
    for (int h = 0; h < sim_nhosts; h++) {
        if (sim_hosts[h].suspended)
            continue;
        net_cur = sim_hosts[h].ns;
        uint64_t d = fc_netstack_next_deadline();
        if (d < next)
            next = d;
    }
    if (next > sim_now)
        sim_now = next;
    deliver_due();
    run_timers();
}

/* A blocking call in a test app: deliver what is due, and let time pass towards the
 * deadline, 10 ms at most per call. */
void fc_netenv_wait(uint64_t deadline_ns)
{
    struct fc_netstack *saved = net_cur;
    deliver_due();
    run_timers();
    if (deadline_ns > sim_now)
        advance(deadline_ns < sim_now + 10 * SIM_MS ? deadline_ns : sim_now + 10 * SIM_MS);
    net_cur = saved;
}

void *fc_pages_alloc(size_t npages)
{
    void *p = aligned_alloc(FC_PAGE_SIZE, npages * FC_PAGE_SIZE);
    if (!p)
        return NULL;
    memset(p, 0, npages * FC_PAGE_SIZE);
    sim_pages_outstanding += (long)npages;
    return p;
}

void fc_pages_free(void *p, size_t npages)
{
    if (!p)
        return;
    sim_pages_outstanding -= (long)npages;
    free(p);
}

/* ---- the wire ---- */

static void wire_put(int to, const uint8_t *frame, size_t len, uint64_t at)
{
    if (wire_count == WIRE_SLOTS) {
        sim_wire_lost++;
        return;
    }
    struct wire_frame *w = &wire[wire_count++];
    w->at = at;
    w->order = wire_order++;
    w->to = to;
    w->len = (uint16_t)len;
    memcpy(w->data, frame, len);
}

static int sim_transmit(struct fc_netif *nif, const void *frame, size_t len)
{
    struct sim_host *from = nif->driver;
    const uint8_t *f = frame;
    if (len > sim_max_tx_len)
        sim_max_tx_len = len;
    if (sim_tx_hook)
        sim_tx_hook(from->id, f, len);
    if (len > FC_ETH_FRAME_MAX || len < NET_ETH_HLEN)
        return 0; /* the test notices through sim_max_tx_len */
    sim_wire_frames++;
    if (sim_blackout || (sim_impair.loss_ppm && sim_rand() % 1000000 < sim_impair.loss_ppm)) {
        sim_wire_lost++;
        return 0;
    }
    int copies = (sim_impair.dup_ppm && sim_rand() % 1000000 < sim_impair.dup_ppm) ? 2 : 1;
    for (int h = 0; h < sim_nhosts; h++) {
        struct sim_host *to = &sim_hosts[h];
        if (to == from)
            continue;
        int bcast = (f[0] & 1) != 0;
        if (!bcast && memcmp(f, to->nif.mac, 6) != 0)
            continue;
        for (int c = 0; c < copies; c++) {
            uint64_t at = sim_now + sim_impair.delay_ns;
            if (sim_impair.jitter_ns)
                at += sim_rand() % sim_impair.jitter_ns;
            wire_put(h, f, len, at);
        }
    }
    return 0;
}

static void deliver_due(void)
{
    /* in time order, ties in sending order; delivering may queue more frames */
    for (;;) {
        int best = -1;
        for (int i = 0; i < wire_count; i++)
            if (wire[i].at <= sim_now &&
                (best < 0 || wire[i].at < wire[best].at ||
                 (wire[i].at == wire[best].at && wire[i].order < wire[best].order)))
                best = i;
        if (best < 0)
            return;
        static struct wire_frame f;
        f = wire[best];
        wire[best] = wire[--wire_count];
        struct sim_host *h = &sim_hosts[f.to];
        if (h->suspended) {
            sim_wire_lost++;
            continue;
        }
        struct fc_netstack *saved = net_cur;
        net_cur = h->ns;
        fc_netstack_input(f.data, f.len);
        net_cur = saved;
    }
}

static void run_timers(void)
{
    struct fc_netstack *saved = net_cur;
    for (int h = 0; h < sim_nhosts; h++) {
        if (sim_hosts[h].suspended)
            continue;
        net_cur = sim_hosts[h].ns;
        if (fc_netstack_next_deadline() <= sim_now)
            fc_netstack_timers(sim_now);
    }
    net_cur = saved;
}

void sim_step(uint64_t max_advance)
{
    struct fc_netstack *saved = net_cur;
    deliver_due();
    run_timers();
    advance(sim_now + max_advance);
    net_cur = saved;
}

struct sim_host *sim_host_add(const char *ip, uint8_t prefix_len, const char *gateway, uint8_t mac_last)
{
    if (sim_nhosts == SIM_MAX_HOSTS)
        return NULL;
    struct sim_host *h = &sim_hosts[sim_nhosts];
    h->id = sim_nhosts++;
    uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, mac_last};
    memcpy(h->nif.mac, mac, 6);
    if (fc_net_parse_ipv4(ip, &h->nif.ip) != 0)
        abort();
    h->nif.prefix_len = prefix_len;
    if (gateway && fc_net_parse_ipv4(gateway, &h->nif.gateway) != 0)
        abort();
    h->nif.transmit = sim_transmit;
    h->nif.driver = h;
    h->ns = fc_netstack_create(&h->nif);
    if (!h->ns)
        abort();
    return h;
}

void sim_select(struct sim_host *h)
{
    fc_netstack_select(h ? h->ns : NULL);
}

void sim_inject(struct sim_host *h, const void *frame, size_t len)
{
    struct fc_netstack *saved = net_cur;
    net_cur = h->ns;
    fc_netstack_input(frame, len);
    net_cur = saved;
}

void sim_teardown(void)
{
    for (int h = 0; h < sim_nhosts; h++) {
        fc_netstack_destroy(sim_hosts[h].ns);
        sim_hosts[h].ns = NULL;
    }
    sim_nhosts = 0;
    wire_count = 0;
    net_cur = NULL;
}

long sim_recv_all(int sock, void *buf, size_t cap, size_t *got, long timeout_ms)
{
    long r;
    *got = 0;
    while ((r = fc_tcp_recv(sock, (uint8_t *)buf + *got, cap - *got, timeout_ms)) > 0)
        *got += (size_t)r;
    return r;
}
