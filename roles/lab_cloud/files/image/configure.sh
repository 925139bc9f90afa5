#!/bin/sh
# Runs inside the image's chroot after debootstrap and the rootfs overlay: makes it a cloud VM image.
# Arguments: the prefetch list and the root filesystem's UUID. The host writes GRUB's boot sectors
# (the chroot sees no partitions).
set -eu
prefetch=$1
uuid=$2
export DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8

passwd -l root >/dev/null
echo "UUID=$uuid / ext4 errors=remount-ro,noatime 0 1" > /etc/fstab
echo cloudvm > /etc/hostname
# Every cloud VM must get its own machine-id (DHCP client IDs, generated MACs) at first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

systemctl enable flexlab-seed.service systemd-networkd.service ssh.service >/dev/null 2>&1
# Trim the boot (not the realism): nothing here is needed by a cloud VM that hosts app VMs.
for unit in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer \
            e2scrub_reap.service systemd-timesyncd.service remote-fs.target \
            systemd-networkd-wait-online.service \
            modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service modprobe@configfs.service \
            modprobe@dm_mod.service modprobe@loop.service; do
    systemctl mask "$unit" >/dev/null 2>&1 || true
done
# The modprobe@ units above load, at every boot, modules a headless BIOS-booted cloud VM never uses (display,
# EFI pstore, FUSE, configfs, device mapper, loop); each costs 1-2 s of CPU under TCG. The kernel still loads
# any of them on first use.
systemctl set-default multi-user.target >/dev/null
# Rebuild the initramfs with the overlay's MODULES=list (debootstrap built it with MODULES=most).
update-initramfs -u -k all >/dev/null

# Download (not install) the Xen packages: the lab's local mirror stand-in.
apt-get -q update
grep -v '^#' "$prefetch" | xargs apt-get install -y -q --no-install-recommends --download-only >/dev/null

# GRUB: core image for the host to embed after the MBR, modules, and a first grub.cfg. Inside the
# running VM `update-grub` takes over (nested_xen regenerates it with the Xen entries).
echo "grub-pc grub-pc/install_devices multiselect /dev/vda" | debconf-set-selections
mkdir -p /boot/grub/i386-pc
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst /boot/grub/i386-pc/
grub-mkimage -O i386-pc -o /tmp/core.img -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2 search_fs_uuid
cp /usr/lib/grub/i386-pc/boot.img /tmp/boot.img
cat > /boot/grub/grub.cfg <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root $uuid
menuentry 'Debian GNU/Linux' {
    linux /vmlinuz root=UUID=$uuid ro console=ttyS0,115200 net.ifnames=0 biosdevname=0 quiet
    initrd /initrd.img
}
CFG
rm -rf /var/lib/apt/lists/*_Translation-* /usr/share/doc/* /usr/share/man/* /usr/share/locale/*
