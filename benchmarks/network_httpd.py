#!/usr/bin/env python3
"""httpd in FlexCapsule OS against the same page from a Linux PV domU, in one lab run (needs .lab/READY).

For each kind, one app VM with an address on the lab VPC is started on cloud1 with `capsule run`:
  flexcapsule  the httpd image (FlexCapsule OS's own TCP/IP stack)
  linux        the linux-smoke image, whose init serves the same page with busybox httpd when it has an address

Throughput: benchmarks/http_load.py inside the lab's network namespace (flexlab), GET / over CONNECTIONS
keep-alive connections for DURATION seconds: requests per second and latency percentiles.
Migration: the same load runs while the app VM is live-migrated MIGRATIONS times between cloud1 and cloud2;
each migration's client-observed stall is the longest time with no request completing, from the migration's
start to 3 s after it ended. Failed requests are counted, not retried away.

Writes results/network_httpd.csv (one row per kind and phase), _migrations.csv (one row per migration),
.png and .md. Machines are shared and noisy: compare the two kinds of one run, not absolute figures.
  benchmarks/network_httpd.py [--duration 30] [--connections 8] [--migrations 5] [--kinds flexcapsule,linux]
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "lab")]

from http_load import longest_gap  # noqa: E402
from test_app_vm_lifecycle import ADDRESS, ROOT, capsule, cleanup  # noqa: E402
from test_network import NETNS, in_netns  # noqa: E402

RESULTS = os.path.join(ROOT, "results")
LOAD = os.path.join(HERE, "http_load.py")
KINDS = {
    "flexcapsule": {"image": "httpd", "address": "10.77.0.70", "memory": 16},
    "linux": {"image": "linux-smoke", "address": "10.77.0.71", "memory": 128},
}
PHASE_FIELDS = ("kind", "phase", "requests", "failed", "requests_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms",
                "longest_stall_s")
MIGRATION_FIELDS = ("kind", "migration", "source", "destination", "total_s", "downtime_toolstack_s", "stall_s",
                    "failed_during")


def start(kind, spec):
    name = "m-bench-net-%s" % kind
    cleanup(name)
    run = capsule("cloud1", "run", "-d", "--name", name, "--memory", spec["memory"],
                  "--ip", "%s/24" % spec["address"], "--gateway", "10.77.0.1", spec["image"])
    if run.returncode != 0:
        raise SystemExit("cannot start %s: %s" % (name, run.stderr.strip()))
    deadline = time.time() + 300
    probe = ("import http.client,sys; c=http.client.HTTPConnection(sys.argv[1], 80, timeout=5);"
             "c.request('GET', '/'); sys.exit(c.getresponse().status != 200)")
    while in_netns(sys.executable, "-c", probe, spec["address"]).returncode != 0:
        if time.time() > deadline:
            raise SystemExit("%s does not serve HTTP after 300 s:\n%s" % (name, capsule("cloud1", "logs", name).stdout[-2000:]))
        time.sleep(2)
    return name


def load(address, args, duration=None, stop_file=None, csv_path=None):
    argv = [sys.executable, LOAD, "--host", address, "--path", "/", "--connections", args.connections,
            "--duration", duration if duration is not None else 0]
    if stop_file:
        argv += ["--stop-file", stop_file]
    if csv_path:
        argv += ["--csv", csv_path]
    return subprocess.Popen(["ip", "netns", "exec", NETNS, *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def finish(proc):
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit("load generator failed: %s" % err.strip())
    return json.loads(out)


def phase_row(kind, phase, summary):
    lat = summary["latency_ms"]
    return {"kind": kind, "phase": phase, "requests": summary["requests"], "failed": summary["failed"],
            "requests_per_s": summary["requests_per_s"], "p50_ms": lat["p50"], "p90_ms": lat["p90"],
            "p99_ms": lat["p99"], "max_ms": lat["max"], "longest_stall_s": summary["longest_stall_s"]}


def stalls(csv_path, started, windows):
    """Per window (start, end) in CLOCK_MONOTONIC: the longest gap between completions, and failures in it."""
    with open(csv_path) as handle:
        rows = [(float(r["start_s"]) + started, float(r["end_s"]) + started, r["ok"] == "1")
                for r in csv.DictReader(handle)]
    done = [end for _, end, ok in rows if ok]
    out = []
    for begin, end in windows:
        gap, _start = longest_gap(done, begin, end)
        failed = sum(1 for s, e, ok in rows if not ok and begin <= e <= end)
        out.append((round(gap, 3), failed))
    return out


def run_kind(kind, spec, args, phase_writer, migration_writer):
    name = start(kind, spec)
    try:
        steady = finish(load(spec["address"], args, duration=args.duration))
        phase_writer.writerow(phase_row(kind, "steady", steady))
        with tempfile.TemporaryDirectory(prefix="m-bench-net-") as scratch:
            stop_file, csv_path = os.path.join(scratch, "stop"), os.path.join(scratch, "load.csv")
            proc = load(spec["address"], args, stop_file=stop_file, csv_path=csv_path)
            windows, results = [], []
            here, there = "cloud1", "cloud2"
            time.sleep(3)
            for _ in range(args.migrations):
                begin = time.monotonic()
                moved = capsule(here, "migrate", "--json", name, ADDRESS[there])
                end = time.monotonic()
                if moved.returncode != 0:
                    open(stop_file, "w").close()
                    finish(proc)
                    raise SystemExit("migration of %s from %s failed (rc=%s): %s %s" % (
                        name, here, moved.returncode, moved.stderr.strip(), moved.stdout.strip()[-2000:]))
                windows.append((begin, end + 3))
                results.append((here, there, json.loads(moved.stdout)))
                here, there = there, here
                time.sleep(4)
            open(stop_file, "w").close()
            during = finish(proc)
            phase_writer.writerow(phase_row(kind, "migrating", during))
            for index, ((src, dst, result), (stall, failed)) in enumerate(
                    zip(results, stalls(csv_path, during["started_monotonic"], windows))):
                migration_writer.writerow({"kind": kind, "migration": index + 1, "source": src, "destination": dst,
                                           "total_s": result.get("total_time_s"),
                                           "downtime_toolstack_s": result.get("downtime_s"),
                                           "stall_s": stall, "failed_during": failed})
    finally:
        cleanup(name)


def plot(phases, migrations, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({row["kind"] for row in phases})
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    steady = {row["kind"]: row for row in phases if row["phase"] == "steady"}
    axes[0].bar(kinds, [float(steady[k]["requests_per_s"]) for k in kinds], color=["tab:blue", "tab:orange"])
    axes[0].set_title("requests/s (steady)")
    for offset, pct in enumerate(("p50_ms", "p99_ms")):
        axes[1].bar([i + 0.4 * offset for i in range(len(kinds))], [float(steady[k][pct]) for k in kinds], 0.4,
                    label=pct.replace("_ms", ""))
    axes[1].set_xticks([i + 0.2 for i in range(len(kinds))], kinds)
    axes[1].set_title("latency (ms)")
    axes[1].legend()
    axes[2].boxplot([[float(m["stall_s"]) for m in migrations if m["kind"] == k] for k in kinds], tick_labels=kinds)
    axes[2].set_title("client-observed stall per migration (s)")
    fig.suptitle("httpd: FlexCapsule OS vs Linux PV domU (lab, TCG)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(phases, migrations, args, path):
    lines = ["# httpd: FlexCapsule OS vs Linux PV domU", "",
             "`benchmarks/network_httpd.py --duration %s --connections %s --migrations %s`; the same page (GET /), "
             "load from the lab's netns, one run, compare ratios." % (args.duration, args.connections,
                                                                      args.migrations), "",
             "| kind | phase | requests | failed | req/s | p50 ms | p90 ms | p99 ms | max ms | longest stall s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(str(row[f]) for f in PHASE_FIELDS) + " |" for row in phases]
    lines += ["", "| kind | migrations | stall median s | stall max s | toolstack downtime median s | failed |",
              "|---|---|---|---|---|---|"]
    for kind in sorted({m["kind"] for m in migrations}):
        mine = [m for m in migrations if m["kind"] == kind]
        stall = [float(m["stall_s"]) for m in mine]
        down = [float(m["downtime_toolstack_s"]) for m in mine if m["downtime_toolstack_s"] not in (None, "")]
        lines.append("| %s | %d | %.3f | %.3f | %s | %d |" % (
            kind, len(mine), statistics.median(stall), max(stall),
            "%.3f" % statistics.median(down) if down else "-", sum(int(m["failed_during"]) for m in mine)))
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--migrations", type=int, default=5)
    parser.add_argument("--kinds", default="flexcapsule,linux")
    parser.add_argument("--stem", default="network_httpd")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or args.duration <= 0 or args.connections < 1 or args.migrations < 1:
        parser.error("kinds are %s; duration, connections and migrations must be positive" % ",".join(KINDS))
    os.makedirs(RESULTS, exist_ok=True)
    base = os.path.join(RESULTS, args.stem)
    with open(base + ".csv", "w", newline="", buffering=1) as phases_out, \
            open(base + "_migrations.csv", "w", newline="", buffering=1) as migrations_out:
        phase_writer = csv.DictWriter(phases_out, PHASE_FIELDS)
        migration_writer = csv.DictWriter(migrations_out, MIGRATION_FIELDS)
        phase_writer.writeheader()
        migration_writer.writeheader()
        for kind in kinds:
            print("== %s" % kind, flush=True)
            run_kind(kind, KINDS[kind], args, phase_writer, migration_writer)
    with open(base + ".csv") as handle:
        phases = list(csv.DictReader(handle))
    with open(base + "_migrations.csv") as handle:
        migrations = list(csv.DictReader(handle))
    plot(phases, migrations, base + ".png")
    print("\n".join(markdown(phases, migrations, args, base + ".md")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
