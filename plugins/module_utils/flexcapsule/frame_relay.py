"""Inbound frames held across a live migration's stop, and delivered after it.

While a migration has an app VM stopped (from the suspend request until it runs on the destination and its NIC
is connected again, 1-2 s in a TCG lab), frames sent to it still reach the source cloud VM's bridge and its vif,
and are lost there. A client's TCP then waits for its retransmission timer, which backs off: with Linux's 200 ms
minimum, a request lost at the stop is sent again 0.2, 0.6, 1.4 and 3.0 s later, so a 1.5 s stop costs the client
3 s. The relay captures, in the source dom0, what the bridge sends down the app VM's vifs from the suspend request
on; once the app VM speaks from its new place (the first frame from its MAC that comes in by a port of the bridge
other than its old vifs: FlexCapsule OS sends a gratuitous ARP as soon as its NIC is back), or after a grace
period, it sends them again through the bridge, which now forwards them towards the destination. The request is
answered at resume instead of at the next retransmission.

The capture socket carries a classic BPF filter, so the kernel hands it only the frames going down the vifs. The
capture starts while the app VM still serves at full speed; without the filter a Python loop took every frame both
ways, and on the lab's one-vCPU TCG dom0 some moves then stalled for 13-20 s (the app VM silent from the suspend
request on, xl's downtime still 1 s: most likely xl, its log pipe unread, noticed the suspend late). With the
filter those stalls are gone (docs/networking.md).

The frames go out with the bridge's own MAC as their source, so that no switch on the way learns the client's
MAC behind this cloud VM. Neither FlexCapsule OS nor Linux takes an IPv4 peer's MAC from anything but ARP, and an
ARP request carries its sender in its payload.

Linux only (AF_PACKET); needs root, as everything in dom0. Frames the app VM took in between the suspend request
and its stop may arrive twice: TCP drops the duplicate; a UDP service may see a datagram twice.
"""
import ctypes
import os
import select
import socket
import struct
import threading
import time

from .appvm import AppVmError, parse_mac

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_FRAMES = 4096
MAX_BYTES = 16 << 20
FRAME_SIZE = 65536


def mac_bytes(mac):
    """'00:16:3e:aa:bb:cc' -> 6 bytes (appvm.parse_mac's rules; AppVmError names a bad MAC)."""
    return bytes.fromhex(parse_mac(mac).replace(":", ""))


def interface_mac(ifname):
    """The interface's MAC (6 bytes) from sysfs."""
    with open("/sys/class/net/%s/address" % ifname) as handle:
        return mac_bytes(handle.read().strip())


# Classic BPF (linux/filter.h): load the packet type (ancillary data), keep it if PACKET_OUTGOING, else drop.
BPF_LD_B_ABS, BPF_JEQ_K, BPF_RET_K = 0x30, 0x15, 0x06
SKF_AD_PKTTYPE = -0x1000 + 4
SO_ATTACH_FILTER = 26
OUTGOING_ONLY = [(BPF_LD_B_ABS, 0, 0, SKF_AD_PKTTYPE & 0xFFFFFFFF), (BPF_JEQ_K, 0, 1, PACKET_OUTGOING),
                 (BPF_RET_K, 0, 0, 0x40000), (BPF_RET_K, 0, 0, 0)]


