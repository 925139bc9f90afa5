/* SPDX-License-Identifier: MIT */
/*
 * The network glue between the kernel and the TCP/IP stack (net/): fc_net_up brings up
 * netfront with the address from the kernel options and attaches the stack; the stack waits
 * through fc_netenv_wait, which is where received frames are delivered, the stack's timers
 * run and migration requests are serviced. Only linked into apps that use the network.
 */
#include <fc/kernel.h>
#include <fc/kopts.h>
#include <fc/net.h>
#include <fc/netfront.h>
#include <fc/netif.h>

static struct fc_netif nif;
static int up;

static int transmit(struct fc_netif *n, const void *frame, size_t len)
{
    (void)n;
    return fc_netfront_transmit(frame, len);
}

/* Received frames in, tx slots back, an announcement after a move, due timers. Returns
 * how many things happened (0: nothing changed for the stack). */
static int service(void)
{
    if (!up)
        return 0;
    int n = fc_netfront_poll();
    if (fc_netfront_take_reconnected()) {
        /* Resumed, maybe on another host: tell the switches where our MAC is now. Done
         * here, not in the resume hook, which may run in the middle of the stack's code. */
        fc_netstack_announce();
        n++;
    }
    uint64_t now = fc_monotonic_ns();
    if (now >= fc_netstack_next_deadline()) {
        fc_netstack_timers(now);
        n++;
    }
    return n;
}

uint64_t fc_netenv_now_ns(void)
{
    return fc_monotonic_ns();
}

void fc_netenv_wait(uint64_t deadline_ns)
{
    int n = service();
    fc_poll(); /* shutdown requests: a migration may happen right here */
    n += service();
    if (n)
        return; /* the stack's state changed: let the caller look again */
    /* Events held from the checks to SCHEDOP_block (see fc_sleep_ns): an rx event or the
     * timer firing in between stays pending and the block returns at once. */
    uint8_t was_masked = fc_events_hold();
    uint64_t wake = deadline_ns;
    if (up && fc_netstack_next_deadline() < wake)
        wake = fc_netstack_next_deadline();
    if (fc_monotonic_ns() < wake && !fc_netfront_has_work()) {
        fc_timer_arm(wake);
        fc_block_held();
    }
    fc_events_release(was_masked);
    service();
}

static void sleep_hook(uint64_t deadline_ns)
{
    fc_netenv_wait(deadline_ns);
}

static void format_ip(char *out, size_t cap, uint32_t ip)
{
    fc_ksnprintf(out, cap, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int fc_net_up(void)
{
    uint32_t ip = 0, gw = 0;
    uint8_t prefix_len = 0;
    if (up)
        return 0;
    const char *v = fc_kernel_option("ip");
    if (v && fc_kopts_parse_cidr(v, &ip, &prefix_len)) {
        fc_kprintf("[flexcapsule] net: bad fc.ip=%s (want A.B.C.D/N)\n", v);
        return -FC_EINVAL;
    }
    v = fc_kernel_option("gw");
    if (v && fc_kopts_parse_ipv4(v, &gw)) {
        fc_kprintf("[flexcapsule] net: bad fc.gw=%s (want A.B.C.D)\n", v);
        return -FC_EINVAL;
    }
    int rc = fc_netfront_up(fc_netstack_input, nif.mac);
    if (rc)
        return rc;
    nif.ip = ip;
    nif.prefix_len = prefix_len;
    nif.gateway = gw;
    nif.transmit = transmit;
    up = 1;
    fc_netstack_attach(&nif);
    fc_sleep_hook = sleep_hook;
    char ips[16], gws[16];
    format_ip(ips, sizeof(ips), ip);
    format_ip(gws, sizeof(gws), gw);
    fc_kprintf("[flexcapsule] net: up, mac %02x:%02x:%02x:%02x:%02x:%02x ip %s/%u gw %s\n",
               nif.mac[0], nif.mac[1], nif.mac[2], nif.mac[3], nif.mac[4], nif.mac[5], ips,
               prefix_len, gws);
    if (ip)
        fc_netstack_announce();
    return 0;
}
