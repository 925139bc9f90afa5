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
  toolstack  libxl's timeline, as `capsule migrate` reports it: libxl seeing the guest suspended on the source
             to the destination reporting it started. The plot quotes this one.
  guest      the largest gap between consecutive counter lines across the migration, less the median gap (the
             app's period as it ran). FlexCapsule OS's counter stamps Xen's wall clock (wall_ns), which each dom0
             sets from its own clock, both from this machine's; Linux's stamps CLOCK_BOOTTIME (boot_cs), which
             Linux carries across the migration adding the time it was suspended. counter and linux.

Link limit: bytes through `ssh DEST cat >/dev/null` with the migration's own ssh options (the same multiplexed
connection) per second, measured first; each run's link-limit time is bytes_sent / that throughput.

Where the total goes, from xl's own milestones: setup_s (xl starts -> the destination is ready to receive),
stream_s (-> the destination has the whole stream), handover_s (-> the destination runs the app and xl is done).

Pre-copy rounds: read from the migration stream by the transport (capsule/migration_stream.py): the rounds that
sent pages, the last of them the stop-and-copy one, so precopy_rounds = rounds - 1; final_round_pages is what
was sent while the guest was suspended.

Writes results/migration_sizes.csv (every run, row by row: it shows the progress), _summary.csv (median, min, max
per kind and size), .png (time and downtime against memory, like Fig. 3) and .md (the summary table, the
must-holds and the lab facts, as docs/migration-benchmark.md publishes them).
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
    "counter": {"image": "counter", "args": ["--interval-ms", str(PERIOD_MS)], "ready": r"counter \d+ ",
                "stamp": (re.compile(r"counter (\d+) mono_ns=\d+ wall_ns=(\d+)"), 1)},
    "memtouch-low": {"image": "memtouch", "args": ["--mib", "4", "--rate", "1"], "ready": lab.MEMTOUCH_OK},
    "memtouch-high": {"image": "memtouch", "args": ["--mib", "4", "--rate", "64"], "ready": lab.MEMTOUCH_OK},
    "linux": {"image": "linux-smoke", "args": [], "ready": r"counter \d+ ", "min_mib": 96,
              "stamp": (re.compile(r"counter (\d+) \d+ boot_cs=(\d+)"), 10**7)},
}
# What every run records: who, then the measured METRICS (the summary's, the CSV's and the Markdown's).
RUN_FIELDS = ("kind", "memory_mib", "run", "source", "destination")
METRICS = ("total_s", "downtime_toolstack_s", "downtime_guest_s", "bytes_sent", "precopy_rounds",
           "final_round_pages", "link_limit_s", "setup_s", "stream_s", "handover_s")
CONSOLE_DIR = "/var/lib/flexcapsule/run/console"  # nested_xen_console_log_dir
LINK_PROBE_MIB = 64


def link_throughput(src, dst_address, repeat=3):
    """Bytes per second through the migration transport (ssh from dom0 to dom0, the migration's own options and
    multiplexed connection, opened first so its handshake is not counted), median of `repeat`."""
    ssh = "ssh %s %s" % (" ".join(SSH_OPTIONS + MUX_OPTIONS), dst_address)
    lab.sh(src, "mkdir -p -m 0700 %s && %s true" % (MUX_DIR, ssh), timeout=120)
    rates = []
    for _ in range(repeat):
        script = ("s=$(date +%%s%%N); dd if=/dev/zero bs=1M count=%d status=none | %s 'cat >/dev/null'; "
                  "e=$(date +%%s%%N); echo $((e - s))" % (LINK_PROBE_MIB, ssh))
        elapsed_ns = int(lab.sh(src, script, timeout=600).stdout.split()[-1])
        rates.append(LINK_PROBE_MIB * 2**20 / (elapsed_ns / 1e9))
    return statistics.median(rates)


