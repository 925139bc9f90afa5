#!/usr/bin/env python3
"""Replay CPU traces through placement policies, without VMs, and compare cost and SLA.

Input: a directory of trace files (one per app, one CPU % sample per line, 5 minutes apart; the
format of /work/shared/traces/planetlab/<day>/) or a directory of such day directories.

App VM sizes: CPU % is of one vCPU. Each app's size is fixed by its file name: the first 4 bytes
of SHA-256(file name), big-endian, modulo 4 pick (vCPUs, MiB) from
(1, 64), (1, 128), (1, 256), (2, 512).

Per policy (and day) one JSON object: policy, cost (cloud-VM-hours x price, $), lower_bound (the
fluid bound: per interval max(total CPU demand x cheapest $/vCPU-hour, total memory x cheapest
$/GiB-hour), summed over the day), cost_ratio, sla_violation (fraction of app-intervals whose CPU
demand exceeded their fair share of their cloud VM's vCPUs), sla_violation_host (fraction of
app-intervals spent on an overloaded cloud VM at all), migrations, max_plan_seconds.

Replay is online: a decision for interval t sees only samples before t (clairvoyant excepted: it
is a reference that knows interval t's demand)."""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))

from flexcapsule.planner import load_catalog  # noqa: E402
from flexcapsule.planner import replay as replay_mod  # noqa: E402
from flexcapsule.planner import replay_policies  # noqa: E402

POLICIES = ["ours", "one-per-vm", "static-peak", "thr-mmt", "clairvoyant"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", required=True, help="a day directory, or a directory of day directories")
    parser.add_argument("--days", help="comma-separated day directory names under --traces (default: all)")
    parser.add_argument("--limit", type=int, help="use only the first N trace files (sorted) of each day")
    parser.add_argument("--intervals", type=int, help="replay only the first N intervals")
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated, default: all")
    parser.add_argument("--target-utilisation", type=float, default=replay_policies.DEFAULT_POLICY.target_cpu_utilisation,
                        help="ours: pack cloud VMs to this CPU fraction")
    parser.add_argument("--hysteresis", type=float, default=replay_policies.DEFAULT_POLICY.hysteresis,
                        help="ours: repair a cloud VM only above target + hysteresis")
    parser.add_argument("--min-saving", type=float, default=replay_policies.DEFAULT_POLICY.min_saving_per_hour,
                        help="ours: consolidate only if it saves this many $/hour")
    parser.add_argument("--min-saving-per-migration", type=float,
                        default=replay_policies.DEFAULT_POLICY.min_saving_per_migration,
                        help="ours: each migration must pay for itself by this many $/hour")
    parser.add_argument("--min-headroom", type=float, default=replay_policies.DEFAULT_POLICY.min_headroom_vcpus,
                        help="ours: spare vCPUs a shared cloud VM keeps at the target (0: percentage only)")
    parser.add_argument("--headroom-stddevs", type=float, default=replay_policies.DEFAULT_POLICY.headroom_stddevs,
                        help="ours: pooled headroom, standard deviations of a cloud VM's summed forecast error")
    parser.add_argument("--catalog", default=str(ROOT / "catalog" / "instance_types.yml"))
    parser.add_argument("--json", action="store_true", help="print JSON lines (default: a table)")
    parser.add_argument("--out", help="also write results.csv and policies.png to this directory")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit <= 0:
        parser.error("--limit must be positive")
    if args.intervals is not None and args.intervals <= 0:
        parser.error("--intervals must be positive")
    return args


def day_directories(traces: str, days: str | None):
    root = Path(traces)
    if not root.is_dir():
        raise SystemExit(f"error: --traces {traces} is not a directory")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir())
    if days:
        wanted = [d.strip() for d in days.split(",") if d.strip()]
        missing = [d for d in wanted if not (root / d).is_dir()]
        if missing:
            raise SystemExit(f"error: no day directory {', '.join(missing)} under {traces}")
        return [root / d for d in wanted]
    return subdirs or [root]


