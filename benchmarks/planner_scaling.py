#!/usr/bin/env python3
"""Planning time of the consolidation planner versus fleet size.

App VMs are built from the PlanetLab traces (sizes by file name, as in tools/replay_traces.py;
traces reused with a suffix beyond the ~3,000 real ones). Two situations per size:
  steady      - the fleet the planner produced for interval 100, re-planned with interval 101's
                demand (what every consolidate run looks like),
  fragmented  - every app VM alone on a c8i-flex.large (the worst case: everything consolidates).
Prints a table, writes results/planner_scaling/planner_scaling.csv and .png.

    .venv/bin/python benchmarks/planner_scaling.py [--sizes 100,1000,10000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))

import numpy as np  # noqa: E402

from flexcapsule.planner import AppVM, CloudVM, load_catalog, plan  # noqa: E402
from flexcapsule.planner import replay as R  # noqa: E402
from flexcapsule.planner import replay_policies as P  # noqa: E402
from flexcapsule.planner.core import initial_placement  # noqa: E402

TRACES = Path("/work/shared/traces/planetlab")


def load_pool():
    names, rows = [], []
    for day in sorted(p for p in TRACES.iterdir() if p.is_dir()):
        tr = R.load_traces(str(day))
        names += [f"{day.name}/{n}" for n in tr.names]
        rows.append(tr.cpu)
    return names, np.vstack(rows)


def apps_at(names, cpu, n, t):
    out = []
    for i in range(n):
        name = f"{names[i % len(names)]}#{i // len(names)}"
        vcpus, mem = R.app_size(name)
        out.append(AppVM(name, mem, float(cpu[i % len(names), t]), vcpus))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "results" / "planner_scaling"))
    args = parser.parse_args(argv)
    catalog = load_catalog(kind="cloud")
    policy = P.DEFAULT_POLICY
    names, cpu = load_pool()
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        before = apps_at(names, cpu, n, 100)
        vms, placement = initial_placement(before, catalog, policy)
        after = apps_at(names, cpu, n, 101)
        lone_vms = [CloudVM(f"lone-{i}", "c8i-flex.large") for i in range(n)]
        lone = {a.name: f"lone-{i}" for i, a in enumerate(after)}
        for situation, (cloud_vms, where) in (("steady", (vms, placement)), ("fragmented", (lone_vms, lone))):
            times, result = [], None
            for _ in range(args.repeat):
                started = time.perf_counter()
                result = plan(after, cloud_vms, where, catalog, policy)
                times.append(time.perf_counter() - started)
            row = {"apps": n, "situation": situation, "max_seconds": round(max(times), 4),
                   "median_seconds": round(sorted(times)[len(times) // 2], 4),
                   "migrations": len(result.migrations), "cloud_vms_after": len(result.after.cloud_vms),
                   "gap": round(result.gap, 4), "solver": result.solver}
            rows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(Path(args.out) / "planner_scaling.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for situation in ("steady", "fragmented"):
        pts = [(r["apps"], r["max_seconds"]) for r in rows if r["situation"] == situation]
        ax.loglog(*zip(*pts), marker="o", label=situation)
    ax.axhline(1, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(10, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("app VMs")
    ax.set_ylabel("planning time, max of runs (s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(Path(args.out) / "planner_scaling.png", dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