def console_text(vm, name):
    """Every console log the app VM left on this cloud VM (its own and the `--incoming` one: xenconsoled
    appends, so a log holds every stay of the app on that host). Read directly: `capsule logs` would cost a
    Python start in the cloud VM on every poll."""
    return lab.sh(vm, "cat %s/guest-%s*.log 2>/dev/null || true" % (CONSOLE_DIR, name), check=False).stdout


def counter_stamps(vms, name, stamp):
    """{counter value: ns} from the app VM's console logs on these cloud VMs; stamp is (pattern, ns per unit)."""
    pattern, unit_ns = stamp
    stamps = {}
    for vm in vms:
        text = console_text(vm, name)
        stamps.update((int(m.group(1)), int(m.group(2)) * unit_ns) for m in pattern.finditer(text))
    return stamps


def guest_downtime_s(src, dst, name, after, stamp):
    """Largest gap between consecutive counter lines numbered from `after` on (this migration), less the median
    gap (the app's own period as it ran: 10 ms for FlexCapsule OS, a second and some for Linux's shell loop)."""
    stamps = counter_stamps((src, dst), name, stamp)
    gaps = [(stamps[n + 1] - stamps[n]) / 1e9 for n in stamps if n >= after and n + 1 in stamps]
    return round(max(gaps) - statistics.median(gaps), 4) if len(gaps) > 2 else None


def ready_lines(vm, name, pattern):
    return len(re.findall(pattern, console_text(vm, name)))


def wait_ready(vm, name, pattern, seen=0, timeout=180):
    """Until the app's console logs on vm hold a line matching pattern beyond the `seen` they had: a counter
    line, or a memtouch pass whose checksum held (at 1 MiB/s a pass of 4 MiB takes 4 s, so one, not two)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ready_lines(vm, name, pattern) > seen:
            return True
        time.sleep(0.5)
    return False


def run_kind_size(kind, spec, memory, runs, link_rate, writer):
    name = "bench-mig-%s-%d" % (kind, memory)
    for vm in lab.ADDRESS:
        capsule(vm, "rm", "--force", "--timeout", "30", name)
        lab.sh(vm, "rm -f %s/guest-%s*.log" % (CONSOLE_DIR, name))  # counter values restart: no old stamps
    started = capsule("cloud1", "run", "-d", "--name", name, "--memory", str(memory), spec["image"], *spec["args"])
    if started.returncode != 0 or not wait_ready("cloud1", name, spec["ready"]):
        print("%-14s %4d MiB: does not run (%s)" % (kind, memory, started.stderr.strip()[-200:]), flush=True)
        capsule("cloud1", "rm", "--force", "--timeout", "30", name)
        return []
    here, there = "cloud1", "cloud2"
    rows = []
    try:
        for run in range(1, runs + 1):
            last = max(counter_stamps((here,), name, spec["stamp"]) or [0]) if "stamp" in spec else 0
            seen_there = ready_lines(there, name, spec["ready"])
            proc = capsule(here, "migrate", "--json", name, lab.ADDRESS[there], timeout=900)
            if proc.returncode != 0:
                print("%-14s %4d MiB run %d: migration failed: %s" % (kind, memory, run, proc.stderr[-300:]))
                break
            result = json.loads(proc.stdout)
            going_on = wait_ready(there, name, spec["ready"], seen_there)  # also: the lines after the resume are in
            pages = result.get("pages_per_round") or []
            phase = result.get("phases") or {}
            row = {"kind": kind, "memory_mib": memory, "run": run, "source": here, "destination": there,
                   "total_s": result["total_time_s"], "downtime_toolstack_s": result["downtime_s"],
                   "downtime_guest_s": (guest_downtime_s(here, there, name, last, spec["stamp"])
                                        if "stamp" in spec else None),
                   "bytes_sent": result["bytes_sent"], "precopy_rounds": len(pages) - 1 if pages else None,
                   "final_round_pages": pages[-1] if pages else None,
                   "link_limit_s": round(result["bytes_sent"] / link_rate, 3) if result["bytes_sent"] else None,
                   "setup_s": phase.get("target_ready"),
                   "stream_s": span(phase, "target_ready", "transfer_complete"),
                   "handover_s": span(phase, "transfer_complete", "success")}
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


def span(phases, start, end):
    """Seconds between two of xl's migration milestones (see xl.MIGRATE_MARKERS), if both were seen."""
    if start in phases and end in phases:
        return round(phases[end] - phases[start], 3)
    return None


