/* SPDX-License-Identifier: MIT */
/*
 * The contract between a network driver and the TCP/IP stack (net/). The driver is
 * xen/netfront.c in an app VM, or a test harness in the host tests.
 *
 * The stack never blocks and never calls the hypervisor: it is driven by
 *   - fc_netstack_input() for each received Ethernet frame,
 *   - fc_netstack_timers() whenever fc_netstack_next_deadline() has passed,
 * and it transmits through nif->transmit. The blocking socket layer waits through
 * fc_netenv_wait(), which each environment provides.
 */
#ifndef FC_NETIF_H
#define FC_NETIF_H

#include <stddef.h>
#include <stdint.h>

#define FC_ETH_MTU 1500
#define FC_ETH_FRAME_MAX 1514 /* header + MTU, no FCS */

struct fc_netif {
    uint8_t mac[6];
    uint32_t ip;          /* host byte order */
    uint8_t prefix_len;
    uint32_t gateway;
    /* Copies the frame out before returning. 0, or -errno (-EAGAIN: ring full, dropped).
     * Must not call back into the stack (no fc_netstack_input from inside transmit). */
    int (*transmit)(struct fc_netif *nif, const void *frame, size_t len);
    void *driver; /* the driver's own (the host tests' simulated host); the stack never looks */
};

/* stack side (net/) */
/* The first call creates the stack (its tables come from fc_pages_alloc); a later call binds
 * the same stack to nif, keeping every connection. The address fields of nif are read on
 * every use, so they may be changed in place. */
void fc_netstack_attach(struct fc_netif *nif);
void fc_netstack_input(const void *frame, size_t len);  /* frame is only valid during the call */
void fc_netstack_timers(uint64_t now_ns);
uint64_t fc_netstack_next_deadline(void);               /* ~0 when no timer is armed */
/* After resume on a new host: gratuitous ARP (request and reply) so switches and neighbours
 * learn us, then every TCP connection resends what was in flight and sends duplicate ACKs so
 * peers resend theirs, instead of waiting for backed-off timers. Call it from the environment
 * (e.g. fc_netenv_wait), not from inside another stack call. */
void fc_netstack_announce(void);

/* environment side: provided by the kernel (net glue) or the host test harness */
uint64_t fc_netenv_now_ns(void);
/* Drive the driver (deliver received frames), then block until an event or deadline_ns. */
void fc_netenv_wait(uint64_t deadline_ns);

#endif
