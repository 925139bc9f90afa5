#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Linux side of test_net_tap: runs inside the test's own network namespace and talks to
the FlexCapsule stack at the address given on the command line. Prints one line per check;
exits 0 only if all of them pass."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

PEER = sys.argv[1] if len(sys.argv) > 1 else "10.77.0.2"
LOCAL = "10.77.0.1"
HTTP_BODY = bytes((ord("a") + i % 26) for i in range(30000))
failures = []


def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(name)


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ping(count=3):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.settimeout(2)
    got = 0
    for seq in range(1, count + 1):
        payload = b"flexcapsule-ping-%d" % seq
        hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4643, seq)
        msg = hdr[:2] + struct.pack("!H", icmp_checksum(hdr + payload)) + hdr[4:] + payload
        sock.sendto(msg, (PEER, 0))
        deadline = time.time() + 2
        while time.time() < deadline:
            try:
                pkt, addr = sock.recvfrom(2048)
            except socket.timeout:
                break
            ihl = (pkt[0] & 15) * 4
            icmp = pkt[ihl:]
            if addr[0] == PEER and icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (0x4643, seq):
                if icmp[8:] == payload and icmp_checksum(icmp) == 0:
                    got += 1
                break
    check("ping", got == count, f"{got}/{count} replies")


def echo_once(size=200_000, chunk=4096, tag=0):
    s = socket.create_connection((PEER, 7), timeout=10)
    sent = 0
    ok = True
    while sent < size:
        block = bytes(((sent + i) * 31 + tag) & 0xFF for i in range(min(chunk, size - sent)))
        s.sendall(block)
        back = b""
        while len(back) < len(block):
            part = s.recv(len(block) - len(back))
            if not part:
                break
            back += part
        if back != block:
            ok = False
            break
        sent += len(block)
    s.close()
    return ok, sent


def tcp_echo():
    ok, sent = echo_once()
    check("tcp echo 200 KB", ok and sent == 200_000, f"sent {sent}")


def tcp_echo_parallel(n=20):
    results = [None] * n

    def run(i):
        try:
            results[i] = echo_once(size=20_000, chunk=2000, tag=i)[0]
        except OSError as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    check(f"tcp echo x{n} in parallel", all(r is True for r in results), repr(results))


def http_python():
    s = socket.create_connection((PEER, 80), timeout=10)
    s.sendall(b"GET /hello HTTP/1.0\r\nHost: flexcapsule\r\n\r\n")
    data = b""
    while True:
        part = s.recv(65536)
        if not part:
            break
        data += part
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    check("http (python socket)", head.startswith(b"HTTP/1.0 200 OK") and body == HTTP_BODY,
          f"{head[:40]!r}, body {len(body)} bytes")


def http_curl():
    curl = shutil.which("curl")  # scripts/setup.sh installs it
    if not curl:
        check("http (curl)", False, "curl is not installed")
        return
    out = subprocess.run([curl, "-s", "--max-time", "10", f"http://{PEER}/hello"], capture_output=True, check=False)
    check("http (curl)", out.returncode == 0 and out.stdout == HTTP_BODY,
          f"curl exit {out.returncode}, {len(out.stdout)} bytes")


def udp_echo(n=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    good = 0
    for i in range(n):
        msg = b"datagram %d " % i + bytes(range(256)) * (i + 1)
        s.sendto(msg, (PEER, 7))
        try:
            back, addr = s.recvfrom(4096)
            good += back == msg and addr == (PEER, 7)
        except socket.timeout:
            pass
    s.close()
    check("udp echo", good == n, f"{good}/{n}")


def listener(result):
    """Accepts the FlexCapsule stack's own connection: 100000 bytes, answered with a summary."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((LOCAL, 9000))
    srv.listen(1)
    srv.settimeout(30)
    try:
        conn, addr = srv.accept()
        conn.settimeout(10)
        data = b""
        while len(data) < 100_000:
            part = conn.recv(65536)
            if not part:
                break
            data += part
        want = bytes((i * 7 + 3) & 0xFF for i in range(100_000))
        conn.sendall(b"OK %d %d\n" % (len(data), sum(data)))
        conn.close()
        result.append(addr[0] == PEER and data == want)
    except OSError as e:
        result.append(e)
    srv.close()


def main():
    result = []
    t = threading.Thread(target=listener, args=(result,))
    t.start()
    for step in (ping, tcp_echo, tcp_echo_parallel, http_python, http_curl, udp_echo):
        try:
            step()
        except OSError as e:
            check(step.__name__, False, repr(e))
    t.join(40)
    check("our stack connects to Linux (100 KB)", result == [True], repr(result))
    arp = subprocess.run(["ip", "neigh", "show", PEER], capture_output=True, text=True, check=False).stdout
    check("Linux learned our MAC", "02:fc:00:00:00:02" in arp, arp.strip())
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
