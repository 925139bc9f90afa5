"""The HTTP load generator (benchmarks/http_load.py) against a small server on loopback: it must count
every failed request, find the longest stall and notice a counter that repeats or skips."""
import http.server
import json
import os
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOAD = os.path.join(ROOT, "benchmarks", "http_load.py")


def serve(behaviour):
    """A keep-alive HTTP/1.1 server on 127.0.0.1; behaviour(n) -> (status, body) for the n-th request."""
    lock = threading.Lock()
    state = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            with lock:
                state["n"] += 1
                status, body = behaviour(state["n"])
            if status is None:  # drop the connection without an answer
                self.close_connection = True
                return
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_load(server, *extra):
    proc = subprocess.run([sys.executable, LOAD, "--host", "127.0.0.1", "--port", str(server.server_port),
                           "--connections", "3", "--duration", "1.5", *extra],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def servers():
    started = []
    yield lambda behaviour: started.append(serve(behaviour)) or started[-1]
    for server in started:
        server.shutdown()


def test_a_clean_counter_run_has_no_failures_and_no_gaps(servers):
    summary = run_load(servers(lambda n: (200, "%d\n" % n)))
    assert summary["failed"] == 0 and summary["ok"] > 10
    assert summary["counter_repeated"] == 0 and summary["counter_missing"] == 0
    assert summary["counter_last"] - summary["counter_first"] + 1 == summary["ok"]
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["max"]


def test_errors_dropped_connections_and_a_replayed_counter_are_counted(servers):
    def flaky(n):
        if n == 5:
            return 500, "oops"
        if n == 9:
            return None, ""
        return 200, "%d\n" % (n if n < 20 else n - 10)  # the app "forgot" 10 values at n=20

    summary = run_load(servers(flaky))
    assert summary["failed"] == 2, summary
    assert any("500" in reason for reason in summary["failures"]), summary
    assert summary["counter_repeated"] > 0, summary


def test_the_longest_stall_is_found(servers):
    def slow_once(n):
        if n == 30:
            time.sleep(0.6)
        return 200, "%d\n" % n

    summary = run_load(servers(slow_once), "--connections", "1")
    assert 0.55 <= summary["longest_stall_s"] < 1.2, summary
    assert summary["failed"] == 0


def test_bad_arguments_are_refused():
    proc = subprocess.run([sys.executable, LOAD, "--host", "x", "--path", "nope"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "--path must start with /" in proc.stderr
