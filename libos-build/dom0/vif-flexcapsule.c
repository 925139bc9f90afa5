/* SPDX-License-Identifier: MIT */
/*
 * vif-flexcapsule: libxl's hotplug step for an app VM's PV NIC on a Linux bridge, in dom0.
 *
 * Why a program and not a script: on the destination of a live migration libxl runs the NIC's
 * hotplug step after the guest has stopped and before it unpauses it, so its run time is
 * downtime. In a TCG dom0 every exec costs 0.1-0.25 s; a shell script with xenstore-read, ip
 * and xenstore-write cost about 0.6 s. This is one static exec that speaks xenstore's wire
 * protocol and rtnetlink itself. docs/networking.md has the figures.
 *
 * Contract (libxl, Linux dom0):
 *   argv[1]  online | offline (add | remove, used for emulated taps, are the same), then words
 *            like type_if=vif, which are ignored.
 *   env      XENBUS_PATH  the vif's backend directory (relative to dom0's home, e.g.
 *                         backend/vif/13/0): its bridge key names the bridge;
 *            vif          the interface netback made (vif13.0, or the vifname= given);
 *            XENSTORED_PATH  xenstored's socket, as for libxenstore (default
 *                         /run/xenstored/socket, then the /dev/xen/xenbus device).
 *   online   give the interface the bridge's MTU, attach it to the bridge and bring it up in one
 *            rtnetlink request, then write XENBUS_PATH/hotplug-status = connected (netback waits
 *            for it before it connects the guest's NIC).
 *   offline  detach and bring down the interface if it still exists; never fails.
 *   failure  a message on stderr, XENBUS_PATH/hotplug-error = the message and hotplug-status =
 *            error, exit 1: libxl fails the device, and `xl create` or the migration says why.
 * No anti-spoofing filter (the stock vif-bridge adds iptables rules from ip=).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#define SYS_NET "/sys/class/net"
#define XS_SOCKET "/run/xenstored/socket"
#define XS_DEVICE "/dev/xen/xenbus"

static const char *action = "";
static const char *dev = "";
static const char *xbpath;

/* ---------------------------------------------------------------- xenstore */

static int xs_fd = -1;

