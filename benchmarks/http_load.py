#!/usr/bin/env python3
"""HTTP load for an app VM while it is live-migrated: counts every failed request and the longest stall.

N workers each keep one HTTP/1.1 keep-alive connection and send GET PATH back to back, so every request a
migration delays or loses is seen. A request fails when the connection breaks, times out, or the answer is not
200; the worker then reconnects and goes on (the failure stays counted). With PATH /counter (httpd's counter,
which answers one more than its last answer) the values seen must be exactly 1 higher each time for the whole
run across all workers: a repeated or missing value means the app lost or replayed state.

Stall: the longest time with no request completing anywhere (from the completions of all workers, merged).

Runs until --duration passes, SIGTERM/SIGINT arrives, or --stop-file exists; then prints one JSON summary (and
writes every request to --csv). Lab use, inside the lab's own network namespace:
  ip netns exec flexlab benchmarks/http_load.py --host 10.77.0.50 --connections 8 --duration 60
"""
import argparse
import csv
import json
import os
import signal
import socket
import statistics
import threading
import time


class Worker(threading.Thread):
    def __init__(self, index, args, stop):
        super().__init__(daemon=True, name="load-%d" % index)
        self.args, self.stop = args, stop
        self.records = []  # (start, end, ok, value or error text)
        self.sock = None
        self.buffer = b""

    def connect(self):
        self.sock = socket.create_connection((self.args.host, self.args.port), timeout=self.args.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def read_until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def read_exactly(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection mid-body")
            self.buffer += chunk
        body, self.buffer = self.buffer[:count], self.buffer[count:]
        return body

    def request(self):
        if self.sock is None:
            self.connect()
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (self.args.path.encode(), self.args.host.encode()))
        head = self.read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = head[0].split(" ")
        headers = dict(line.split(":", 1) for line in head[1:] if ":" in line)
        length = int({k.strip().lower(): v.strip() for k, v in headers.items()}.get("content-length", "0"))
        body = self.read_exactly(length)
        if len(status) < 2 or status[1] != "200":
            raise ValueError("status %s" % head[0])
        if "close" in {k.strip().lower(): v.strip().lower() for k, v in headers.items()}.get("connection", ""):
            self.close()
        return body.decode("latin-1").strip()

    def run(self):
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                value = self.request()
                self.records.append((start, time.monotonic(), True, value))
            except (OSError, ValueError, ConnectionError) as exc:
                self.records.append((start, time.monotonic(), False, "%s: %s" % (type(exc).__name__, exc)))
                self.close()
                time.sleep(0.05)  # a refused connection must not spin
        self.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def longest_gap(completions, begin, end):
    """(length, start) of the longest time in [begin, end] in which no request completed."""
    points = [begin] + sorted(t for t in completions if begin <= t <= end) + [end]
    return max((b - a, a) for a, b in zip(points, points[1:]))


def counter_check(records):
    """For /counter: the values, in the order they were produced, must be consecutive."""
    values = sorted(int(r[3]) for r in records if r[2] and r[3].isdigit())
    if not values:
        return {"counter_first": None, "counter_last": None, "counter_repeated": 0, "counter_missing": 0}
    repeated = len(values) - len(set(values))
    missing = (values[-1] - values[0] + 1) - len(set(values))
    return {"counter_first": values[0], "counter_last": values[-1], "counter_repeated": repeated,
            "counter_missing": missing}


def summarise(records, started, ended, path):
    ok = [r for r in records if r[2]]
    failed = [r for r in records if not r[2]]
    latencies = [r[1] - r[0] for r in ok]
    stall, stall_at = longest_gap([r[1] for r in ok], started, ended)
    summary = {
        "requests": len(records), "ok": len(ok), "failed": len(failed),
        "failures": sorted({r[3] for r in failed})[:10],
        "duration_s": round(ended - started, 3),
        "started_monotonic": started,  # CLOCK_MONOTONIC is one clock for every namespace: align with callers
        "requests_per_s": round(len(ok) / (ended - started), 1) if ended > started else None,
        "latency_ms": {name: round(1000 * v, 2) if v is not None else None for name, v in (
            ("p50", percentile(latencies, 0.50)), ("p90", percentile(latencies, 0.90)),
            ("p99", percentile(latencies, 0.99)), ("max", max(latencies) if latencies else None),
            ("mean", statistics.fmean(latencies) if latencies else None))},
        "longest_stall_s": round(stall, 3),
        "longest_stall_starts_s": round(stall_at - started, 3),
    }
    if path.rstrip("/").endswith("counter"):
        summary.update(counter_check(records))
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--path", default="/counter")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds; 0 = until stopped")
    parser.add_argument("--timeout", type=float, default=20.0, help="per request, seconds")
    parser.add_argument("--stop-file", help="stop when this file exists")
    parser.add_argument("--csv", help="write every request here")
    args = parser.parse_args(argv)
    if args.connections < 1 or not args.path.startswith("/"):
        parser.error("--connections must be >= 1 and --path must start with /")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    workers = [Worker(i, args, stop) for i in range(args.connections)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    while not stop.is_set():
        if args.duration and time.monotonic() - started >= args.duration:
            break
        if args.stop_file and os.path.exists(args.stop_file):
            break
        stop.wait(0.2)
    stop.set()
    for worker in workers:
        worker.join(args.timeout + 5)
    ended = time.monotonic()
    records = sorted((r for w in workers for r in w.records), key=lambda r: r[1])
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["start_s", "end_s", "ok", "value"])
            writer.writerows((round(r[0] - started, 6), round(r[1] - started, 6), int(r[2]), r[3]) for r in records)
    print(json.dumps(summarise(records, started, ended, args.path), sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