def summarise(rows):
    """{(kind, memory): {metric: (median, min, max)}} over the runs."""
    table = {}
    for key in sorted({(r["kind"], r["memory_mib"]) for r in rows}):
        mine = [r for r in rows if (r["kind"], r["memory_mib"]) == key]
        stats = {}
        for metric in METRICS:
            values = [r[metric] for r in mine if r.get(metric) is not None]
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


def checks(table):
    """The issue's must-holds, as lines saying the measured value and the bound."""
    lines = []
    counter = {m: s["downtime_toolstack_s"][0] for (k, m), s in table.items()
               if k == "counter" and "downtime_toolstack_s" in s}
    if len(counter) > 1 and min(counter.values()) > 0:
        lines.append("counter downtime max/min over sizes: %.2f (must be <= 1.5)"
                     % (max(counter.values()) / min(counter.values())))
    for (kind, memory), stats in sorted(table.items()):
        for metric, label in (("downtime_toolstack_s", "toolstack"), ("downtime_guest_s", "app's own gap")):
            linux = table.get(("linux", memory), {}).get(metric)
            if kind == "counter" and linux and stats.get(metric, (0,))[0] > 0:
                lines.append("%4d MiB: Linux downtime / counter downtime (%s) = %.1f (must be >= 10)"
                             % (memory, label, linux[0] / stats[metric][0]))
        if "link_limit_s" in stats and stats["link_limit_s"][0]:
            stream = stats.get("stream_s", (None,))[0]
            lines.append("%-14s %4d MiB: total / link-limit time = %.1f (must be <= 1.3); stream alone %s"
                         % (kind, memory, stats["total_s"][0] / stats["link_limit_s"][0],
                            "%.1f" % (stream / stats["link_limit_s"][0]) if stream else "n/a"))
    return lines


def lab_facts(link_rate):
    """What the figures were measured on, for the report."""
    out = lab.sh("cloud1", "xl info | grep -E '^(xen_version|nr_cpus|total_memory|cpu_mhz)'; "
                 "echo dom0_vcpus $(nproc); echo dom0_kernel $(uname -r)", check=False).stdout
    info = ", ".join(re.sub(r"\s*:\s*|\s+", " ", line.strip()) for line in out.splitlines() if line.strip())
    return ["date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "lab: two cloud VMs (cloud1, cloud2) of the lab, QEMU TCG -cpu qemu64, Xen nested in each",
            "cloud1: " + info,
            "transport: ssh dom0 to dom0 (chacha20-poly1305, multiplexed), %.1f MiB/s measured" % (link_rate / 2**20)]


MARKDOWN_METRICS = (("total_s", "total s"), ("downtime_toolstack_s", "downtime s"),
                    ("downtime_guest_s", "guest gap s"), ("bytes_sent", "MB sent"),
                    ("precopy_rounds", "pre-copy rounds"), ("setup_s", "setup s"), ("stream_s", "stream s"),
                    ("handover_s", "handover s"))


def write_markdown(table, lines, facts, runs, path):
    """The summary as a Markdown table (median, with min-max), the must-holds and the lab facts."""
    with open(path, "w") as out:
        out.write("# Live migration against memory size (%d runs per point)\n\n" % runs)
        out.write("".join("- %s\n" % fact for fact in facts) + "\n")
        out.write("| kind | MiB | " + " | ".join(label for _, label in MARKDOWN_METRICS) + " |\n")
        out.write("|---|---:|" + "---:|" * len(MARKDOWN_METRICS) + "\n")
        for (kind, memory), stats in table.items():
            cells = []
            for metric, _ in MARKDOWN_METRICS:
                if metric not in stats:
                    cells.append("")
                    continue
                med, low, high = stats[metric]
                scale = 1e-6 if metric == "bytes_sent" else 1
                cells.append("%.3g (%.3g-%.3g)" % (med * scale, low * scale, high * scale))
            out.write("| %s | %d | %s |\n" % (kind, memory, " | ".join(cells)))
        out.write("\n" + "".join("- %s\n" % line.strip() for line in lines))


