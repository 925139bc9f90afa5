"""libos-build/dom0/vif-flexcapsule (the NIC hotplug program the runtime installs) against libxl's hotplug
contract, on real Linux networking: each test builds a private network namespace with a bridge and a veth
interface standing in for netback's vif, and a small xenstored on a unix socket (XENSTORED_PATH, as for
libxenstore) that speaks xenstore's wire protocol and records what it was asked. Needs root, like the stack's tap
interop test; scripts/setup.sh installs iproute2."""
import json
import os
import socket
import struct
import subprocess
import threading

import pytest

from private_netns import private_netns

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIBOS = os.path.join(ROOT, "libos-build")
PROGRAM = os.path.join(LIBOS, "out", "dom0", "vif-flexcapsule")
BACKEND = "backend/vif/13/0"
XS_READ, XS_WRITE, XS_ERROR = 2, 11, 16


class FakeXenstored:
    """READ and WRITE over xenstore's wire protocol (header: type, req_id, tx_id, len; then the payload)."""

    def __init__(self, path, store):
        self.store, self.log = dict(store), []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                while True:
                    header = self.read(conn, 16)
                    if header is None:
                        break
                    kind, req_id, tx_id, length = struct.unpack("<4I", header)
                    payload = self.read(conn, length) or b""
                    reply_kind, reply = self.handle(kind, payload)
                    conn.sendall(struct.pack("<4I", reply_kind, req_id, tx_id, len(reply)) + reply)

    @staticmethod
    def read(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def handle(self, kind, payload):
        if kind == XS_READ:
            path = payload.rstrip(b"\0").decode()
            self.log.append(("read", path))
            if path not in self.store:
                return XS_ERROR, b"ENOENT\0"
            return XS_READ, self.store[path].encode()
        if kind == XS_WRITE:
            path, value = payload.split(b"\0", 1)
            self.log.append(("write", path.decode(), value.decode()))
            self.store[path.decode()] = value.decode()
            return XS_WRITE, b"OK\0"
        return XS_ERROR, b"EINVAL\0"

    def close(self):
        self.server.close()


@pytest.fixture(scope="module")
def program():
    proc = subprocess.run(["make", "-C", LIBOS, "dom0"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return PROGRAM


@pytest.fixture
def netns():
    """A private namespace: bridge xenbr0 (MTU 1450) and a veth vif13.0 (MTU 1500), both down."""
    with private_netns("fc-vif", ["link", "add", "xenbr0", "mtu", "1450", "type", "bridge"],
                       ["link", "add", "vif13.0", "type", "veth", "peer", "name", "vif13.0-peer"]) as name:
        yield name


@pytest.fixture
def xenstore(tmp_path):
    server = FakeXenstored(str(tmp_path / "xenstored.sock"), {BACKEND + "/bridge": "xenbr0"})
    yield server
    server.close()


def run(program, netns, xenstore, *args, **env):
    base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "XENSTORED_PATH": xenstore.server.getsockname(),
            # what libxl 4.17 passes (xl -vvv shows it)
            "script": "/etc/xen/scripts/vif-flexcapsule", "XENBUS_TYPE": "vif", "XENBUS_PATH": BACKEND,
            "XENBUS_BASE_PATH": "backend", "netdev": "", "vif": "vif13.0"}
    base.update(env)
    return subprocess.run(["ip", "netns", "exec", netns, program] + list(args), env=base, capture_output=True,
                          text=True, timeout=30)


def link(netns, ifname):
    proc = subprocess.run(["ip", "-n", netns, "-j", "link", "show", "dev", ifname], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


def writes(xenstore):
    return [entry[1:] for entry in xenstore.log if entry[0] == "write"]


def test_online_attaches_with_the_bridge_mtu_brings_up_then_reports_connected(program, netns, xenstore):
    result = run(program, netns, xenstore, "online", "type_if=vif")
    assert result.returncode == 0, result.stderr
    vif = link(netns, "vif13.0")
    assert vif.get("master") == "xenbr0" and "UP" in vif["flags"] and vif["mtu"] == 1450
    assert xenstore.log == [("read", BACKEND + "/bridge"), ("write", BACKEND + "/hotplug-status", "connected")]


def test_the_bridge_comes_from_the_backend_directory(program, netns, xenstore):
    subprocess.run(["ip", "-n", netns, "link", "add", "br-apps", "type", "bridge"], check=True)
    subprocess.run(["ip", "-n", netns, "link", "add", "vif-web", "type", "veth", "peer", "name", "vif-web-peer"],
                   check=True)
    xenstore.store[BACKEND + "/bridge"] = "br-apps"
    result = run(program, netns, xenstore, "online", vif="vif-web")
    assert result.returncode == 0, result.stderr
    assert link(netns, "vif-web").get("master") == "br-apps" and "master" not in link(netns, "vif13.0")


def remove_bridge_key(netns, xenstore):
    del xenstore.store[BACKEND + "/bridge"]


def delete_link(name):
    return lambda netns, xenstore: subprocess.run(["ip", "-n", netns, "link", "del", name], check=True)


def set_bridge(value):
    return lambda netns, xenstore: xenstore.store.__setitem__(BACKEND + "/bridge", value)


@pytest.mark.parametrize("setup, message", [
    (remove_bridge_key, "no bridge in %s/bridge" % BACKEND),
    (delete_link("xenbr0"), "bridge xenbr0 does not exist"),
    (delete_link("vif13.0"), "network interface vif13.0 does not exist"),
    (set_bridge("../x"), "invalid bridge name '../x'"),
    (set_bridge("vif13.0"), "bridge vif13.0 does not exist"),  # an interface, not a bridge
])
def test_a_failed_attach_is_reported_to_libxl(program, netns, xenstore, setup, message):
    setup(netns, xenstore)
    result = run(program, netns, xenstore, "online")
    assert result.returncode == 1
    assert message in result.stderr
    assert writes(xenstore)[-2][0] == BACKEND + "/hotplug-error" and message in writes(xenstore)[-2][1]
    assert writes(xenstore)[-1] == (BACKEND + "/hotplug-status", "error")
    assert xenstore.store.get(BACKEND + "/hotplug-status") == "error"


def test_a_refused_attach_fails_the_device(program, netns, xenstore):
    # a bridge cannot be its own port: the kernel refuses, and the program says so
    result = run(program, netns, xenstore, "online", vif="xenbr0")
    assert result.returncode == 1 and "cannot attach xenbr0 to bridge xenbr0" in result.stderr
    assert xenstore.store[BACKEND + "/hotplug-status"] == "error"


def test_offline_detaches_and_never_fails(program, netns, xenstore):
    assert run(program, netns, xenstore, "online").returncode == 0
    result = run(program, netns, xenstore, "offline", "type_if=vif")
    vif = link(netns, "vif13.0")
    assert result.returncode == 0 and "master" not in vif and "UP" not in vif["flags"]
    subprocess.run(["ip", "-n", netns, "link", "del", "vif13.0"], check=True)  # netback usually removed it
    result = run(program, netns, xenstore, "offline")
    assert result.returncode == 0 and result.stderr == ""
    assert writes(xenstore) == [(BACKEND + "/hotplug-status", "connected")]  # offline writes nothing


def test_without_vif_the_name_comes_from_the_backend_path(program, netns, xenstore):
    result = run(program, netns, xenstore, "online", vif="")
    assert result.returncode == 0, result.stderr
    assert link(netns, "vif13.0").get("master") == "xenbr0"


def test_an_unknown_action_no_backend_or_no_xenstore_fails(program, netns, xenstore, tmp_path):
    result = run(program, netns, xenstore, "frobnicate")
    assert result.returncode == 1 and "unknown action 'frobnicate'" in result.stderr
    assert xenstore.store[BACKEND + "/hotplug-status"] == "error"
    result = run(program, netns, xenstore, "online", XENBUS_PATH="")
    assert result.returncode == 1 and "XENBUS_PATH is not set" in result.stderr
    result = run(program, netns, xenstore, "online", XENSTORED_PATH=str(tmp_path / "absent.sock"))
    assert result.returncode == 1 and "no bridge in %s/bridge" % BACKEND in result.stderr
    assert "master" not in link(netns, "vif13.0")


def test_the_program_is_one_static_executable(program):
    with open(program, "rb") as handle:
        head = handle.read(4)
    assert head == b"\x7fELF" and os.access(program, os.X_OK)
    proc = subprocess.run(["ldd", program], capture_output=True, text=True)
    assert "not a dynamic executable" in (proc.stdout + proc.stderr)
