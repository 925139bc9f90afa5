/* SPDX-License-Identifier: MIT */
/*
 * PV network frontend for device/vif/0 (protocol: xen/io/netif.h, states: xen/io/xenbus.h).
 *
 * One queue, one event channel for both rings, no scatter-gather, GSO or checksum offload:
 * every frame fits one slot. Receive buffers are whole pages granted writable to the
 * backend, which copies frames into them (request-rx-copy); each is reposted as soon as its
 * frame has been handed on. Transmit copies the frame into one of TX_SLOTS half-page slots
 * granted read-only, so the caller's buffer is free on return; tx slots are reclaimed lazily.
 *
 * The event handler only wakes the vCPU: frames are delivered by fc_netfront_poll, called
 * from normal context (the network glue), never from the upcall.
 *
 * Suspend: the rings are left as they are, connected (as Linux's netfront does; closing first,
 * Mini-OS's way, cost ~0.1 s of downtime). In the new domain the old grants and port are void
 * and the handshake runs again with the new backend (its path changes); after a cancelled
 * suspend the same connection carries on.
 */
#include <fc/gnttab.h>
#include <fc/netfront.h>
#include <fc/netif.h>

/* Barriers for the shared-ring macros: x86 only reorders a store with a later load. */
#define xen_mb() fc_mb()
#define xen_rmb() fc_barrier()
#define xen_wmb() fc_barrier()
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#define RX_BUFS 64     /* pages posted for receiving (the ring has 256 slots) */
#define TX_SLOTS 64    /* frames in flight */
#define TX_SLOT_SIZE 2048
#define TX_PAGES (TX_SLOTS * TX_SLOT_SIZE / FC_PAGE_SIZE)
#define ETH_MIN_FRAME 60
#define HANDSHAKE_TIMEOUT_NS 10000000000ULL
#define CLOSE_TIMEOUT_NS 2000000000ULL
#define WATCH_SAFETY_NS 50000000ULL
#define WATCH_TOKEN "fc:netfront"
#define FE "device/vif/0/"

static struct {
    int present;   /* brought up once: registered for suspend */
    int connected; /* rings live: transmit and poll work */
    int reconnected;
    domid_t backend_id;
    char backend[128];
    uint8_t mac[6];
    fc_netfront_rx_t rx_cb;
    netif_tx_sring_t *tx_sring;
    netif_rx_sring_t *rx_sring;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    grant_ref_t tx_ring_ref, rx_ring_ref;
    evtchn_port_t port; /* 0: none */
    char *rx_buf[RX_BUFS];
    grant_ref_t rx_ref[RX_BUFS];
    char *tx_page[TX_PAGES];
    grant_ref_t tx_ref[TX_PAGES];
    uint16_t tx_free[TX_SLOTS];
    unsigned tx_nfree;
    uint8_t tx_busy[TX_SLOTS];
} nf;

/* The last handshake's phases, for the console line after a resume. */
static struct {
    uint64_t reconnect_us, wait_initwait_us, publish_us, wait_connected_us;
} timing;

static void nf_event(evtchn_port_t port)
{
    (void)port; /* the vCPU is awake now; fc_netfront_poll does the work */
}

static int parse_uint(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    if (*s < '0' || *s > '9')
        return -FC_EINVAL;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    *out = v;
    return *s ? -FC_EINVAL : 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[0]), lo = hex_digit(s[1]);
        if (hi < 0 || lo < 0 || s[2] != (i == 5 ? 0 : ':'))
            return -FC_EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
        s += 3;
    }
    return 0;
}

