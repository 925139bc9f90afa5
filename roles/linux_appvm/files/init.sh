#!/bin/busybox sh
# /init of the Linux PV smoke app VM: announce the boot, then print a counter every second.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "linux-smoke: booted kernel $(uname -r) with $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"
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
