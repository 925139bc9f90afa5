/* SPDX-License-Identifier: MIT */
/*
 * Xenstore client over the shared ring. Requests are synchronous (one in flight), so
 * nothing is outstanding when we suspend; watch events that arrive meanwhile are queued.
 */
#include <fc/kernel.h>
#include <fc/ring.h>
#include <fc/xs_msg.h>

#define KERNEL_TOKEN_PREFIX "fc:"
#define MAX_WATCHES 16
#define WATCH_PATH_MAX 256
#define WATCH_TOKEN_MAX 64

static volatile struct xenstore_domain_interface *xs;
static unsigned long xs_pfn;
static evtchn_port_t xs_port;
static uint32_t next_req_id = 1;
static volatile int mid_request;
static int domid = -1;

struct watch {
    char path[WATCH_PATH_MAX];
    char token[WATCH_TOKEN_MAX];
    int used;
};
static struct watch watches[MAX_WATCHES];
static struct watch queue[FC_XS_WATCH_QUEUE];
static unsigned queue_head, queue_len, queue_dropped;
static volatile unsigned kernel_events; /* events of the kernel's own watches, shutdown aside */

static unsigned char msg_buf[FC_XS_HEADER_SIZE + FC_XS_PAYLOAD_MAX];
static char reply_buf[FC_XS_PAYLOAD_MAX + 1];

extern volatile int fc_shutdown_pending;

static void xs_event(evtchn_port_t port)
{
    (void)port; /* wakes a waiting request; fc_poll drains unsolicited events */
}

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

static void ring_write(const void *data, uint32_t len)
{
    const char *p = data;
    while (len) {
        uint32_t prod = xs->req_prod;
        uint32_t space = fc_ring_free(prod, xs->req_cons, XENSTORE_RING_SIZE);
        if (!space) {
            fc_evtchn_notify(xs_port);
            fc_wait_for_event();
            continue;
        }
        uint32_t n = len < space ? len : space;
        fc_ring_copy_in(xs->req, XENSTORE_RING_SIZE, prod, p, n);
        fc_mb();
        xs->req_prod = prod + n;
        p += n;
        len -= n;
    }
    fc_evtchn_notify(xs_port);
}

/* Waits until `need` bytes are readable (or returns 0 at once if !block). */
static int ring_wait(uint32_t need, int block)
{
    while (fc_ring_used(xs->rsp_prod, xs->rsp_cons) < need) {
        if (!block)
            return 0;
        fc_wait_for_event();
    }
    fc_mb();
    return 1;
}

/* Reads one whole message into msg_buf; returns 1, or 0 if none is complete (!block). */
static int ring_read_message(struct fc_xs_header *hdr, int block)
{
    if (!ring_wait(FC_XS_HEADER_SIZE, block))
        return 0;
    uint32_t cons = xs->rsp_cons;
    fc_ring_copy_out(msg_buf, xs->rsp, XENSTORE_RING_SIZE, cons, FC_XS_HEADER_SIZE);
    if (fc_xs_decode_header(msg_buf, hdr))
        fc_fatal("xenstore: reply claims %u payload bytes (max %d)", hdr->len,
                 FC_XS_PAYLOAD_MAX);
    if (!ring_wait(FC_XS_HEADER_SIZE + hdr->len, block))
        return 0;
    fc_ring_copy_out(msg_buf + FC_XS_HEADER_SIZE, xs->rsp, XENSTORE_RING_SIZE,
                     cons + FC_XS_HEADER_SIZE, hdr->len);
    fc_mb();
    xs->rsp_cons = cons + FC_XS_HEADER_SIZE + hdr->len;
    fc_evtchn_notify(xs_port);
    return 1;
}

static void handle_unsolicited(const struct fc_xs_header *hdr)
{
    struct watch ev;
    if (hdr->type != XS_WATCH_EVENT)
        return; /* a stale reply: nothing waits for it */
    if (fc_xs_split_watch_event((const char *)msg_buf + FC_XS_HEADER_SIZE, hdr->len, ev.path,
                                sizeof(ev.path), ev.token, sizeof(ev.token)))
        return;
    if (starts_with(ev.token, KERNEL_TOKEN_PREFIX "shutdown")) {
        fc_shutdown_pending = 1;
        return;
    }
    if (starts_with(ev.token, KERNEL_TOKEN_PREFIX)) {
        kernel_events++;
        return;
    }
    if (queue_len == FC_XS_WATCH_QUEUE) {
        queue_dropped++;
        return;
    }
    queue[(queue_head + queue_len++) % FC_XS_WATCH_QUEUE] = ev;
}

void fc_xs_pump_events(void)
{
    struct fc_xs_header hdr;
    if (!xs || mid_request)
        return;
    while (ring_read_message(&hdr, 0))
        handle_unsolicited(&hdr);
}

unsigned fc_xs_kernel_events(void)
{
    return kernel_events;
}

