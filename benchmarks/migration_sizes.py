#!/usr/bin/env python3
"""Live migration time and downtime against configured memory, after the thesis's Fig. 3 (needs .lab/READY).

Between cloud1 and cloud2 of the lab, for every kind and configured size, one app VM is started with
`capsule run` and migrated back and forth RUNS times with `capsule migrate --json`, the way an operator would.
Every run records total time, downtime, bytes sent and pre-copy rounds. Kinds:

  counter        FlexCapsule OS counter, a line every 10 ms (idle memory)
  memtouch-low   FlexCapsule OS memtouch dirtying 4 MiB at 1 MiB/s
  memtouch-high  FlexCapsule OS memtouch dirtying 4 MiB at 64 MiB/s
  linux          Linux PV domU (linux_appvm's image) at the sizes it boots in

Downtime, two ways:
  toolstack  libxl's timeline, as `capsule migrate` reports it: the guest acknowledging suspend on the source
             to the destination reporting it started. The summary and the plot quote this one.
  guest      the largest gap between consecutive counter lines across the migration, minus the 10 ms period,
             from the wall-clock stamps (wall_ns) the counter prints: Xen's wall clock, which each dom0 sets from
             its own clock, and both cloud VMs take theirs from this machine's. counter only.

Link limit: bytes through `ssh DEST cat >/dev/null` with the migration's own ssh options (the same multiplexed
connection) per second, measured first; each run's link-limit time is bytes_sent / that throughput.

Pre-copy rounds: read from the migration stream by the transport (capsule/migration_stream.py): the rounds that
sent pages, the last of them the stop-and-copy one, so precopy_rounds = rounds - 1; final_round_pages is what
was sent while the guest was suspended.

Writes results/migration_sizes.csv (every run), results/migration_sizes_summary.csv (median, min, max per kind
and size) and results/migration_sizes.png (time and downtime against memory, like Fig. 3).
  benchmarks/migration_sizes.py [--runs 10] [--sizes 8,16,32,64,128,256] [--kinds counter,linux,...]
"""
import argparse
import csv
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "lab"), os.path.join(HERE, "..", "plugins", "module_utils")]

import test_libos_boot as lab  # noqa: E402  (the lab helpers live with the lab test)
from flexcapsule.runtime_migrate import MUX_DIR, MUX_OPTIONS  # noqa: E402
from flexcapsule.xl import SSH_OPTIONS  # noqa: E402
from test_app_vm_lifecycle import capsule  # noqa: E402

RESULTS = os.path.join(lab.ROOT, "results")
PERIOD_MS = 10
KINDS = {
    "counter": {"image": "counter", "args": ["--interval-ms", str(PERIOD_MS)], "ready": r"counter \d+ "},
    "memtouch-low": {"image": "memtouch", "args": ["--mib", "4", "--rate", "1"], "ready": lab.MEMTOUCH_OK},
    "memtouch-high": {"image": "memtouch", "args": ["--mib", "4", "--rate", "64"], "ready": lab.MEMTOUCH_OK},
    "linux": {"image": "linux-smoke", "args": [], "ready": r"counter \d+ ", "min_mib": 96},
}
WALL_STAMP = re.compile(r"counter (\d+) mono_ns=\d+ wall_ns=(\d+)")
CONSOLE_DIR = "/var/lib/flexcapsule/run/console"  # nested_xen_console_log_dir
LINK_PROBE_MIB = 64


def link_throughput(src, dst_address, repeat=3):
    """Bytes per second through the migration transport (ssh from dom0 to dom0, the migration's own options and
    multiplexed connection, opened first so its handshake is not counted), median of `repeat`."""
    ssh = "ssh %s %s" % (" ".join(SSH_OPTIONS + MUX_OPTIONS), dst_address)
    lab.sh(src, "mkdir -p -m 0700 %s && %s true" % (MUX_DIR, ssh), timeout=120)
    rates = []
    for _ in range(repeat):
        script = ("s=$(date +%%s%%N); head -c %dM /dev/zero | %s 'cat >/dev/null'; "
                  "e=$(date +%%s%%N); echo $((e - s))" % (LINK_PROBE_MIB, ssh))
        elapsed_ns = int(lab.sh(src, script, timeout=600).stdout.split()[-1])
        rates.append(LINK_PROBE_MIB * 2**20 / (elapsed_ns / 1e9))
    return statistics.median(rates)