static int xs_open(void)
{
    const char *sock = getenv("XENSTORED_PATH");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!sock || !*sock)
        sock = XS_SOCKET;
    if (strlen(sock) < sizeof(sa.sun_path)) {
        strcpy(sa.sun_path, sock);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
    }
    if (getenv("XENSTORED_PATH")) /* named explicitly: no silent fallback */
        return -errno;
    int fd = open(XS_DEVICE, O_RDWR | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

static int full_io(int fd, void *buf, size_t len, int writing)
{
    char *p = buf;
    while (len) {
        ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int xs_errno(const char *name)
{
    static const struct { const char *name; int value; } known[] = {
        {"ENOENT", ENOENT}, {"EACCES", EACCES}, {"EINVAL", EINVAL}, {"EEXIST", EEXIST},
        {"ENOSPC", ENOSPC}, {"EAGAIN", EAGAIN}, {"E2BIG", E2BIG}, {"EPERM", EPERM}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(name, known[i].name))
            return known[i].value;
    return EIO;
}

/* One request, one reply (no watches are set, so nothing else arrives). The reply's payload,
 * NUL-terminated, goes to out; returns its length or -errno. */
static int xs_request(uint32_t type, const char *a, const char *b, char *out, size_t outlen)
{
    char msg[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
    size_t alen = strlen(a) + 1, blen = b ? strlen(b) : 0;
    if (alen + blen > XENSTORE_PAYLOAD_MAX)
        return -E2BIG;
    if (xs_fd < 0 && (xs_fd = xs_open()) < 0) {
        int rc = xs_fd;
        xs_fd = -1;
        return rc;
    }
    struct xsd_sockmsg hdr = {.type = type, .req_id = 1, .tx_id = 0, .len = (uint32_t)(alen + blen)};
    memcpy(msg, &hdr, sizeof(hdr));
    memcpy(msg + sizeof(hdr), a, alen);
    if (blen)
        memcpy(msg + sizeof(hdr) + alen, b, blen);
    int rc = full_io(xs_fd, msg, sizeof(hdr) + alen + blen, 1);
    if (!rc)
        rc = full_io(xs_fd, &hdr, sizeof(hdr), 0);
    if (!rc && hdr.len > XENSTORE_PAYLOAD_MAX)
        rc = -EPROTO;
    if (!rc)
        rc = full_io(xs_fd, msg, hdr.len, 0);
    if (rc)
        return rc;
    msg[hdr.len] = '\0';
    if (hdr.type == XS_ERROR)
        return -xs_errno(msg);
    if (hdr.type != type)
        return -EPROTO;
    if (hdr.len >= outlen)
        return -ERANGE;
    memcpy(out, msg, hdr.len + 1);
    return (int)hdr.len;
}

static int xs_read_key(const char *key, char *out, size_t outlen)
{
    char path[256];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", xbpath, key) >= sizeof(path))
        return -ENAMETOOLONG;
    return xs_request(XS_READ, path, NULL, out, outlen);
}

static int xs_write_key(const char *key, const char *value)
{
    char path[256], reply[16];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", xbpath, key) >= sizeof(path))
        return -ENAMETOOLONG;
    int rc = xs_request(XS_WRITE, path, value, reply, sizeof(reply));
    return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- rtnetlink */

/* Appends a u32 attribute to the message at buf (nlmsg_len tells where it ends). */
static void add_u32_attr(char *buf, unsigned short type, uint32_t value)
{
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    struct rtattr *rta = (struct rtattr *)(buf + NLMSG_ALIGN(nh->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(sizeof(value));
    memcpy(RTA_DATA(rta), &value, sizeof(value));
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* One RTM_NEWLINK: master (0: none), MTU (0: unchanged), up or down. 0 or -errno. */
static int set_link(unsigned ifindex, unsigned master, unsigned mtu, int up)
{
    char req[NLMSG_SPACE(sizeof(struct ifinfomsg)) + 2 * RTA_SPACE(sizeof(uint32_t))]
        __attribute__((aligned(NLMSG_ALIGNTO)));
    memset(req, 0, sizeof(req));
    struct nlmsghdr *nh = (struct nlmsghdr *)req;
    struct ifinfomsg *ifi = NLMSG_DATA(nh);
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    nh->nlmsg_type = RTM_NEWLINK;
    nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nh->nlmsg_seq = 1;
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = (int)ifindex;
    ifi->ifi_flags = up ? IFF_UP : 0;
    ifi->ifi_change = IFF_UP;
    if (mtu)
        add_u32_attr(req, IFLA_MTU, mtu);
    add_u32_attr(req, IFLA_MASTER, master);

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc = 0;
    if (sendto(fd, req, nh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        rc = -errno;
    while (!rc) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        struct nlmsghdr *ack = (struct nlmsghdr *)buf;
        if (!NLMSG_OK(ack, (unsigned)n) || ack->nlmsg_type != NLMSG_ERROR)
            continue; /* not our acknowledgement */
        rc = ((struct nlmsgerr *)NLMSG_DATA(ack))->error; /* 0: done, else -errno */
        break;
    }
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------- the hotplug steps */

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "vif-flexcapsule: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "vif-flexcapsule: %s %s: %s\n", *action ? action : "no action", *dev ? dev : "?",
            msg + n);
    if (xbpath && *xbpath) {
        xs_write_key("hotplug-error", msg);
        xs_write_key("hotplug-status", "error");
    }
    exit(1);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The interface's MTU from sysfs, 0 if unreadable. */
static unsigned read_mtu(const char *ifname)
{
    char path[128], buf[16] = "";
    snprintf(path, sizeof(path), SYS_NET "/%s/mtu", ifname);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char *ok = fgets(buf, sizeof(buf), f);
    fclose(f);
    char *end;
    unsigned long v = ok ? strtoul(buf, &end, 10) : 0;
    return ok && end != buf && (*end == '\n' || !*end) && v <= 65535 ? (unsigned)v : 0;
}

static int valid_ifname(const char *name)
{
    size_t n = strlen(name);
    return n && n < IFNAMSIZ && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
           !strpbrk(name, " \t\n:");
}

static void online(void)
{
    char bridge[64], path[128];
    int rc = xs_read_key("bridge", bridge, sizeof(bridge));
    if (rc < 0)
        fail("no bridge in %s/bridge (%s)", xbpath, strerror(-rc));
    if (!valid_ifname(bridge))
        fail("invalid bridge name '%s' in %s/bridge", bridge, xbpath);
    snprintf(path, sizeof(path), SYS_NET "/%s/bridge", bridge);
    unsigned master = if_nametoindex(bridge);
    if (!master || !is_dir(path))
        fail("bridge %s does not exist on this cloud VM", bridge);
    unsigned ifindex = if_nametoindex(dev);
    if (!ifindex)
        fail("network interface %s does not exist", dev);
    /* The port takes the bridge's MTU: a smaller one would lower the bridge's. */
    rc = set_link(ifindex, master, read_mtu(bridge), 1);
    if (rc < 0)
        fail("cannot attach %s to bridge %s: %s", dev, bridge, strerror(-rc));
    rc = xs_write_key("hotplug-status", "connected");
    if (rc < 0)
        fail("cannot write %s/hotplug-status: %s", xbpath, strerror(-rc));
}

static void offline(void)
{
    unsigned ifindex = if_nametoindex(dev);
    if (ifindex) /* netback has usually removed it already */
        set_link(ifindex, 0, 0, 0);
}

int main(int argc, char **argv)
{
    static char derived[IFNAMSIZ + 8];
    action = argc > 1 ? argv[1] : "";
    xbpath = getenv("XENBUS_PATH");
    dev = getenv("vif") ? getenv("vif") : "";
    if (!xbpath || !*xbpath)
        fail("XENBUS_PATH is not set (libxl runs this program, with the vif's backend directory)");
    if (!*dev) {
        /* Older toolstacks: the default name vifDOMID.DEVID, from .../vif/DOMID/DEVID. */
        unsigned domid, devid;
        const char *tail = strstr(xbpath, "vif/");
        if (!tail || sscanf(tail, "vif/%u/%u", &domid, &devid) != 2)
            fail("no vif name and none in XENBUS_PATH %s", xbpath);
        snprintf(derived, sizeof(derived), "vif%u.%u", domid, devid);
        dev = derived;
    }
    if (!valid_ifname(dev))
        fail("invalid interface name '%s'", dev);
    if (!strcmp(action, "online") || !strcmp(action, "add"))
        online();
    else if (!strcmp(action, "offline") || !strcmp(action, "remove"))
        offline();
    else
        fail("unknown action '%s' (expected online or offline)", action);
    return 0;
}