def read_rows(path):
    """An earlier run's CSV, its numbers as numbers (an empty cell: not measured)."""
    with open(path) as handle:
        rows = [dict(row) for row in csv.DictReader(handle)]
    for row in rows:
        row["memory_mib"], row["run"] = int(row["memory_mib"]), int(row["run"])
        row.update((metric, float(row[metric]) if row.get(metric) else None) for metric in METRICS)
    return rows


def publish(rows, args, link_rate, duration):
    """Summary CSV, must-holds, PNG and Markdown from the runs."""
    table = summarise(rows)
    with open(os.path.join(RESULTS, args.out + "_summary.csv"), "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["kind", "memory_mib", "metric", "median", "min", "max"])
        print("\n%-14s %6s  %-22s %10s %10s %10s" % ("kind", "MiB", "metric", "median", "min", "max"))
        for (kind, memory), stats in table.items():
            for metric, (med, low, high) in stats.items():
                out.writerow([kind, memory, metric, med, low, high])
                print("%-14s %6d  %-22s %10.4g %10.4g %10.4g" % (kind, memory, metric, med, low, high))
    lines = checks(table)
    print("\n".join(lines))
    if table:
        plot(table, os.path.join(RESULTS, args.out + ".png"))
        runs = max(row["run"] for row in rows)
        write_markdown(table, lines, lab_facts(link_rate) + ["duration: " + duration], runs,
                       os.path.join(RESULTS, args.out + ".md"))
    print("link %.1f MiB/s; %s; results/%s.csv, _summary.csv, .png, .md" % (link_rate / 2**20, duration, args.out))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sizes", default="8,16,32,64,128,256")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--out", default="migration_sizes", help="file name stem under results/")
    parser.add_argument("--from-csv", metavar="CSV", help="no migrations: summarise and plot an earlier run's CSV")
    args = parser.parse_args()
    if args.from_csv:
        rows = read_rows(args.from_csv)
        rates = [r["bytes_sent"] / r["link_limit_s"] for r in rows if r["bytes_sent"] and r["link_limit_s"]]
        publish(rows, args, statistics.median(rates) if rates else 0, "from %s" % args.from_csv)
        return 0 if rows else 1
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        sys.exit("unknown kind(s) %s: choose from %s" % (", ".join(unknown), ", ".join(KINDS)))
    if not os.path.exists(os.path.join(lab.ROOT, ".lab", "READY")):
        sys.exit("the lab is not up (.lab/READY missing): run `make demo` or playbooks/main.yml first")
    missing = lab.without_runtime()
    if missing:
        sys.exit("%s: no capsule: run playbooks/benchmark.yml (or deploy.yml --tags runtime)" % ", ".join(missing))
    os.makedirs(RESULTS, exist_ok=True)
    link_rate = link_throughput("cloud1", lab.ADDRESS["cloud2"])
    print("link: %.1f MiB/s through ssh cloud1 -> cloud2" % (link_rate / 2**20), flush=True)
    rows = []
    started = time.time()
    with open(os.path.join(RESULTS, args.out + ".csv"), "w", newline="", buffering=1) as handle:  # a row a run
        writer = csv.DictWriter(handle, fieldnames=RUN_FIELDS + METRICS)
        writer.writeheader()
        for kind in kinds:
            for memory in sizes:
                if memory >= KINDS[kind].get("min_mib", 0):
                    rows += run_kind_size(kind, KINDS[kind], memory, args.runs, link_rate, writer)
    publish(rows, args, link_rate, "%d runs in %.0f s" % (len(rows), time.time() - started))
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
