"""The lab's private "VPC": a bridge inside a network namespace the lab creates, one tap per cloud VM.

Nothing is routed out of the namespace: cloud VMs reach each other over the bridge, and the control
node reaches them by running its SSH transport inside the namespace (`ip netns exec NS nc HOST 22`).
"""
import ctypes
import fcntl
import os
import struct
import subprocess

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


class NetworkError(RuntimeError):
    pass


def _ip(*args, check=True):
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, env={"LANG": "C", "PATH": os.environ["PATH"]})
    if check and proc.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)} failed (rc={proc.returncode}): {proc.stderr.strip()}")
    return proc


class LabNetwork:
    def __init__(self, netns="flexlab", bridge="flbr0", gateway="10.77.0.1", prefix_len=24):
        self.netns, self.bridge, self.gateway, self.prefix_len = netns, bridge, gateway, prefix_len

    def exists(self):
        return os.path.exists(f"/run/netns/{self.netns}")

    def ensure(self):
        """Creates the namespace and bridge if missing; returns the list of changes made."""
        changes = []
        if not self.exists():
            _ip("netns", "add", self.netns)
            changes.append(f"netns {self.netns}")
        _ip("-n", self.netns, "link", "set", "lo", "up")
        if _ip("-n", self.netns, "link", "show", self.bridge, check=False).returncode != 0:
            _ip("-n", self.netns, "link", "add", self.bridge, "type", "bridge")
            _ip("-n", self.netns, "addr", "add", f"{self.gateway}/{self.prefix_len}", "dev", self.bridge)
            changes.append(f"bridge {self.bridge}")
        _ip("-n", self.netns, "link", "set", self.bridge, "up")
        return changes

    def ensure_tap(self, tap):
        if _ip("-n", self.netns, "link", "show", tap, check=False).returncode != 0:
            _ip("-n", self.netns, "tuntap", "add", "dev", tap, "mode", "tap")
        _ip("-n", self.netns, "link", "set", tap, "master", self.bridge, "up")

    def delete_tap(self, tap):
        if self.exists():
            _ip("-n", self.netns, "link", "del", tap, check=False)

    def list_taps(self):
        if not self.exists():
            return []
        out = _ip("-n", self.netns, "-o", "link", "show", "type", "tun", check=False).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]

    def open_tap(self, tap):
        """Opens the namespace's tap from this process, which stays in the host namespace.

        QEMU then gets the fd: its user-mode NIC (package registries) needs the host namespace, its
        VPC NIC the lab's.
        """
        libc = ctypes.CDLL(None, use_errno=True)
        host_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
        lab_ns = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
        try:
            if libc.setns(lab_ns, CLONE_NEWNET) != 0:
                raise NetworkError(f"setns into {self.netns}: {os.strerror(ctypes.get_errno())}")
            try:
                fd = os.open("/dev/net/tun", os.O_RDWR)
                fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
            finally:
                if libc.setns(host_ns, CLONE_NEWNET) != 0:
                    raise NetworkError("could not return to the host network namespace")
        finally:
            os.close(host_ns)
            os.close(lab_ns)
        return fd

    def destroy(self):
        """Removes the namespace (and with it the bridge and every tap); returns whether it existed."""
        if not self.exists():
            return False
        _ip("netns", "del", self.netns)
        return True

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.netns, *argv]
