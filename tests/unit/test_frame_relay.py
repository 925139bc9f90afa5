"""plugins/module_utils/flexcapsule/frame_relay.py on real Linux bridging: in a private network namespace, bridge
br0 has two ports, vif5.0 (the app VM's old vif; its peer plays the app VM) and up0 (towards the destination; its
peer plays the VPC). Frames the bridge sends down vif5.0 while the relay captures are held, frames the app VM sends
are not, and delivery puts the held ones back on the bridge, which forwards them to where the app VM's MAC was
heard last. Needs root (network namespaces), as the project's other network tests."""
import json
import os
import subprocess
import sys

import pytest

from private_netns import private_netns

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APP_MAC = "00:16:3e:00:00:05"
CLIENT_MAC = "02:00:00:00:00:c1"

SCENARIO = r"""
import json, socket, struct, sys, threading, time
sys.path.insert(0, sys.argv[1])
from flexcapsule.frame_relay import FrameRelay, packet_socket
APP, CLIENT, HEARD = sys.argv[2], sys.argv[3], sys.argv[4] == "heard"

def eth_header(dst, src, ethertype):
    return bytes.fromhex(dst.replace(":", "") + src.replace(":", "")) + struct.pack("!H", ethertype)

def frame(dst, src, tag):
    return eth_header(dst, src, 0x88b5) + tag.ljust(46, b".")   # local experimental ethertype

vpc, app = packet_socket("up0-peer"), packet_socket("vif5.0-peer")
out = {}
# the bridge learns where the app VM is (vif5.0) and where the client is (up0)
app.send(frame(CLIENT, APP, b"hello-from-app")); vpc.send(frame(APP, CLIENT, b"hello-from-client"))
time.sleep(0.2)
# the capture's kernel filter: of a frame from the app VM and one to it, only the one to it reaches the socket
probe = packet_socket("vif5.0", outgoing_only=True); probe.settimeout(0.5)
app.send(frame(CLIENT, APP, b"probe-from-app")); vpc.send(frame(APP, CLIENT, b"probe-to-app"))
out["filtered"] = []
try:
    while True:
        data, address = probe.recvfrom(65536)
        if data[12:14] == b"\x88\xb5":   # the test's own frames (the bridge may send others down the port)
            out["filtered"].append([data[14:46].rstrip(b".").decode(), address[2]])
except socket.timeout:
    pass
probe.close()
relay = FrameRelay({"vif5.0": "br0"}, [APP])
relay.start_capture()
time.sleep(0.1)
vpc.send(frame(APP, CLIENT, b"request-1"))          # to the app VM: held
vpc.send(frame(APP, CLIENT, b"request-2"))
app.send(frame(CLIENT, APP, b"from-the-app"))        # from it: not held
time.sleep(0.3)
listener = packet_socket("up0-peer"); listener.settimeout(3)
delivery = threading.Thread(target=relay.deliver, args=(1.5,)); delivery.start()
time.sleep(0.3)
if HEARD:   # the app VM speaks from the destination's side: its gratuitous ARP arrives by up0
    vpc.send(eth_header("ff:ff:ff:ff:ff:ff", APP, 0x0806) + b"garp".ljust(46, b"."))
else:       # a broadcast by its old vif (and so on br0 too) is not the app VM heard from elsewhere
    app.send(eth_header("ff:ff:ff:ff:ff:ff", APP, 0x0806) + b"old-place".ljust(46, b"."))
delivery.join()
seen = []
try:
    while True:
        data, address = listener.recvfrom(65536)
        if address[2] != 4 and data[12:14] == b"\x88\xb5" and data[0:6] == bytes.fromhex(APP.replace(":", "")):
            seen.append(data[14:46].rstrip(b".").decode())
            out.setdefault("sources", []).append(data[6:12].hex(":"))
except socket.timeout:
    pass
relay.close()
out["bridge_mac"] = open("/sys/class/net/br0/address").read().strip()
out.update(relay.stats(), seen_on_vpc=seen,
           held=[f[14:46].rstrip(b".").decode() for _, f in relay.frames if f[12:14] == b"\x88\xb5"])
print(json.dumps(out))
"""


@pytest.fixture
def netns():
    links = ("br0", "vif5.0", "vif5.0-peer", "up0", "up0-peer")
    with private_netns("fc-relay", ["link", "add", "br0", "type", "bridge"],
                       ["link", "add", "vif5.0", "type", "veth", "peer", "name", "vif5.0-peer"],
                       ["link", "add", "up0", "type", "veth", "peer", "name", "up0-peer"],
                       ["link", "set", "vif5.0", "master", "br0"], ["link", "set", "up0", "master", "br0"],
                       *(["link", "set", link, "up"] for link in links), ipv6=False) as name:
        yield name


def scenario(netns, heard):
    proc = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", SCENARIO,
                           os.path.join(ROOT, "plugins", "module_utils"), APP_MAC, CLIENT_MAC,
                           "heard" if heard else "silent"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_frames_to_the_stopped_app_vm_are_held_and_delivered_where_it_is_heard(netns):
    result = scenario(netns, heard=True)
    assert result["filtered"] == [["probe-to-app", 4]]  # the kernel drops the rest: no Python wake-up for them
    assert result["held"] == ["request-1", "request-2"]  # in order; nothing the app VM sent
    assert result["trigger"] == "app VM heard" and not result["errors"]
    assert result["delivered"] == result["captured"] >= 2
    # the bridge learnt the app VM's MAC on up0 from its gratuitous ARP: the requests go that way, in order
    assert result["seen_on_vpc"] == ["request-1", "request-2"]
    # sent as the bridge's, not the client's: no switch on the way learns the client behind this cloud VM
    assert result["sources"] == [result["bridge_mac"]] * 2 and CLIENT_MAC not in result["sources"]


def test_without_a_word_from_the_app_vm_they_are_delivered_after_the_grace_period(netns):
    result = scenario(netns, heard=False)
    assert result["trigger"] == "timeout" and result["delivered"] == result["captured"] >= 2
    assert result["seen_on_vpc"] == []  # the bridge still sends them down vif5.0, where the app VM was


def test_a_missing_vif_or_a_bad_mac_is_reported_not_raised():
    from flexcapsule.appvm import AppVmError
    from flexcapsule.frame_relay import FrameRelay
    with pytest.raises(AppVmError, match="invalid network mac"):
        FrameRelay({"vif1.0": "xenbr0"}, ["00:16:3e:zz:00:01"])
    relay = FrameRelay({"vif-absent-0": "xenbr0"}, ["00:16:3e:00:00:01"])
    relay.start_capture()
    assert relay.deliver(0.1) == 0
    relay.close()
    stats = relay.stats()
    assert stats["trigger"] == "nothing captured" and "capture on vif-absent-0" in stats["errors"][0]