int fc_xs_wait_kernel_event(unsigned seen, uint64_t deadline_ns)
{
    for (;;) {
        fc_xs_pump_events();
        if (kernel_events != seen)
            return 1;
        /* Held from the check to the block: ring data that arrives in between leaves its
         * event pending, so the block returns at once instead of sleeping to the deadline. */
        uint8_t was_masked = fc_events_hold();
        if (fc_monotonic_ns() >= deadline_ns) {
            fc_events_release(was_masked);
            return 0;
        }
        fc_timer_arm(deadline_ns);
        fc_block_held();
        fc_events_release(was_masked);
    }
}

/* Encodes and queues one request; returns its id, or -errno. */
static long send_request(uint32_t type, uint32_t tx, const char *const *parts, size_t nparts,
                         int last_nul)
{
    uint32_t req_id = next_req_id++;
    long len = fc_xs_encode(msg_buf, sizeof(msg_buf), type, req_id, tx, parts, nparts, last_nul);
    if (len < 0)
        return len;
    ring_write(msg_buf, (uint32_t)len);
    return req_id;
}

/* One request/reply round trip. Returns reply length (copied to reply_buf) or -errno. */
static long request(uint32_t type, uint32_t tx, const char *const *parts, size_t nparts,
                    int last_nul)
{
    struct fc_xs_header hdr;
    if (!xs)
        return -FC_EIO;
    FC_KERNEL_ENTER();
    mid_request = 1;
    long rc = send_request(type, tx, parts, nparts, last_nul);
    if (rc < 0)
        goto out;
    uint32_t req_id = (uint32_t)rc;
    for (;;) {
        ring_read_message(&hdr, 1);
        if (hdr.type == XS_WATCH_EVENT || hdr.req_id != req_id) {
            handle_unsolicited(&hdr);
            continue;
        }
        if (hdr.type == XS_ERROR) {
            rc = fc_xs_error_to_errno((const char *)msg_buf + FC_XS_HEADER_SIZE, hdr.len);
        } else {
            fc_kmemcpy(reply_buf, msg_buf + FC_XS_HEADER_SIZE, hdr.len);
            reply_buf[hdr.len] = 0;
            rc = hdr.len;
        }
        break;
    }
out:
    mid_request = 0;
    fc_kernel_leave();
    return rc;
}

int fc_xs_is_mid_request(void)
{
    return mid_request || !xs;
}

static int copy_reply(long rc, char *buf, size_t len)
{
    if (rc < 0)
        return (int)rc;
    if (!buf || (size_t)rc >= len)
        return -FC_ERANGE;
    fc_kmemcpy(buf, reply_buf, (size_t)rc + 1);
    return (int)rc;
}

static int valid_path(const char *path)
{
    return path && path[0];
}

int fc_xs_read_tx(long tx, const char *path, char *buf, size_t len)
{
    if (!valid_path(path))
        return -FC_EINVAL;
    const char *parts[] = {path};
    return copy_reply(request(XS_READ, (uint32_t)tx, parts, 1, 1), buf, len);
}

int fc_xs_write_tx(long tx, const char *path, const char *value)
{
    if (!valid_path(path) || !value)
        return -FC_EINVAL;
    const char *parts[] = {path, value};
    long rc = request(XS_WRITE, (uint32_t)tx, parts, 2, 0);
    return rc < 0 ? (int)rc : 0;
}

/* A write whose reply nobody waits for: it is read and dropped as stale later. Each round trip
 * waits for dom0's xenstored to be scheduled, which costs milliseconds on a shared CPU. */
int fc_xs_post_write(const char *path, const char *value)
{
    if (!xs)
        return -FC_EIO;
    if (mid_request)
        return -FC_EBUSY; /* msg_buf holds the reply being read */
    if (!valid_path(path) || !value)
        return -FC_EINVAL;
    const char *parts[] = {path, value};
    FC_KERNEL_ENTER();
    long rc = send_request(XS_WRITE, 0, parts, 2, 0);
    fc_kernel_leave();
    return rc < 0 ? (int)rc : 0;
}

int fc_xs_read(const char *path, char *buf, size_t len)
{
    return fc_xs_read_tx(0, path, buf, len);
}

int fc_xs_write(const char *path, const char *value)
{
    return fc_xs_write_tx(0, path, value);
}

int fc_xs_rm(const char *path)
{
    if (!valid_path(path))
        return -FC_EINVAL;
    const char *parts[] = {path};
    long rc = request(XS_RM, 0, parts, 1, 1);
    return rc < 0 ? (int)rc : 0;
}

long fc_xs_transaction_start(void)
{
    const char *parts[] = {""};
    long rc = request(XS_TRANSACTION_START, 0, parts, 1, 1);
    if (rc < 0)
        return rc;
    long id = 0;
    for (const char *p = reply_buf; *p >= '0' && *p <= '9'; p++)
        id = id * 10 + (*p - '0');
    return id > 0 ? id : -FC_EPROTO;
}

