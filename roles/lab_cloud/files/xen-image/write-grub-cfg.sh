#!/bin/sh
# Runs in the chroot of the Xen-ready image after nested_xen baked it: writes GRUB's boot menu with Xen first.
# grub-mkconfig cannot do it here (10_linux gives up on a root filesystem in a loop-mounted file), so this writes
# the entries it would, from the same settings: /etc/default/grub and nested_xen's grub.d file.
# Inside the VM, any later update-grub regenerates the menu from those settings.
set -e
uuid=$1
grub_warn() { :; }
. /etc/default/grub
for cfg in /etc/default/grub.d/*.cfg; do . "$cfg"; done
xen=$(ls /boot/xen-*.gz | sort -V | tail -n 1)
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -n 1)
initrd=/boot/initrd.img-${kernel#/boot/vmlinuz-}
[ -f "$xen" ] && [ -f "$kernel" ] && [ -f "$initrd" ] || { echo "missing Xen, kernel or initrd in /boot" >&2; exit 1; }
cat > /boot/grub/grub.cfg <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
insmod part_msdos
insmod ext2
insmod gzio
insmod multiboot2
search --no-floppy --fs-uuid --set=root $uuid
menuentry 'Debian GNU/Linux, with Xen hypervisor' {
    multiboot2 $xen placeholder ${GRUB_CMDLINE_XEN:-} ${GRUB_CMDLINE_XEN_DEFAULT:-}
    module2 $kernel placeholder root=UUID=$uuid ro ${GRUB_CMDLINE_LINUX_XEN_REPLACE:-} ${GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT:-}
    module2 --nounzip $initrd
}
menuentry 'Debian GNU/Linux' {
    linux $kernel root=UUID=$uuid ro ${GRUB_CMDLINE_LINUX:-} ${GRUB_CMDLINE_LINUX_DEFAULT:-}
    initrd $initrd
}
CFG
