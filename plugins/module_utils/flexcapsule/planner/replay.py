"""Trace replay: run placement policies over a day of CPU traces without VMs.

Each policy decides, at the start of every 5-minute interval t, a set of cloud VMs and a placement,
seeing only the samples before t. The interval is then billed (cloud VMs x price x 5 min) and
scored against the real demand at t. The policies themselves are in replay_policies.py."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .bounds import fluid_bound
from .fleet import EPS
from .model import AppVM, Catalog

INTERVAL_HOURS = 5 / 60
# App VM sizes (vCPUs, memory MiB): FlexCapsule OS app VMs are small. Picked by name, see app_size.
APP_SIZES = ((1, 64), (1, 128), (1, 256), (2, 512))
# Demand assumed for an app with no history yet (the first interval), in vCPUs.
PRIOR_CPU = 0.25


def app_size(name: str) -> Tuple[int, int]:
    """Deterministic size from the trace file name: the first 4 bytes of SHA-256(name), as a
    big-endian integer, modulo 4 index APP_SIZES."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return APP_SIZES[int.from_bytes(digest[:4], "big") % len(APP_SIZES)]


@dataclass
class Traces:
    names: List[str]
    cpu: np.ndarray  # apps x intervals, vCPUs (trace CPU % / 100: % of one vCPU)
    memory_mib: np.ndarray
    vcpus: np.ndarray


def load_traces(directory: str, limit: Optional[int] = None) -> Traces:
    names = sorted(f for f in os.listdir(directory) if os.path.isfile(os.path.join(directory, f)))
    if limit is not None:
        names = names[:limit]
    if not names:
        raise ValueError(f"no trace files in {directory}")
    rows = []
    for name in names:
        with open(os.path.join(directory, name), encoding="ascii") as handle:
            values = [float(line) for line in handle if line.strip()]
        rows.append(values)
    length = min(len(r) for r in rows)
    if length == 0 or any(len(r) != length for r in rows):
        raise ValueError(f"trace files in {directory} differ in length or are empty")
    sizes = [app_size(n) for n in names]
    return Traces(names, np.array(rows) / 100.0, np.array([s[1] for s in sizes]),
                  np.array([s[0] for s in sizes]))


def fluid_lower_bound(traces: Traces, catalog: Catalog) -> float:
    """Per interval, max(total CPU demand x cheapest $/vCPU-hour, total memory x cheapest
    $/GiB-hour), times the interval, summed over the day."""
    memory = float(traces.memory_mib.sum())
    return sum(fluid_bound(float(d), memory, catalog) for d in traces.cpu.sum(axis=0)) * INTERVAL_HOURS


@dataclass
class Decision:
    vm_type: Dict[str, str]  # cloud VM -> instance type
    placement: Dict[str, str]  # app -> cloud VM
    migrations: int
    seconds: float


@dataclass
class ReplayResult:
    policy: str
    cost: float
    lower_bound: float
    sla_violation: float
    sla_violation_host: float
    migrations: int
    max_plan_seconds: float
    mean_plan_seconds: float
    cloud_vm_hours: float
    decisions: List[Decision] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {
            "policy": self.policy,
            "cost": round(self.cost, 4),
            "lower_bound": round(self.lower_bound, 4),
            "lower_bound_method": "fluid: per interval max(CPU demand x cheapest $/vCPU-h, "
                                  "memory x cheapest $/GiB-h), summed",
            "cost_ratio": round(self.cost / self.lower_bound, 4) if self.lower_bound else None,
            "sla_violation": round(self.sla_violation, 6),
            "sla_violation_host": round(self.sla_violation_host, 6),
            "migrations": self.migrations,
            "max_plan_seconds": round(self.max_plan_seconds, 4),
            "mean_plan_seconds": round(self.mean_plan_seconds, 5),
            "cloud_vm_hours": round(self.cloud_vm_hours, 2),
        }


def shortfall(demands: np.ndarray, capacity: float) -> Tuple[int, bool]:
    """Apps on one cloud VM that get less CPU than they ask for under fair sharing (Xen's credit
    scheduler with equal weights gives max-min fair shares), and whether the VM is overloaded."""
    total = float(demands.sum())
    if total <= capacity + EPS:
        return 0, False
    d = np.sort(demands)
    n = len(d)
    used = 0.0
    for k in range(n):
        level = (capacity - used) / (n - k)
        if d[k] > level + EPS:
            return n - k, True
        used += d[k]
    return 0, True


class ReplayPolicy:
    name = "policy"
    clairvoyant = False

    def __init__(self, traces: Traces, catalog: Catalog):
        self.traces = traces
        self.catalog = catalog
        self.apps = traces.names

    def decide(self, t: int, observed: np.ndarray) -> Decision:
        raise NotImplementedError


def app_vms(traces: Traces, cpu: np.ndarray, cpu_stddev: Optional[np.ndarray] = None) -> List[AppVM]:
    spread = np.zeros(len(traces.names)) if cpu_stddev is None else cpu_stddev
    return [AppVM(n, int(m), float(c), int(v), float(sd))
            for n, m, c, v, sd in zip(traces.names, traces.memory_mib, cpu, traces.vcpus, spread)]


def replay(policy: ReplayPolicy, traces: Traces, catalog: Catalog, lower_bound: float,
           intervals: Optional[int] = None) -> ReplayResult:
    """Drive one policy through the day. The policy sees traces.cpu[:, :t] only (a copy)."""
    steps = traces.cpu.shape[1] if intervals is None else intervals
    index = {n: i for i, n in enumerate(traces.names)}
    cost = hours = 0.0
    violated = on_overloaded = migrations = 0
    seconds = []
    decisions = []
    for t in range(steps):
        observed = traces.cpu[:, :t].copy()
        decision = policy.decide(t, observed)
        decisions.append(decision)
        seconds.append(decision.seconds)
        migrations += decision.migrations
        prices = {vm: catalog.types[ty].price_per_hour for vm, ty in decision.vm_type.items()}
        cost += sum(prices.values()) * INTERVAL_HOURS
        hours += len(prices) * INTERVAL_HOURS
        by_vm: Dict[str, List[int]] = {}
        for app, vm in decision.placement.items():
            by_vm.setdefault(vm, []).append(index[app])
        demand = traces.cpu[:, t]
        for vm, rows in by_vm.items():
            short, overloaded = shortfall(demand[rows], catalog.types[decision.vm_type[vm]].vcpus)
            violated += short
            on_overloaded += len(rows) if overloaded else 0
    app_intervals = len(traces.names) * steps
    return ReplayResult(policy.name, cost, lower_bound, violated / app_intervals, on_overloaded / app_intervals,
                        migrations, max(seconds), sum(seconds) / len(seconds), hours, decisions)
