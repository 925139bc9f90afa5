#!/bin/busybox sh
# /init of the Linux PV smoke app VM: announce the boot, then print a counter every second.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "linux-smoke: booted kernel $(uname -r) with $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"

# fc-network: eth0 from the leading kernel options fc.ip=A.B.C.D/N and fc.gw=A.B.C.D the runtime puts on the
# command line of an app VM with a network (the kernel ignores dotted options it does not know). eth0 exists only
# if the kernel has xen-netfront built in or its module is in this initramfs (the project's does not ship one).
fc_network() {
    fc_ip=; fc_gw=
    for word in $(cat "${FC_CMDLINE:-/proc/cmdline}"); do
        case "$word" in
            fc.ip=*) fc_ip=${word#fc.ip=} ;;
            fc.gw=*) fc_gw=${word#fc.gw=} ;;
            fc.*=*) ;;
            *) break ;;
        esac
    done
    [ -n "$fc_ip" ] || return 0
    if [ ! -e "${FC_SYS_NET:-/sys/class/net}/eth0" ]; then
        modprobe xen-netfront 2>/dev/null || insmod "/lib/modules/$(uname -r)/kernel/drivers/net/xen-netfront.ko" \
            2>/dev/null
        sleep 1
    fi
    if [ ! -e "${FC_SYS_NET:-/sys/class/net}/eth0" ]; then
        echo "linux-smoke: network: no eth0 (no xen-netfront in this kernel or initramfs); fc.ip=$fc_ip not set"
        return 1
    fi
    ip link set lo up
    # Announce the address after every migration too: netfront notifies its peers on reconnect, and Linux only
    # sends the gratuitous ARP for that when arp_notify is on (off by default).
    echo 1 2>/dev/null > "${FC_PROC_NET:-/proc/sys/net}/ipv4/conf/all/arp_notify"
    ip link set eth0 up
    ip addr add "$fc_ip" dev eth0
    [ -z "$fc_gw" ] || ip route add default via "$fc_gw" dev eth0
    # Tell the L2 network where the address is now (after a boot; arp_notify above does it after a migration).
    arping -U -c 1 -I eth0 "${fc_ip%/*}" >/dev/null 2>&1
    echo "linux-smoke: network: eth0 $fc_ip${fc_gw:+ via $fc_gw}"
}
# end fc-network

# The same small page FlexCapsule OS's httpd serves, so the benchmark compares like with like.
fc_httpd() {
    mkdir -p /www
    cat > /www/index.html <<'PAGE'
<!doctype html>
<html><head><title>FlexCapsule</title></head>
<body><h1>Served by FlexCapsule OS</h1>
<p>One app, one tiny Xen PV VM, live-migrated while you read this.</p></body></html>
PAGE
    httpd -p 80 -h /www && echo "linux-smoke: httpd serving /www on port 80"
}
fc_network && [ -n "$fc_ip" ] && fc_httpd
# Linux answers a toolstack shutdown request by running /sbin/poweroff, which signals PID 1.
trap 'echo "linux-smoke: shutdown requested"; poweroff -f' USR2 TERM
n=0
while :; do
    n=$((n + 1))
    # boot_cs: CLOCK_BOOTTIME in centiseconds, which goes on across a migration (Linux adds the time it was
    # suspended), so the benchmark can read the app's own gap; busybox date has no sub-second format.
    read -r up _ < /proc/uptime
    echo "counter $n $(date +%s) boot_cs=${up%.*}${up#*.}"
    sleep 1 &
    wait $!
done
