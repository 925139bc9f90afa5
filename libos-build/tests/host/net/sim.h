/* SPDX-License-Identifier: MIT */
/*
 * Host test harness for net/: several stack instances in one process on a simulated Ethernet
 * with simulated time. The harness owns the clock (fc_netenv_now_ns) and the wire: frames
 * are delivered after a delay, and may be lost, duplicated or reordered (jitter), all from a
 * seeded PRNG, so every run with the same seed is the same run.
 */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

#include <fc/net.h>
#include <fc/netif.h>

#include "../../../net/net_internal.h"

#define SIM_MAX_HOSTS 4
#define SIM_MS 1000000ULL
#define SIM_S 1000000000ULL

struct sim_host {
    struct fc_netif nif;
    struct fc_netstack *ns;
    int id;
    int suspended;            /* no frames in, no timers (a VM being migrated) */
};

struct sim_impair {
    unsigned loss_ppm, dup_ppm; /* per million frames */
    uint64_t delay_ns, jitter_ns; /* jitter > 0 reorders */
};

extern uint64_t sim_now;
extern struct sim_impair sim_impair;
extern int sim_blackout;        /* every frame put on the wire is lost */
extern size_t sim_max_tx_len;   /* largest frame any stack transmitted */
extern uint64_t sim_wire_frames, sim_wire_lost;
extern struct sim_host sim_hosts[SIM_MAX_HOSTS];
extern int sim_nhosts;

void sim_init(uint32_t seed);
uint32_t sim_rand(void);
struct sim_host *sim_host_add(const char *ip, uint8_t prefix_len, const char *gateway, uint8_t mac_last);
void sim_select(struct sim_host *h);
/* Delivers due frames and runs due timers on every host, then advances the clock to the next
 * event, at most by max_advance. */
void sim_step(uint64_t max_advance);
void sim_inject(struct sim_host *h, const void *frame, size_t len); /* straight into its stack */
void sim_teardown(void);  /* destroys every stack */
/* Receives on sock (the selected host's) into buf until the peer closes, an error, or a
 * timeout; *got is how many bytes arrived. Returns the last fc_tcp_recv result (0: closed). */
long sim_recv_all(int sock, void *buf, size_t cap, size_t *got, long timeout_ms);

/* every transmitted frame is also offered to this hook (may be NULL) */
extern void (*sim_tx_hook)(int from, const uint8_t *frame, size_t len);

/* pages handed out by fc_pages_alloc and not yet freed */
extern long sim_pages_outstanding;

#endif
