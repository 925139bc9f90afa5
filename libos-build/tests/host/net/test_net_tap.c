/* SPDX-License-Identifier: MIT */
/*
 * Interoperability with a real TCP/IP stack: Linux's. The test makes its own network
 * namespace (unshare), creates a tap device in it (fctap0, 10.77.0.1/24 on the Linux side)
 * and runs our stack in this process on the tap as 10.77.0.2, with real time. Nothing leaves
 * the namespace, which disappears with the process.
 *
 * Our side serves TCP echo (7), a small HTTP server (80) and UDP echo (7), and connects out
 * to a Linux listener (9000) to send 100 KB. tap_peer.py, run inside the namespace, is the
 * Linux side: ping, TCP echo (one connection and 20 in parallel), HTTP with curl and Python,
 * UDP echo, and the listener. Needs root and /dev/net/tun (the project's set-up runs as root):
 * without them it fails, saying why, rather than passing untested.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fc/api.h>
#include <fc/net.h>
#include <fc/netif.h>

#include "../../../net/net_internal.h"
#include "../kernel/kcheck.h"

#ifndef TAP_PEER
#define TAP_PEER "tap_peer.py"
#endif
#define IFNAME "fctap0"
#define HTTP_BODY 30000
#define CLIENT_BYTES 100000

static int tap_fd = -1;
static uint64_t frames_in, frames_out, frames_oversize;

/* ---- the environment of net/ on this host ---- */

uint64_t fc_netenv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void drain_tap(void)
{
    uint8_t frame[2048];
    for (;;) {
        ssize_t n = read(tap_fd, frame, sizeof(frame));
        if (n <= 0)
            return;
        frames_in++;
        fc_netstack_input(frame, (size_t)n);
    }
}

void fc_netenv_wait(uint64_t deadline_ns)
{
    uint64_t now = fc_netenv_now_ns();
    int timeout = 0;
    if (deadline_ns > now) {
        uint64_t ms = (deadline_ns - now + 999999) / 1000000;
        timeout = ms > 100 ? 100 : (int)ms;
    }
    struct pollfd p = {tap_fd, POLLIN, 0};
    poll(&p, 1, timeout);
    drain_tap();
}

void *fc_pages_alloc(size_t npages)
{
    void *p = aligned_alloc(FC_PAGE_SIZE, npages * FC_PAGE_SIZE);
    if (p)
        memset(p, 0, npages * FC_PAGE_SIZE);
    return p;
}

void fc_pages_free(void *p, size_t npages)
{
    (void)npages;
    free(p);
}

static int tap_transmit(struct fc_netif *nif, const void *frame, size_t len)
{
    (void)nif;
    if (len > FC_ETH_FRAME_MAX)
        frames_oversize++;
    frames_out++;
    return write(tap_fd, frame, len) == (ssize_t)len ? 0 : -FC_EAGAIN;
}

/* ---- the namespace and the tap ---- */

static int sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static const char *setup_netns(void)
{
    if (geteuid() != 0)
        return "not root";
    if (access("/dev/net/tun", R_OK | W_OK) != 0)
        return "no /dev/net/tun";
    if (unshare(CLONE_NEWNET) != 0)
        return "unshare(CLONE_NEWNET) failed";
    tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    if (tap_fd < 0)
        return "cannot open /dev/net/tun";
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, IFNAME, IFNAMSIZ - 1);
    if (ioctl(tap_fd, TUNSETIFF, &ifr) != 0)
        return "TUNSETIFF failed";
    if (sh("ip link set lo up") || sh("ip addr add 10.77.0.1/24 dev " IFNAME) ||
        sh("ip link set " IFNAME " up"))
        return "cannot configure " IFNAME " with ip(8)";
    /* keep IPv6 chatter off the tap (it would only be counted as dropped) */
    if (system("sysctl -q -w net.ipv6.conf." IFNAME ".disable_ipv6=1 >/dev/null 2>&1") != 0)
        fprintf(stderr, "note: could not disable IPv6 on " IFNAME "\n");
    return NULL;
}

/* ---- our servers and client ---- */

