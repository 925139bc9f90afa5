"""Exact placement + instance types with OR-Tools CP-SAT, for small and medium fleets.

Objective, lexicographic: cost per hour first, then migrations weighted by memory moved."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .fleet import Fleet
from .heuristic import NameMaker
from .model import InstanceType, Policy

PRICE_UNITS = 100_000  # 1e-5 $/hour resolution
CPU_UNITS = 1000  # milli-vCPU
MIGRATION_OVERHEAD_MIB = 1024  # a migration costs this much on top of the memory it copies


def solve(fleet: Fleet, policy: Policy, movable: Set[str], types: Sequence[InstanceType],
          names: NameMaker, hint: Optional[Fleet], budget: Optional[int]
          ) -> Optional[Tuple[Fleet, float, bool]]:
    """Returns (target fleet, lower bound on the movable part's cost, proven optimal) or None."""
    from ortools.sat.python import cp_model  # heavy import, only when a solve is wanted

    u = policy.target_cpu_utilisation
    apps = sorted(a for a, vm in fleet.placement.items() if vm in movable)
    existing = sorted(vm for vm in movable if vm in fleet.vm_type)
    hint_new = 0 if hint is None else len(set(hint.vm_type) - set(fleet.vm_type))
    copies = min(len(apps), hint_new + 2)
    bins: List[Tuple[str, InstanceType, bool]] = [(vm, fleet.vm_type[vm], True) for vm in existing]
    for t in types:
        bins += [(f"new:{t.name}:{k}", t, False) for k in range(copies)]

    model = cp_model.CpModel()
    x: Dict[Tuple[int, int], object] = {}
    open_ = [model.NewBoolVar(f"open{b}") for b in range(len(bins))]
    for i, app in enumerate(apps):
        row = []
        for b in range(len(bins)):
            x[i, b] = model.NewBoolVar(f"x{i}_{b}")
            row.append(x[i, b])
        model.AddExactlyOne(row)
    for b, (name, t, _) in enumerate(bins):
        cpu_cap = int(math.floor(fleet.type_cpu_limit(t.vcpus, u) * CPU_UNITS + 1e-6))
        mem_cap = t.memory_mib - fleet.catalog.dom0_memory_mib
        model.Add(sum(int(math.ceil(fleet.apps[a].cpu * CPU_UNITS - 1e-6)) * x[i, b]
                      for i, a in enumerate(apps)) <= cpu_cap * open_[b])
        model.Add(sum(fleet.apps[a].memory_mib * x[i, b] for i, a in enumerate(apps)) <= mem_cap * open_[b])
        for i in range(len(apps)):
            model.AddImplication(x[i, b], open_[b])
    # Symmetry: copies of a new type open in order.
    for b in range(1, len(bins)):
        if not bins[b][2] and not bins[b - 1][2] and bins[b][1] is bins[b - 1][1]:
            model.Add(open_[b] <= open_[b - 1])
    stay = []
    current = {vm: b for b, (vm, _, is_old) in enumerate(bins) if is_old}
    weights = []
    for i, a in enumerate(apps):
        b = current[fleet.placement[a]]
        stay.append(x[i, b])
        weights.append(fleet.apps[a].memory_mib + MIGRATION_OVERHEAD_MIB)
    if budget is not None:
        model.Add(sum(1 - s for s in stay) <= budget)
    big = sum(weights) + 1
    model.Minimize(big * sum(int(round(t.price_per_hour * PRICE_UNITS)) * open_[b]
                             for b, (_, t, _) in enumerate(bins))
                   + sum(w * (1 - s) for w, s in zip(weights, stay)))
    if hint is not None:
        new_names = sorted(set(hint.vm_type) - set(fleet.vm_type))
        slot = {}
        for vm in new_names:
            t = hint.vm_type[vm]
            k = sum(1 for v in slot.values() if v[1] is t)
            slot[vm] = (next((b for b, (n, bt, old) in enumerate(bins) if not old and bt is t
                              and n.endswith(f":{k}")), None), t)
        for i, a in enumerate(apps):
            vm = hint.placement[a]
            target = current.get(vm) if vm in current else slot.get(vm, (None,))[0]
            for b in range(len(bins)):
                model.AddHint(x[i, b], 1 if b == target else 0)

    solver = cp_model.CpSolver()
    # Deterministic time and one worker: the same input gives the same plan, however busy the
    # machine is; the wall-clock limit is only a backstop.
    solver.parameters.max_deterministic_time = float(policy.solver_time_limit_s)
    solver.parameters.max_time_in_seconds = 3.0 * float(policy.solver_time_limit_s)
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    target = fleet.copy()
    new_vm: Dict[int, str] = {}
    for i, a in enumerate(apps):
        b = next(b for b in range(len(bins)) if solver.Value(x[i, b]))
        name, t, is_old = bins[b]
        if not is_old:
            if b not in new_vm:
                new_vm[b] = names()
                target.add_vm(new_vm[b], t)
            name = new_vm[b]
        target.place(a, name)
    for vm in existing:
        if not target.members[vm]:
            target.remove_vm(vm)
    bound_units = math.floor(solver.BestObjectiveBound() / big + 1e-9)
    return target, bound_units / PRICE_UNITS, status == cp_model.OPTIMAL
