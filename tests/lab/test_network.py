"""Lab tier: a networked FlexCapsule OS app VM (httpd, kv) answers the control node, and httpd keeps serving
through 20 live migrations between cloud1 and cloud2 under load with zero failed requests.

The control node reaches the lab VPC only inside the lab's own network namespace (flexlab), so ping, the load
generator and the kv client run there. Run: .venv/bin/pytest -m lab tests/lab/test_network.py -s
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

from test_app_vm_lifecycle import ADDRESS, ROOT, app_vms, capsule, cleanup, task  # noqa: F401
from test_app_vm_lifecycle import require_lab, runtime_installed  # noqa: F401  (autouse fixtures)

pytestmark = pytest.mark.lab
NETNS = "flexlab"
HTTPD_IP = "10.77.0.60"
KV_IP = "10.77.0.61"
PREFIX = 24
LOAD = os.path.join(ROOT, "benchmarks", "http_load.py")
MIGRATIONS = int(os.environ.get("FLEXCAPSULE_NET_MIGRATIONS", "20"))


def in_netns(*argv, timeout=120, **kwargs):
    return subprocess.run(["ip", "netns", "exec", NETNS, *[str(a) for a in argv]], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def start_app(name, image, address, *args):
    cleanup(name)
    result = task("cloud1", "app_vm", {"name": name, "image": image, "args": list(args),
                                       "network": {"address": "%s/%d" % (address, PREFIX), "gateway": "10.77.0.1"}})
    assert result["changed"] and not result.get("failed"), result
    deadline = time.time() + 120
    while in_netns("ping", "-c", "1", "-W", "1", address).returncode != 0:
        assert time.time() < deadline, "%s did not answer ping within 120 s: %s" % (
            name, capsule("cloud1", "logs", name).stdout[-2000:])
    return result


def http_get(path):
    proc = in_netns(sys.executable, "-c", (
        "import http.client,sys; c=http.client.HTTPConnection(sys.argv[1], 80, timeout=20);"
        "c.request('GET', sys.argv[2]); r=c.getresponse(); print(r.status); print(r.read().decode())"),
        HTTPD_IP, path)
    assert proc.returncode == 0, proc.stderr
    status, body = proc.stdout.split("\n", 1)
    return int(status), body


def kv_session(lines):
    """Sends the request lines over one connection; returns the reply lines."""
    script = ("import socket,sys; s=socket.create_connection((sys.argv[1], 7000), timeout=20);"
              "f=s.makefile('rw', newline='\\n'); out=[]\n"
              "for line in sys.argv[2:]:\n f.write(line+'\\n'); f.flush(); out.append(f.readline().rstrip('\\n'))\n"
              "print('\\n'.join(out))")
    proc = in_netns(sys.executable, "-c", script, KV_IP, *lines)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.rstrip("\n").split("\n")


def where(name):
    for cloud_vm in ADDRESS:
        if app_vms(cloud_vm).get(name, {}).get("state") == "running":
            return cloud_vm
    return None


@pytest.fixture
def httpd():
    name = "m-net-httpd"
    start_app(name, "httpd", HTTPD_IP)
    yield name
    cleanup(name)


def test_ping_http_and_the_reported_address(httpd):
    ping = in_netns("ping", "-c", "5", "-i", "0.2", HTTPD_IP)
    assert ping.returncode == 0 and " 0% packet loss" in ping.stdout, ping.stdout
    status, body = http_get("/")
    assert status == 200 and "FlexCapsule" in body
    assert http_get("/nope")[0] == 404
    first, second = int(http_get("/counter")[1]), int(http_get("/counter")[1])
    assert second == first + 1
    view = app_vms("cloud1")[httpd]
    assert view["network"]["address"].startswith(HTTPD_IP), view
    info = task("cloud1", "app_vm_info", {"name": httpd})
    assert HTTPD_IP in json.dumps(info["app_vms"]), info


def test_kv_store_keeps_its_contents_across_a_migration():
    name = "m-net-kv"
    start_app(name, "kv", KV_IP)
    try:
        assert kv_session(["SET colour blue", "SET n 42", "GET colour", "COUNT"]) == [
            "OK", "OK", "VALUE blue", "COUNT 2"]
        moved = capsule("cloud1", "migrate", name, ADDRESS["cloud2"])
        assert moved.returncode == 0, moved.stderr
        assert kv_session(["GET colour", "GET n", "DEL n", "GET n", "PING"]) == [
            "VALUE blue", "VALUE 42", "DELETED", "NOT_FOUND", "PONG"]
    finally:
        cleanup(name)


def test_httpd_serves_through_repeated_migrations_under_load(httpd):
    """The must-hold: zero failed requests across MIGRATIONS live migrations, the counter continuous."""
    with tempfile.TemporaryDirectory(prefix="m-net-") as scratch:
        stop_file = os.path.join(scratch, "stop")
        os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
        load = subprocess.Popen(["ip", "netns", "exec", NETNS, sys.executable, LOAD, "--host", HTTPD_IP,
                                 "--connections", "4", "--duration", "0", "--stop-file", stop_file,
                                 "--csv", os.path.join(ROOT, "results", "network_migrations_load.csv")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        migrations = []
        try:
            time.sleep(5)
            here, there = "cloud1", "cloud2"
            for _ in range(MIGRATIONS):
                moved = capsule(here, "migrate", "--json", httpd, ADDRESS[there])
                assert moved.returncode == 0, (here, there, moved.stderr)
                migrations.append(json.loads(moved.stdout))
                here, there = there, here
                time.sleep(2)
            time.sleep(3)
        finally:
            open(stop_file, "w").close()
            out, err = load.communicate(timeout=120)
        assert load.returncode == 0, err
        summary = json.loads(out)
    downtimes = [m.get("downtime_s") for m in migrations]
    print("\nhttpd under load across %d migrations: %s\ntoolstack downtimes: %s" % (
        len(migrations), json.dumps(summary, sort_keys=True), downtimes))
    assert len(migrations) == MIGRATIONS
    assert summary["failed"] == 0, summary
    assert summary["ok"] > 20 * MIGRATIONS, summary
    assert summary["counter_repeated"] == 0 and summary["counter_missing"] == 0, summary
    assert summary["longest_stall_s"] < 15, summary
    assert where(httpd) == ("cloud1" if MIGRATIONS % 2 == 0 else "cloud2")


def test_garbage_requests_get_errors_and_the_server_goes_on(httpd):
    """Binary junk and broken request lines at the app VM's port: each gets 400 or a close, and httpd keeps
    serving (malformed frames themselves are fuzzed against the stack in the host tier)."""
    before = json.loads(http_get("/stats")[1])
    junk = in_netns(sys.executable, "-c", (
        "import socket,sys\n"
        "replies=[]\n"
        "for payload in (bytes((i*37)%256 for i in range(2100)), b'GET\\r\\n\\r\\n', b'X'*4000, b'\\r\\n\\r\\n'):\n"
        " s=socket.create_connection((sys.argv[1], 80), timeout=10)\n"
        " s.sendall(payload); replies.append(s.recv(100).split(b' ')[1:2]); s.close()\n"
        "print(replies)\n"), HTTPD_IP)
    assert junk.returncode == 0, junk.stderr
    assert junk.stdout.count("b'400'") + junk.stdout.count("b'431'") == 4, junk.stdout
    status, _ = http_get("/")
    after = json.loads(http_get("/stats")[1])
    assert status == 200 and after["requests"] > before["requests"], (before, after)