int fc_xs_transaction_end(long tx, int commit)
{
    if (tx <= 0)
        return -FC_EINVAL;
    const char *parts[] = {commit ? "T" : "F"};
    long rc = request(XS_TRANSACTION_END, (uint32_t)tx, parts, 1, 1);
    return rc < 0 ? (int)rc : 0;
}

static int add_watch(const char *path, const char *token)
{
    struct watch *free_slot = 0;
    if (!valid_path(path) || !token || fc_kstrlen(path) >= WATCH_PATH_MAX ||
        fc_kstrlen(token) >= WATCH_TOKEN_MAX)
        return -FC_EINVAL;
    for (unsigned i = 0; i < MAX_WATCHES; i++) {
        if (!watches[i].used) {
            if (!free_slot)
                free_slot = &watches[i];
        } else if (!fc_kstrcmp(watches[i].path, path) && !fc_kstrcmp(watches[i].token, token)) {
            return -FC_EEXIST;
        }
    }
    if (!free_slot)
        return -FC_ENOSPC;
    const char *parts[] = {path, token};
    long rc = request(XS_WATCH, 0, parts, 2, 1);
    if (rc < 0)
        return (int)rc;
    fc_kmemcpy(free_slot->path, path, fc_kstrlen(path) + 1);
    fc_kmemcpy(free_slot->token, token, fc_kstrlen(token) + 1);
    free_slot->used = 1;
    return 0;
}

int fc_xs_watch_internal(const char *path, const char *token)
{
    return add_watch(path, token);
}

int fc_xs_watch(const char *path, const char *token)
{
    if (token && starts_with(token, KERNEL_TOKEN_PREFIX))
        return -FC_EINVAL; /* reserved for the kernel's own watches */
    return add_watch(path, token);
}

int fc_xs_unwatch(const char *path, const char *token)
{
    if (!valid_path(path) || !token)
        return -FC_EINVAL;
    for (unsigned i = 0; i < MAX_WATCHES; i++) {
        if (watches[i].used && !fc_kstrcmp(watches[i].path, path) &&
            !fc_kstrcmp(watches[i].token, token)) {
            const char *parts[] = {path, token};
            long rc = request(XS_UNWATCH, 0, parts, 2, 1);
            watches[i].used = 0;
            return rc < 0 ? (int)rc : 0;
        }
    }
    return -FC_ENOENT;
}

int fc_xs_read_watch(char *path, size_t path_len, char *token, size_t token_len)
{
    if (!path || !token)
        return -FC_EINVAL;
    fc_poll();
    if (!queue_len)
        return 0;
    struct watch *ev = &queue[queue_head];
    size_t plen = fc_kstrlen(ev->path), tlen = fc_kstrlen(ev->token);
    if (plen >= path_len || tlen >= token_len)
        return -FC_ERANGE; /* left queued: retry with bigger buffers */
    fc_kmemcpy(path, ev->path, plen + 1);
    fc_kmemcpy(token, ev->token, tlen + 1);
    queue_head = (queue_head + 1) % FC_XS_WATCH_QUEUE;
    queue_len--;
    return 1;
}

int fc_xs_refresh_domid(void)
{
    char buf[16];
    int rc = fc_xs_read("domid", buf, sizeof(buf));
    if (rc < 0)
        return rc;
    int id = 0;
    for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
        id = id * 10 + (*p - '0');
    domid = id;
    return 0;
}

int fc_domid(void)
{
    return domid;
}

void fc_xs_init(void)
{
    xs_pfn = fc_mfn_to_pfn(fc_start_info->store_mfn);
    xs = fc_pfn_to_virt(xs_pfn);
    xs_port = fc_start_info->store_evtchn;
    fc_evtchn_bind(xs_port, xs_event);
    if (fc_xs_refresh_domid() < 0)
        fc_kprintf("[flexcapsule] warning: cannot read domid from xenstore\n");
}

void fc_xs_canonicalise(void)
{
    fc_start_info->store_mfn = xs_pfn;
}

void fc_xs_uncanonicalise(void)
{
    fc_start_info->store_mfn = fc_p2m[xs_pfn];
    fc_evtchn_bind(xs_port, xs_event);
}

/* In a new domain: new port, and the new xenstored knows none of our watches. */
void fc_xs_resume(void)
{
    xs_port = fc_start_info->store_evtchn;
    fc_evtchn_bind(xs_port, xs_event);
    for (unsigned i = 0; i < MAX_WATCHES; i++) {
        if (!watches[i].used)
            continue;
        const char *parts[] = {watches[i].path, watches[i].token};
        long rc = request(XS_WATCH, 0, parts, 2, 1);
        if (rc < 0)
            fc_kprintf("[flexcapsule] warning: re-watching %s failed (%ld)\n", watches[i].path,
                       rc);
    }
    fc_xs_refresh_domid();
}