def combine(rows):
    """One row per policy over all days: sums, and SLA weighted by app-intervals."""
    total = {}
    for row in rows:
        acc = total.setdefault(row["policy"], {"policy": row["policy"], "day": "all", "cost": 0.0, "lower_bound": 0.0,
                                               "migrations": 0, "max_plan_seconds": 0.0, "_w": 0, "_sla": 0.0,
                                               "_slah": 0.0})
        acc["cost"] += row["cost"]
        acc["lower_bound"] += row["lower_bound"]
        acc["migrations"] += row["migrations"]
        acc["max_plan_seconds"] = max(acc["max_plan_seconds"], row["max_plan_seconds"])
        acc["_w"] += row["app_intervals"]
        acc["_sla"] += row["sla_violation"] * row["app_intervals"]
        acc["_slah"] += row["sla_violation_host"] * row["app_intervals"]
    out = []
    for acc in total.values():
        w = acc.pop("_w")
        acc["sla_violation"] = round(acc.pop("_sla") / w, 6)
        acc["sla_violation_host"] = round(acc.pop("_slah") / w, 6)
        acc["cost_ratio"] = round(acc["cost"] / acc["lower_bound"], 4)
        acc["cost"] = round(acc["cost"], 4)
        acc["lower_bound"] = round(acc["lower_bound"], 4)
        acc["app_intervals"] = w
        out.append(acc)
    return out


def write_outputs(rows, out_dir: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fields = ["day", "policy", "cost", "lower_bound", "cost_ratio", "sla_violation", "sla_violation_host",
              "migrations", "max_plan_seconds"]
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    days = sorted({r["day"] for r in rows if r["day"] != "all"})
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / max(1, len(days))
    for k, day in enumerate(days):
        by = {r["policy"]: r for r in rows if r["day"] == day}
        xs = [i + k * width for i in range(len(policies))]
        for ax, key in zip(axes, ("cost_ratio", "sla_violation", "migrations")):
            ax.bar(xs, [by[p][key] if p in by else 0 for p in policies], width, label=day)
    for ax, title in zip(axes, ("cost / fluid lower bound", "SLA violation (fraction)", "migrations per day")):
        ax.set_xticks([i + width * (len(days) - 1) / 2 for i in range(len(policies))])
        ax.set_xticklabels(policies, rotation=30, ha="right")
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[0].axhline(1.2, color="grey", linestyle="--", linewidth=1)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "policies.png", dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    catalog = load_catalog(args.catalog, kind="cloud")
    ours = dataclasses.replace(replay_policies.DEFAULT_POLICY, target_cpu_utilisation=args.target_utilisation,
                               hysteresis=args.hysteresis, min_saving_per_hour=args.min_saving,
                               min_saving_per_migration=args.min_saving_per_migration,
                               min_headroom_vcpus=args.min_headroom, headroom_stddevs=args.headroom_stddevs)
    try:
        ours.validate(catalog)
    except ValueError as err:
        raise SystemExit(f"error: {err}")
    names = [p.strip() for p in args.policies.split(",") if p.strip()]
    rows = []
    for day_dir in day_directories(args.traces, args.days):
        traces = replay_mod.load_traces(str(day_dir), args.limit)
        if args.intervals:
            traces.cpu = traces.cpu[:, :args.intervals]
        bound = replay_mod.fluid_lower_bound(traces, catalog)
        try:
            policies = replay_policies.make_policies(traces, catalog, names, ours)
        except ValueError as err:
            raise SystemExit(f"error: {err}")
        for policy in policies:
            started = time.perf_counter()
            result = replay_mod.replay(policy, traces, catalog, bound)
            row = {"day": day_dir.name, **result.to_dict(), "apps": len(traces.names),
                   "app_intervals": len(traces.names) * traces.cpu.shape[1]}
            rows.append(row)
            print(f"{day_dir.name} {policy.name}: ratio {row['cost_ratio']} sla {row['sla_violation']} "
                  f"migrations {row['migrations']} ({time.perf_counter() - started:.1f} s)",
                  file=sys.stderr, flush=True)
            if args.json:
                print(json.dumps(row), flush=True)
    if len({r["day"] for r in rows}) > 1:
        total = combine(rows)
        if args.json:
            for row in total:
                print(json.dumps(row), flush=True)
        rows += total
    if not args.json:
        print(f"{'day':10} {'policy':12} {'cost':>9} {'ratio':>7} {'sla':>9} {'sla_host':>9} {'migr':>6} {'max_s':>7}")
        for r in rows:
            print(f"{r['day']:10} {r['policy']:12} {r['cost']:9.3f} {r['cost_ratio']:7.3f} {r['sla_violation']:9.5f} "
                  f"{r['sla_violation_host']:9.5f} {r['migrations']:6d} {r['max_plan_seconds']:7.3f}")
    if args.out:
        write_outputs(rows, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