def counter_stamps(vms, name):
    """{counter value: wall_ns} from every console log the app VM left on these cloud VMs (its own and the
    `--incoming` one: xenconsoled appends, so a log holds every stay of the app on that host)."""
    stamps = {}
    for vm in vms:
        text = lab.sh(vm, "cat %s/guest-%s*.log 2>/dev/null || true" % (CONSOLE_DIR, name), check=False).stdout
        stamps.update((int(m.group(1)), int(m.group(2))) for m in WALL_STAMP.finditer(text))
    return stamps


def guest_downtime_s(src, dst, name, after):
    """Largest gap between consecutive counter lines numbered from `after` on (this migration), less the period."""
    stamps = counter_stamps((src, dst), name)
    gaps = [(stamps[n + 1] - stamps[n]) / 1e9 for n in stamps if n >= after and n + 1 in stamps]
    return round(max(gaps) - PERIOD_MS / 1000, 4) if gaps else None


def ready_lines(vm, name, pattern):
    return len(re.findall(pattern, capsule(vm, "logs", name).stdout))


def wait_ready(vm, name, pattern, seen=0, timeout=180):
    """Until the app's console on vm has two more lines matching pattern than the `seen` it had."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ready_lines(vm, name, pattern) >= seen + 2:
            return True
        time.sleep(2)
    return False


def run_kind_size(kind, spec, memory, runs, link_rate, writer):
    name = "bench-mig-%s-%d" % (kind, memory)
    for vm in lab.ADDRESS:
        capsule(vm, "rm", "--force", "--timeout", "30", name)
    started = capsule("cloud1", "run", "-d", "--name", name, "--memory", str(memory), spec["image"], *spec["args"])
    if started.returncode != 0 or not wait_ready("cloud1", name, spec["ready"]):
        print("%-14s %4d MiB: does not run (%s)" % (kind, memory, started.stderr.strip()[-200:]), flush=True)
        capsule("cloud1", "rm", "--force", "--timeout", "30", name)
        return []
    here, there = "cloud1", "cloud2"
    rows = []
    try:
        for run in range(1, runs + 1):
            last = max(counter_stamps((here,), name) or [0]) if kind == "counter" else 0
            seen_there = ready_lines(there, name, spec["ready"])
            proc = capsule(here, "migrate", "--json", name, lab.ADDRESS[there], timeout=900)
            if proc.returncode != 0:
                print("%-14s %4d MiB run %d: migration failed: %s" % (kind, memory, run, proc.stderr[-300:]))
                break
            result = json.loads(proc.stdout)
            going_on = wait_ready(there, name, spec["ready"], seen_there)  # also: the lines after the resume are in
            pages = result.get("pages_per_round") or []
            row = {"kind": kind, "memory_mib": memory, "run": run, "source": here, "destination": there,
                   "total_s": result["total_time_s"], "downtime_toolstack_s": result["downtime_s"],
                   "downtime_guest_s": guest_downtime_s(here, there, name, last) if kind == "counter" else None,
                   "bytes_sent": result["bytes_sent"], "precopy_rounds": len(pages) - 1 if pages else None,
                   "final_round_pages": pages[-1] if pages else None,
                   "link_limit_s": round(result["bytes_sent"] / link_rate, 3) if result["bytes_sent"] else None}
            writer.writerow(row)
            rows.append(row)
            print("%-14s %4d MiB run %2d: total %.2f s, downtime %s s (guest %s s), %s bytes, rounds %s" % (
                kind, memory, run, row["total_s"], row["downtime_toolstack_s"], row["downtime_guest_s"],
                row["bytes_sent"], row["precopy_rounds"]), flush=True)
            if not going_on:
                print("%-14s %4d MiB run %d: the app did not go on printing on %s" % (kind, memory, run, there))
                break
            here, there = there, here
    finally:
        for vm in lab.ADDRESS:
            capsule(vm, "rm", "--force", "--timeout", "30", name)
    return rows


def summarise(rows):
    """{(kind, memory): {metric: (median, min, max)}} over the runs."""
    table = {}
    for key in sorted({(r["kind"], r["memory_mib"]) for r in rows}):
        mine = [r for r in rows if (r["kind"], r["memory_mib"]) == key]
        stats = {}
        for metric in ("total_s", "downtime_toolstack_s", "downtime_guest_s", "bytes_sent", "link_limit_s",
                       "precopy_rounds", "final_round_pages"):
            values = [r[metric] for r in mine if r[metric] is not None]
            if values:
                stats[metric] = (statistics.median(values), min(values), max(values))
        table[key] = stats
    return table


def plot(table, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, metric, label in ((axes[0], "total_s", "migration time (s)"),
                                (axes[1], "downtime_toolstack_s", "downtime (s, toolstack)")):
        for kind in KINDS:
            points = sorted((m, s[metric]) for (k, m), s in table.items() if k == kind and metric in s)
            if points:
                sizes = [m for m, _ in points]
                med = [v[0] for _, v in points]
                err = [[v[0] - v[1] for _, v in points], [v[2] - v[0] for _, v in points]]
                axis.errorbar(sizes, med, yerr=err, marker="o", capsize=3, label=kind)
        axis.set_xscale("log", base=2)
        axis.set_xlabel("configured memory (MiB)")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("Live migration between two lab cloud VMs (Xen 4.17 nested in QEMU TCG): median, min-max")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report_checks(table):
    counter = {m: s["downtime_toolstack_s"][0] for (k, m), s in table.items()
               if k == "counter" and "downtime_toolstack_s" in s}
    if len(counter) > 1 and min(counter.values()) > 0:
        print("counter downtime max/min over sizes: %.2f (must be <= 1.5)"
              % (max(counter.values()) / min(counter.values())))
    for (kind, memory), stats in sorted(table.items()):
        linux = table.get(("linux", memory), {}).get("downtime_toolstack_s")
        if kind == "counter" and linux and "downtime_toolstack_s" in stats:
            print("%4d MiB: Linux downtime / counter downtime = %.1f (must be >= 10)"
                  % (memory, linux[0] / stats["downtime_toolstack_s"][0]))
        if "link_limit_s" in stats and stats["link_limit_s"][0]:
            print("%-14s %4d MiB: total / link-limit time = %.1f (must be <= 1.3)"
                  % (kind, memory, stats["total_s"][0] / stats["link_limit_s"][0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sizes", default="8,16,32,64,128,256")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--out", default="migration_sizes", help="file name stem under results/")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        sys.exit("unknown kind(s) %s: choose from %s" % (", ".join(unknown), ", ".join(KINDS)))
    if not os.path.exists(os.path.join(lab.ROOT, ".lab", "READY")):
        sys.exit("the lab is not up (.lab/READY missing): run `make demo` or playbooks/main.yml first")
    for vm in lab.ADDRESS:
        if lab.on(vm, "sh", "-c", "command -v capsule").returncode != 0:
            sys.exit("%s has no capsule: run playbooks/benchmark.yml (or deploy.yml --tags runtime)" % vm)
    os.makedirs(RESULTS, exist_ok=True)
    link_rate = link_throughput("cloud1", lab.ADDRESS["cloud2"])
    print("link: %.1f MiB/s through ssh cloud1 -> cloud2" % (link_rate / 2**20), flush=True)
    rows = []
    started = time.time()
    with open(os.path.join(RESULTS, args.out + ".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["kind", "memory_mib", "run", "source", "destination", "total_s",
                                                    "downtime_toolstack_s", "downtime_guest_s", "bytes_sent",
                                                    "precopy_rounds", "final_round_pages", "link_limit_s"])
        writer.writeheader()
        for kind in kinds:
            for memory in sizes:
                if memory >= KINDS[kind].get("min_mib", 0):
                    rows += run_kind_size(kind, KINDS[kind], memory, args.runs, link_rate, writer)
                    handle.flush()
    table = summarise(rows)
    with open(os.path.join(RESULTS, args.out + "_summary.csv"), "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["kind", "memory_mib", "metric", "median", "min", "max"])
        print("\n%-14s %6s  %-22s %10s %10s %10s" % ("kind", "MiB", "metric", "median", "min", "max"))
        for (kind, memory), stats in table.items():
            for metric, (med, low, high) in stats.items():
                out.writerow([kind, memory, metric, med, low, high])
                print("%-14s %6d  %-22s %10.4g %10.4g %10.4g" % (kind, memory, metric, med, low, high))
    report_checks(table)
    if table:
        plot(table, os.path.join(RESULTS, args.out + ".png"))
    print("link %.1f MiB/s; %d runs in %.0f s; results/%s.csv, _summary.csv, .png"
          % (link_rate / 2**20, len(rows), time.time() - started, args.out))
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