enum { C_FREE, C_ECHO, C_HTTP };
struct conn {
    int kind;
    char req[512];
    size_t req_len;
    int responding;
    size_t resp_off, resp_len;
};
static struct conn conns[FC_NET_MAX_SOCKETS];
static char http_resp[HTTP_BODY + 256];
static uint64_t echo_bytes, http_served, udp_echoed;

static uint8_t client_pat(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

static void serve_conn(int s)
{
    struct conn *c = &conns[s];
    char buf[8192];
    if (c->kind == C_ECHO) {
        long r = fc_tcp_recv(s, buf, sizeof(buf), 0);
        if (r > 0) {
            long w = fc_tcp_send(s, buf, (size_t)r, 2000);
            KCHECK(w == r);
            echo_bytes += (uint64_t)r;
        } else if (r != -FC_EAGAIN) {
            fc_tcp_close(s);
            c->kind = C_FREE;
        }
        return;
    }
    if (!c->responding) {
        long r = fc_tcp_recv(s, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, 0);
        if (r > 0) {
            c->req_len += (size_t)r;
            c->req[c->req_len] = 0;
            if (strstr(c->req, "\r\n\r\n")) {
                c->responding = 1;
                c->resp_off = 0;
                c->resp_len = strlen(http_resp);
            } else if (c->req_len >= sizeof(c->req) - 1) {
                fc_tcp_abort(s);
                c->kind = C_FREE;
                return;
            }
        } else if (r != -FC_EAGAIN) {
            fc_tcp_close(s);
            c->kind = C_FREE;
            return;
        }
    }
    if (c->responding) {
        long w = fc_tcp_send(s, http_resp + c->resp_off, c->resp_len - c->resp_off, 0);
        if (w > 0)
            c->resp_off += (size_t)w;
        if (c->resp_off == c->resp_len) {
            fc_tcp_close(s);
            c->kind = C_FREE;
            http_served++;
        } else if (w < 0 && w != -FC_EAGAIN) {
            fc_tcp_close(s);
            c->kind = C_FREE;
        }
    }
}

/* our stack as a client: 100 KB to the Linux listener on 9000, which answers "OK <n> <sum>" */
static int client_state; /* 0 not yet, 1 done ok, -1 failed */
static uint64_t client_next_try;
static int client_tries;

static void client_step(void)
{
    if (client_state != 0 || fc_netenv_now_ns() < client_next_try)
        return;
    client_tries++;
    int s = fc_tcp_connect(0x0a4d0001, 9000, 2000); /* 10.77.0.1 */
    if (s < 0) {
        if (client_tries > 100)
            client_state = -1;
        client_next_try = fc_netenv_now_ns() + 100000000ULL;
        return;
    }
    static uint8_t data[CLIENT_BYTES];
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = client_pat(i);
        sum += data[i];
    }
    long w = fc_tcp_send(s, data, sizeof(data), 10000);
    KCHECK(w == (long)sizeof(data));
    char reply[128] = {0};
    size_t n = 0;
    long r;
    /* Linux answers after our FIN... but we cannot half-close; the peer reads exactly n bytes */
    while (n < sizeof(reply) - 1 && (r = fc_tcp_recv(s, reply + n, sizeof(reply) - 1 - n, 10000)) > 0)
        n += (size_t)r;
    char want[128];
    snprintf(want, sizeof(want), "OK %zu %lu\n", sizeof(data), sum);
    KCHECKF(strcmp(reply, want) == 0, "peer said \"%s\"", reply);
    client_state = strcmp(reply, want) == 0 ? 1 : -1;
    fc_tcp_close(s);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *why = setup_netns();
    if (why) {
        fprintf(stderr, "FAIL: cannot set up the tap test: %s\n", why);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    pid_t peer = fork();
    if (peer == 0) {
        usleep(200000); /* let our stack come up first */
        execlp("python3", "python3", TAP_PEER, "10.77.0.2", (char *)NULL);
        perror("exec python3");
        _exit(127);
    }

    struct fc_netif nif;
    memset(&nif, 0, sizeof(nif));
    uint8_t mac[6] = {0x02, 0xfc, 0x00, 0x00, 0x00, 0x02};
    memcpy(nif.mac, mac, 6);
    KCHECK(fc_net_parse_ipv4("10.77.0.2", &nif.ip) == 0);
    nif.prefix_len = 24;
    nif.transmit = tap_transmit;
    fc_netstack_attach(&nif);
    fc_netstack_announce();

    int n = snprintf(http_resp, sizeof(http_resp),
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
                     HTTP_BODY);
    for (int i = 0; i < HTTP_BODY; i++)
        http_resp[n + i] = (char)('a' + i % 26);
    http_resp[n + HTTP_BODY] = 0;

    int l_echo = fc_tcp_listen(7, 16), l_http = fc_tcp_listen(80, 16), u_echo = fc_udp_bind(7);
    KCHECK(l_echo >= 0 && l_http >= 0 && u_echo >= 0);

    uint64_t start = fc_netenv_now_ns(), limit = start + 60ULL * 1000000000ULL;
    int status = -1;
    while (fc_netenv_now_ns() < limit) {
        struct fc_pollfd pfd[FC_NET_MAX_SOCKETS];
        int np = 0;
        pfd[np++] = (struct fc_pollfd){l_echo, FC_POLLIN, 0};
        pfd[np++] = (struct fc_pollfd){l_http, FC_POLLIN, 0};
        pfd[np++] = (struct fc_pollfd){u_echo, FC_POLLIN, 0};
        for (int s = 0; s < FC_NET_MAX_SOCKETS; s++)
            if (conns[s].kind != C_FREE)
                pfd[np++] = (struct fc_pollfd){s, FC_POLLIN | (conns[s].responding ? FC_POLLOUT : 0), 0};
        fc_net_poll(pfd, np, 20);
        int s;
        while ((s = fc_tcp_accept(l_echo, NULL, NULL, 0)) >= 0)
            conns[s] = (struct conn){.kind = C_ECHO};
        while ((s = fc_tcp_accept(l_http, NULL, NULL, 0)) >= 0)
            conns[s] = (struct conn){.kind = C_HTTP};
        for (s = 0; s < FC_NET_MAX_SOCKETS; s++)
            if (conns[s].kind != C_FREE)
                serve_conn(s);
        char buf[2048];
        uint32_t ip;
        uint16_t port;
        long r;
        while ((r = fc_udp_recvfrom(u_echo, buf, sizeof(buf), &ip, &port, 0)) > 0) {
            KCHECK(fc_udp_sendto(u_echo, buf, (size_t)r, ip, port) == r);
            udp_echoed++;
        }
        if (fc_netenv_now_ns() > start + 500000000ULL)
            client_step();
        int wst;
        if (waitpid(peer, &wst, WNOHANG) == peer) {
            status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
            break;
        }
    }
    if (status < 0) {
        kill(peer, SIGKILL);
        waitpid(peer, NULL, 0);
        fprintf(stderr, "tap peer did not finish in time\n");
    }
    /* let the last connections finish closing */
    uint64_t end = fc_netenv_now_ns() + 300000000ULL;
    while (fc_netenv_now_ns() < end)
        fc_net_poll(NULL, 0, 50);

    KCHECKF(status == 0, "tap_peer.py exit status %d", status);
    KCHECK(client_state == 1);
    KCHECK(echo_bytes >= 200000);
    KCHECK(http_served >= 2);
    KCHECK(udp_echoed >= 5);
    struct fc_net_info info;
    fc_net_info(&info);
    KCHECK(info.rx_bad_checksum == 0 && info.rx_truncated == 0);
    KCHECK(frames_oversize == 0);
    printf("tap: %lu frames in, %lu out; echoed %lu bytes, %lu HTTP responses, %lu UDP; retransmits %lu, "
           "resets sent %lu, dropped %lu (not for us or not IPv4/ARP)\n",
           (unsigned long)frames_in, (unsigned long)frames_out, (unsigned long)echo_bytes,
           (unsigned long)http_served, (unsigned long)udp_echoed, (unsigned long)info.tcp_retransmits,
           (unsigned long)info.tcp_resets_sent, (unsigned long)info.rx_dropped);
    return kcheck_summary("net tap (Linux interop)");
}
