/* SPDX-License-Identifier: MIT */
/* PV network frontend (xen/netfront.c): kernel-private, used by the network glue. */
#ifndef FC_NETFRONT_H
#define FC_NETFRONT_H

#include <stddef.h>
#include <stdint.h>

typedef void (*fc_netfront_rx_t)(const void *frame, size_t len);

/* Connects device/vif/0 to its backend; frames go to `rx` (from fc_netfront_poll only).
 * 0, -FC_ENODEV without a vif, -FC_EIO/-FC_ENOMEM on failure. Registers for suspend. */
int fc_netfront_up(fc_netfront_rx_t rx, uint8_t mac[6]);
/* Copies the frame onto the tx ring. 0, -FC_EAGAIN (ring full or not connected: dropped),
 * -FC_EINVAL (size). */
int fc_netfront_transmit(const void *frame, size_t len);
/* Delivers received frames to rx, reposts their buffers, reclaims tx slots. Not from the
 * upcall. Returns how many frames it delivered. */
int fc_netfront_poll(void);
/* With events held: 1 if responses are waiting (then do not block). */
int fc_netfront_has_work(void);
/* 1 once after each reconnection (suspend/resume): time to announce ourselves. */
int fc_netfront_take_reconnected(void);

#endif