def attach_filter(sock, program):
    """SO_ATTACH_FILTER with a classic BPF program [(code, jt, jf, k)]."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def packet_socket(ifname=None, outgoing_only=False):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        if outgoing_only:  # before bind: no frame reaches the socket unfiltered
            attach_filter(sock, OUTGOING_ONLY)
        if ifname:
            sock.bind((ifname, ETH_P_ALL))
    except OSError:
        sock.close()
        raise
    return sock


class FrameRelay:
    """relay = FrameRelay({"vif12.0": "xenbr0"}, ["00:16:3e:.."]); relay.start_capture() at the suspend request;
    relay.deliver(timeout) once the app VM runs on the destination; relay.close() always. stats() says what
    happened. Never raises once started: a relay that cannot work only loses what would have been lost anyway."""

    def __init__(self, bridge_of_vif, macs):
        self.bridge_of_vif = dict(bridge_of_vif)
        self.macs = {mac_bytes(mac) for mac in macs}
        self.frames, self.bytes, self.dropped = [], 0, 0
        self.errors, self.trigger, self.delivered = [], None, 0
        self._sockets, self._stop, self._thread = {}, threading.Event(), None

    # ---- capture: frames the source dom0 sends down the app VM's vifs
    def start_capture(self):
        if self._thread is not None:
            return
        for vif in self.bridge_of_vif:
            try:
                self._sockets[packet_socket(vif, outgoing_only=True)] = self.bridge_of_vif[vif]
            except OSError as exc:
                self.errors.append("capture on %s: %s" % (vif, exc))
        self._thread = threading.Thread(target=self._capture, name="frame-relay", daemon=True)
        self._thread.start()

    def _capture(self):
        sockets = list(self._sockets)
        while sockets and not self._stop.is_set():
            try:
                ready, _, _ = select.select(sockets, [], [], 0.05)
            except (OSError, ValueError):
                break
            for sock in ready:
                try:  # only frames to the app VM get here: the socket's kernel filter drops the rest
                    frame = sock.recv(FRAME_SIZE)
                except OSError:  # the vif went away with the source domain
                    sockets.remove(sock)
                    continue
                if len(self.frames) >= MAX_FRAMES or self.bytes + len(frame) > MAX_BYTES:
                    self.dropped += 1
                    continue
                self.frames.append((self._sockets[sock], frame))
                self.bytes += len(frame)

    def stop_capture(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # ---- delivery: through the bridge, once the app VM is heard from elsewhere
    def wait_for_app_vm(self, timeout):
        """True when a frame from one of the app VM's MACs comes in by a bridge port other than its old vifs."""
        try:
            sock = packet_socket()
        except OSError as exc:
            self.errors.append("listen: %s" % exc)
            return False
        deadline = time.monotonic() + timeout
        elsewhere = set()
        for bridge in set(self.bridge_of_vif.values()):
            try:
                elsewhere.update(os.listdir("/sys/class/net/%s/brif" % bridge))
            except OSError as exc:
                self.errors.append("ports of %s: %s" % (bridge, exc))
        elsewhere -= set(self.bridge_of_vif)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    return False
                frame, address = sock.recvfrom(FRAME_SIZE)
                # Judged by the bridge port it came in by: its old vifs are the old place (and the bridge
                # device only repeats what a port took in).
                if (len(frame) >= 14 and address[2] != PACKET_OUTGOING and frame[6:12] in self.macs
                        and address[0] in elsewhere):
                    return True
        finally:
            sock.close()

    def deliver(self, timeout=2.0):
        """Stops the capture, waits (up to timeout) for the app VM to be heard from, sends what was captured."""
        self.stop_capture()
        if not self.frames:
            self.trigger = "nothing captured"
            return 0
        self.trigger = "app VM heard" if self.wait_for_app_vm(timeout) else "timeout"
        senders = {}
        try:
            for bridge, frame in self.frames:  # in arrival order
                try:
                    if bridge not in senders:
                        senders[bridge] = (packet_socket(bridge), interface_mac(bridge))
                    sock, own_mac = senders[bridge]
                    sock.send(frame[:6] + own_mac + frame[12:])
                    self.delivered += 1
                except (OSError, AppVmError) as exc:
                    self.errors.append("send on %s: %s" % (bridge, exc))
        finally:
            for sock, _mac in senders.values():
                sock.close()
        return self.delivered

    def close(self):
        self.stop_capture()
        for sock in self._sockets:
            sock.close()
        self._sockets = {}

    def stats(self):
        return {"captured": len(self.frames), "delivered": self.delivered, "dropped": self.dropped,
                "trigger": self.trigger, "errors": self.errors[:5]}