static int backend_state(void)
{
    char path[160], buf[16];
    unsigned long v;
    fc_ksnprintf(path, sizeof(path), "%s/state", nf.backend);
    int rc = fc_xs_read(path, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    return parse_uint(buf, &v) ? -FC_EPROTO : (int)v;
}

/* Waits until the backend's state is in `mask` (bits of XenbusState), woken by the watch
 * connect() holds on it (polling xenstore every millisecond kept dom0's xenstored busy while
 * netback needed dom0's only vCPU). The state, or -errno (-FC_ETIMEDOUT, or the read's error:
 * the backend directory has gone). */
static int wait_backend(unsigned mask, uint64_t timeout_ns)
{
    uint64_t end = fc_monotonic_ns() + timeout_ns;
    for (;;) {
        unsigned seen = fc_xs_kernel_events();
        int st = backend_state();
        if (st < 0 && st != -FC_EPROTO)
            return st;
        if (st >= 0 && st < 32 && (mask & (1U << st)))
            return st;
        uint64_t now = fc_monotonic_ns();
        if (now >= end)
            return -FC_ETIMEDOUT;
        /* a missed event costs at most WATCH_SAFETY_NS, never the whole wait */
        fc_xs_wait_kernel_event(seen, end - now > WATCH_SAFETY_NS ? now + WATCH_SAFETY_NS : end);
    }
}

static int set_state(enum xenbus_state st)
{
    char v[4];
    fc_ksnprintf(v, sizeof(v), "%d", (int)st);
    return fc_xs_write(FE "state", v);
}

static int read_backend(void)
{
    char buf[16];
    unsigned long id;
    if (fc_xs_read(FE "backend", nf.backend, sizeof(nf.backend)) <= 0)
        return -FC_ENODEV;
    if (fc_xs_read(FE "backend-id", buf, sizeof(buf)) <= 0 || parse_uint(buf, &id) || id > 0x7fef)
        return -FC_ENODEV;
    nf.backend_id = (domid_t)id;
    return 0;
}

static void ungrant(grant_ref_t *ref)
{
    if (*ref == FC_GNTTAB_INVALID_REF)
        return;
    if (fc_gnttab_end(*ref)) /* still mapped by the backend: leave it, grant anew */
        fc_kprintf("[flexcapsule] netfront: grant %u still in use by the backend\n", *ref);
    *ref = FC_GNTTAB_INVALID_REF;
}

static int grant(const void *va, int readonly, grant_ref_t *ref)
{
    long r = fc_gnttab_grant(nf.backend_id, va, readonly);
    if (r < 0)
        return (int)r;
    *ref = (grant_ref_t)r;
    return 0;
}

/* Local teardown: no more events, no more grants. */
static void release_resources(void)
{
    nf.connected = 0;
    if (nf.port) {
        fc_evtchn_close(nf.port);
        nf.port = 0;
    }
    ungrant(&nf.tx_ring_ref);
    ungrant(&nf.rx_ring_ref);
    for (unsigned i = 0; i < RX_BUFS; i++)
        ungrant(&nf.rx_ref[i]);
    for (unsigned i = 0; i < TX_PAGES; i++)
        ungrant(&nf.tx_ref[i]);
}

/* In a new domain every old grant and port is void: forget them without revoking. */
static void forget_resources(void)
{
    nf.connected = 0;
    nf.port = 0;
    nf.tx_ring_ref = nf.rx_ring_ref = FC_GNTTAB_INVALID_REF;
    for (unsigned i = 0; i < RX_BUFS; i++)
        nf.rx_ref[i] = FC_GNTTAB_INVALID_REF;
    for (unsigned i = 0; i < TX_PAGES; i++)
        nf.tx_ref[i] = FC_GNTTAB_INVALID_REF;
}

/* No transaction: netback reads these only once we switch to Connected, after them. Keys
 * whose absence means what we want (feature-sg, feature-gso-*) are not written. */
static int publish(void)
{
    char v[16];
    int rc;
    fc_ksnprintf(v, sizeof(v), "%u", nf.tx_ring_ref);
    rc = fc_xs_write(FE "tx-ring-ref", v);
    fc_ksnprintf(v, sizeof(v), "%u", nf.rx_ring_ref);
    rc = rc ? rc : fc_xs_write(FE "rx-ring-ref", v);
    fc_ksnprintf(v, sizeof(v), "%u", nf.port);
    rc = rc ? rc : fc_xs_write(FE "event-channel", v);
    rc = rc ? rc : fc_xs_write(FE "request-rx-copy", "1");
    rc = rc ? rc : fc_xs_write(FE "feature-rx-notify", "1");
    /* We can neither take frames with blank checksums nor send them. */
    rc = rc ? rc : fc_xs_write(FE "feature-no-csum-offload", "1");
    return rc;
}

/* The handshake with the backend named in our device directory. `again`: the backend knew
 * us before (a cancelled suspend), so our state goes back to Initialising; in a new domain
 * the toolstack has just written it. Kernel busy: no suspend can come in between. */
static int handshake(int again)
{
    uint64_t t0 = fc_monotonic_ns();
    int rc;
    if (again) /* after our Closing/Closed, netback goes back to InitWait */
        set_state(XenbusStateInitialising);
    int st = wait_backend(1U << XenbusStateInitWait | 1U << XenbusStateConnected,
                          HANDSHAKE_TIMEOUT_NS);
    if (st == XenbusStateConnected) {
        /* still connected to an earlier incarnation of us: make it let go first */
        set_state(XenbusStateClosing);
        wait_backend(1U << XenbusStateClosing | 1U << XenbusStateClosed, CLOSE_TIMEOUT_NS);
        set_state(XenbusStateClosed);
        wait_backend(1U << XenbusStateClosed, CLOSE_TIMEOUT_NS);
        set_state(XenbusStateInitialising);
        st = wait_backend(1U << XenbusStateInitWait, HANDSHAKE_TIMEOUT_NS);
    }
    if (st < 0) {
        fc_kprintf("[flexcapsule] netfront: backend %s not ready (state %d)\n", nf.backend, st);
        return -FC_EIO;
    }
    uint64_t t1 = fc_monotonic_ns();

    fc_kmemset(nf.tx_sring, 0, FC_PAGE_SIZE);
    fc_kmemset(nf.rx_sring, 0, FC_PAGE_SIZE);
    nf.tx_sring->req_event = nf.tx_sring->rsp_event = 1;
    nf.rx_sring->req_event = nf.rx_sring->rsp_event = 1;
    FRONT_RING_INIT(&nf.tx, nf.tx_sring, FC_PAGE_SIZE);
    FRONT_RING_INIT(&nf.rx, nf.rx_sring, FC_PAGE_SIZE);

    rc = grant(nf.tx_sring, 0, &nf.tx_ring_ref);
    rc = rc ? rc : grant(nf.rx_sring, 0, &nf.rx_ring_ref);
    for (unsigned i = 0; !rc && i < RX_BUFS; i++)
        rc = grant(nf.rx_buf[i], 0, &nf.rx_ref[i]);
    for (unsigned i = 0; !rc && i < TX_PAGES; i++)
        rc = grant(nf.tx_page[i], 1, &nf.tx_ref[i]);
    if (rc)
        goto fail;

    struct evtchn_alloc_unbound alloc = {.dom = DOMID_SELF, .remote_dom = nf.backend_id};
    if (fc_hc_evtchn_op(EVTCHNOP_alloc_unbound, &alloc)) {
        rc = -FC_EIO;
        goto fail;
    }
    nf.port = alloc.port;
    fc_evtchn_bind(nf.port, nf_event);

    for (unsigned i = 0; i < RX_BUFS; i++) {
        netif_rx_request_t *req = RING_GET_REQUEST(&nf.rx, nf.rx.req_prod_pvt);
        req->id = (uint16_t)i;
        req->gref = nf.rx_ref[i];
        nf.rx.req_prod_pvt++;
    }
    RING_PUSH_REQUESTS(&nf.rx);
    for (unsigned i = 0; i < TX_SLOTS; i++) {
        nf.tx_free[i] = (uint16_t)(TX_SLOTS - 1 - i);
        nf.tx_busy[i] = 0;
    }
    nf.tx_nfree = TX_SLOTS;

    rc = publish();
    if (rc)
        goto fail;
    uint64_t t2 = fc_monotonic_ns();
    set_state(XenbusStateConnected);
    st = wait_backend(1U << XenbusStateConnected, HANDSHAKE_TIMEOUT_NS);
    if (st < 0) {
        fc_kprintf("[flexcapsule] netfront: backend %s did not connect (%d)\n", nf.backend, st);
        rc = -FC_EIO;
        goto fail;
    }
    nf.connected = 1;
    timing.wait_initwait_us = (t1 - t0) / 1000;
    timing.publish_us = (t2 - t1) / 1000;
    timing.wait_connected_us = (fc_monotonic_ns() - t2) / 1000;
    fc_evtchn_notify(nf.port); /* the rx buffers are waiting */
    timing.reconnect_us = (fc_monotonic_ns() - t0) / 1000;
    return 0;

fail:
    set_state(XenbusStateClosed);
    release_resources();
    return rc;
}

/* The handshake, with a watch on the backend's state for its waits. */
static int connect(int again)
{
    char path[160];
    int rc = read_backend();
    if (rc)
        return rc;
    fc_ksnprintf(path, sizeof(path), "%s/state", nf.backend);
    int watching = fc_xs_watch_internal(path, WATCH_TOKEN) == 0;
    rc = handshake(again);
    if (watching)
        fc_xs_unwatch(path, WATCH_TOKEN);
    return rc;
}

/* Before a suspend: stop using the rings, nothing more (see the top of the file). */
static void nf_quiesce(void)
{
    nf.connected = 0; /* transmit drops and poll delivers nothing from here on */
}

static void nf_resume(int cancelled)
{
    if (cancelled && nf.port) { /* same domain, same backend: the rings are as we left them */
        nf.connected = 1;
        nf.reconnected = 1;
        fc_evtchn_notify(nf.port);
        return;
    }
    if (!cancelled)
        forget_resources(); /* grants and port belonged to the old domain */
    int rc = connect(cancelled);
    if (rc) {
        fc_kprintf("[flexcapsule] netfront: reconnect failed (%d): the link stays down\n", rc);
        return;
    }
    nf.reconnected = 1;
    fc_kprintf("[flexcapsule] netfront: reconnected to %s in %lu ms (backend ready %lu, "
               "publish %lu, backend connected %lu ms)\n",
               nf.backend, (unsigned long)(timing.reconnect_us / 1000),
               (unsigned long)(timing.wait_initwait_us / 1000),
               (unsigned long)(timing.publish_us / 1000),
               (unsigned long)(timing.wait_connected_us / 1000));
}

int fc_netfront_up(fc_netfront_rx_t rx, uint8_t mac[6])
{
    char buf[32];
    if (nf.present) {
        fc_kmemcpy(mac, nf.mac, 6);
        return 0;
    }
    if (fc_xs_read(FE "backend", buf, 2) == -FC_ENOENT)
        return -FC_ENODEV;
    if (fc_xs_read(FE "mac", buf, sizeof(buf)) <= 0 || parse_mac(buf, nf.mac)) {
        fc_kprintf("[flexcapsule] netfront: no valid " FE "mac\n");
        return -FC_ENODEV;
    }
    int rc = fc_gnttab_init();
    if (rc)
        return rc;
    if (!nf.tx_sring) {
        char *pages = fc_kernel_pages_alloc(2 + RX_BUFS + TX_PAGES);
        if (!pages)
            return -FC_ENOMEM;
        nf.tx_sring = (netif_tx_sring_t *)pages;
        nf.rx_sring = (netif_rx_sring_t *)(pages + FC_PAGE_SIZE);
        for (unsigned i = 0; i < RX_BUFS; i++)
            nf.rx_buf[i] = pages + (2 + i) * FC_PAGE_SIZE;
        for (unsigned i = 0; i < TX_PAGES; i++)
            nf.tx_page[i] = pages + (2 + RX_BUFS + i) * FC_PAGE_SIZE;
    }
    forget_resources();
    nf.rx_cb = rx;
    FC_KERNEL_ENTER(); /* a suspend must not fall into the handshake */
    rc = connect(0);
    if (!rc) {
        nf.present = 1;
        fc_suspend_hook_register(nf_quiesce, nf_resume);
    }
    fc_kernel_leave();
    if (rc)
        return rc;
    fc_kmemcpy(mac, nf.mac, 6);
    fc_kprintf("[flexcapsule] netfront: connected to %s (backend domain %u) in %lu ms\n",
               nf.backend, nf.backend_id, (unsigned long)(timing.reconnect_us / 1000));
    return 0;
}

/* Takes the backend's tx responses. No notification is asked for (rsp_event stays put):
 * slots are reclaimed when the next frame goes out, or on a poll. */
static void tx_reclaim(void)
{
    RING_IDX prod = nf.tx.sring->rsp_prod;
    xen_rmb();
    while (nf.tx.rsp_cons != prod) {
        netif_tx_response_t rsp = *RING_GET_RESPONSE(&nf.tx, nf.tx.rsp_cons);
        nf.tx.rsp_cons++;
        if (rsp.status == NETIF_RSP_NULL)
            continue;
        if (rsp.id >= TX_SLOTS || !nf.tx_busy[rsp.id])
            continue; /* not a slot we lent: ignore it */
        nf.tx_busy[rsp.id] = 0; /* sent or not, the slot is ours again */
        nf.tx_free[nf.tx_nfree++] = rsp.id;
    }
}

int fc_netfront_transmit(const void *frame, size_t len)
{
    if (len < 14 || len > FC_ETH_FRAME_MAX)
        return -FC_EINVAL;
    int rc = 0;
    FC_KERNEL_ENTER();
    if (!nf.connected) {
        rc = -FC_EAGAIN;
        goto out;
    }
    tx_reclaim();
    if (!nf.tx_nfree || RING_FULL(&nf.tx)) {
        rc = -FC_EAGAIN;
        goto out;
    }
    uint16_t id = nf.tx_free[--nf.tx_nfree];
    nf.tx_busy[id] = 1;
    uint16_t offset = (uint16_t)((id % (FC_PAGE_SIZE / TX_SLOT_SIZE)) * TX_SLOT_SIZE);
    char *buf = nf.tx_page[id / (FC_PAGE_SIZE / TX_SLOT_SIZE)] + offset;
    fc_kmemcpy(buf, frame, len);
    if (len < ETH_MIN_FRAME) { /* pad runts, so they leave the host as valid frames */
        fc_kmemset(buf + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    netif_tx_request_t *req = RING_GET_REQUEST(&nf.tx, nf.tx.req_prod_pvt);
    req->gref = nf.tx_ref[id / (FC_PAGE_SIZE / TX_SLOT_SIZE)];
    req->offset = offset;
    req->flags = 0;
    req->id = id;
    req->size = (uint16_t)len;
    nf.tx.req_prod_pvt++;
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf.tx, notify);
    if (notify)
        fc_evtchn_notify(nf.port);
out:
    fc_kernel_leave();
    return rc;
}

int fc_netfront_poll(void)
{
    int delivered = 0, more;
    if (!nf.connected)
        return 0;
    FC_KERNEL_ENTER();
    tx_reclaim();
    do {
        RING_IDX prod = nf.rx.sring->rsp_prod;
        xen_rmb();
        while (nf.rx.rsp_cons != prod && nf.connected) {
            netif_rx_response_t rsp = *RING_GET_RESPONSE(&nf.rx, nf.rx.rsp_cons);
            nf.rx.rsp_cons++;
            if (rsp.id >= RX_BUFS)
                continue; /* not a buffer we posted */
            /* errors and frames spread over slots (we never ask for those) are dropped */
            if (rsp.status > 0 && !(rsp.flags & (NETRXF_more_data | NETRXF_extra_info)) &&
                rsp.offset + (unsigned)rsp.status <= FC_PAGE_SIZE) {
                delivered++;
                nf.rx_cb(nf.rx_buf[rsp.id] + rsp.offset, (size_t)rsp.status);
            }
            netif_rx_request_t *req = RING_GET_REQUEST(&nf.rx, nf.rx.req_prod_pvt);
            req->id = rsp.id;
            req->gref = nf.rx_ref[rsp.id];
            nf.rx.req_prod_pvt++;
        }
        if (!nf.connected)
            break;
        int notify;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf.rx, notify);
        if (notify)
            fc_evtchn_notify(nf.port);
        RING_FINAL_CHECK_FOR_RESPONSES(&nf.rx, more);
    } while (more);
    fc_kernel_leave();
    return delivered;
}

int fc_netfront_has_work(void)
{
    return nf.reconnected || (nf.connected && RING_HAS_UNCONSUMED_RESPONSES(&nf.rx));
}

int fc_netfront_take_reconnected(void)
{
    int r = nf.reconnected;
    nf.reconnected = 0;
    return r;
}

