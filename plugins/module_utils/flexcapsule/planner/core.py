"""plan(): validate the input, choose a target configuration, order the actions, bound the cost."""
from __future__ import annotations

import math
import time
from typing import Dict, List, Optional, Sequence, Set

from . import cpsat
from .bounds import type_mix_bound
from .fleet import Fleet
from .heuristic import (NameMaker, consolidate, efficient_types, place_displaced,
                        repack, repair_overloads)
from .model import (AppVM, Catalog, CloudVM, Configuration, Plan, PlannerError, Policy)
from .ordering import OrderingError, order_actions
from .waves import assign_waves


def validate_input(apps: Sequence[AppVM], cloud_vms: Sequence[CloudVM], placement: Dict[str, str],
                   catalog: Catalog, policy: Policy) -> None:
    """Raise PlannerError naming the first problem; called before anything is planned."""
    if not isinstance(policy, Policy):
        raise PlannerError(f"policy must be a Policy, got {type(policy).__name__}")
    policy.validate(catalog)
    if not apps:
        raise PlannerError("no app VMs to plan for")
    if not catalog.types:
        raise PlannerError("the instance catalog is empty")
    seen: Set[str] = set()
    for app in apps:
        if app.name in seen:
            raise PlannerError(f"duplicate app VM name: {app.name}")
        seen.add(app.name)
        if not (isinstance(app.cpu, (int, float)) and math.isfinite(app.cpu) and app.cpu >= 0):
            raise PlannerError(f"app VM {app.name}: CPU demand must be a finite number >= 0, got {app.cpu!r}")
        if isinstance(app.vcpus, bool) or not isinstance(app.vcpus, int) or app.vcpus <= 0:
            raise PlannerError(f"app VM {app.name}: vcpus must be a positive integer, got {app.vcpus!r}")
        if not isinstance(app.memory_mib, int) or app.memory_mib <= 0:
            raise PlannerError(f"app VM {app.name}: memory_mib must be a positive integer, got {app.memory_mib!r}")
        sd = app.cpu_stddev
        if isinstance(sd, bool) or not (isinstance(sd, (int, float)) and math.isfinite(sd) and sd >= 0):
            raise PlannerError(f"app VM {app.name}: cpu_stddev must be a finite number >= 0, got {sd!r}")
    vms: Set[str] = set()
    for vm in cloud_vms:
        if vm.name in vms:
            raise PlannerError(f"duplicate cloud VM name: {vm.name}")
        vms.add(vm.name)
        if vm.instance_type not in catalog.types:
            raise PlannerError(f"cloud VM {vm.name}: unknown instance type {vm.instance_type}")
    for app, vm in placement.items():
        if app not in seen:
            raise PlannerError(f"placement names unknown app VM {app}")
        if vm not in vms:
            raise PlannerError(f"app VM {app} is on unknown cloud VM {vm}")
    missing = sorted(seen - set(placement))
    if missing:
        raise PlannerError(f"app VM {missing[0]} has no current cloud VM in the placement")
    unknown = sorted(set(policy.protected_cloud_vms) - vms)
    if unknown:
        raise PlannerError(f"protected cloud VM {unknown[0]} does not exist")
    allowed = [catalog.types[n] for n in policy.allowed_types] or list(catalog.types.values())
    max_vcpus = max(t.vcpus for t in allowed)
    max_mem = max(t.memory_mib for t in allowed) - catalog.dom0_memory_mib
    for app in apps:
        fits_one = any(t.vcpus >= max(app.cpu, app.vcpus) and t.memory_mib - catalog.dom0_memory_mib >= app.memory_mib
                       for t in allowed)
        if not fits_one:
            raise PlannerError(
                f"app VM {app.name} ({app.vcpus} vCPU, {app.cpu:.2f} vCPU busy, {app.memory_mib} MiB) "
                f"is bigger than every instance type (largest: {max_vcpus} vCPU, {max_mem} MiB usable)")


def build_fleet(apps: Sequence[AppVM], cloud_vms: Sequence[CloudVM], placement: Dict[str, str],
                catalog: Catalog, policy: Optional[Policy] = None) -> Fleet:
    policy = policy or Policy()
    fleet = Fleet.for_policy(catalog, apps, policy)
    for vm in cloud_vms:
        fleet.add_vm(vm.name, catalog.types[vm.instance_type])
    for app, vm in placement.items():
        fleet.place(app, vm)
    return fleet


def configuration(fleet: Fleet) -> Configuration:
    return Configuration({vm: t.name for vm, t in fleet.vm_type.items()}, dict(fleet.placement), fleet.cost())


def migrations_between(a: Fleet, b: Fleet) -> int:
    return sum(1 for app, vm in a.placement.items() if b.placement[app] != vm)


def bound_fixed(fleet: Fleet, protected: Set[str]) -> float:
    return sum(fleet.vm_type[vm].price_per_hour for vm in protected)


def lower_bound(fleet: Fleet, policy: Policy, protected: Set[str], types) -> tuple:
    """No plan this policy accepts can cost less: protected cloud VMs at their price, plus the LP
    relaxation over instance types for the other app VMs, with CPU at the overload threshold
    (plans may leave cloud VMs in the hysteresis band). An app VM alone on a cloud VM may use all
    its vCPUs, so the demand of apps that could be alone and above the threshold is scaled down by
    the threshold: what the LP's capacity can always cover."""
    limit = policy.overload_cpu_utilisation
    smallest = min(t.vcpus for t in types)
    cpu = mem = 0.0
    for app, vm in fleet.placement.items():
        if vm in protected:
            continue
        spec = fleet.apps[app]
        cpu += spec.cpu * limit if spec.cpu > limit * smallest else spec.cpu
        mem += spec.memory_mib
    lp = type_mix_bound(cpu, mem, types, fleet.catalog, limit)
    return bound_fixed(fleet, protected) + lp, "LP relaxation over instance types (fractional cloud VMs)"


def heuristic_target(fleet: Fleet, policy: Policy, movable: Set[str], types, names: NameMaker,
                     with_consolidation: bool) -> Fleet:
    target = fleet.copy()
    movable = set(movable)
    budget = policy.migration_budget
    displaced = repair_overloads(target, policy, movable, budget)
    place_displaced(target, displaced, policy, movable, types, names)
    if with_consolidation:
        left = None if budget is None else max(0, budget - len(displaced))
        consolidate(target, policy, movable, types, names, left)
    return target


def plan(apps: Sequence[AppVM], cloud_vms: Sequence[CloudVM], placement: Dict[str, str],
         catalog: Catalog, policy: Optional[Policy] = None) -> Plan:
    """Plan one consolidation run. Pure: reads only its arguments, changes nothing."""
    started = time.perf_counter()
    policy = policy or Policy()
    validate_input(apps, cloud_vms, placement, catalog, policy)
    fleet = build_fleet(apps, cloud_vms, placement, catalog, policy)
    protected = set(policy.protected_cloud_vms)
    movable = set(fleet.vm_type) - protected
    types = efficient_types(catalog, policy.allowed_types)
    notes: List[str] = []

    def namer():
        return NameMaker(policy.new_cloud_vm_prefix, list(fleet.vm_type) + list(fleet.apps))

    repair_only = heuristic_target(fleet, policy, movable, types, namer(), with_consolidation=False)
    candidates = [("heuristic", heuristic_target(fleet, policy, movable, types, namer(), True))]
    if policy.migration_budget is None:
        candidates.append(("repack", repack(fleet, policy, movable, types, namer())))
    movable_apps = sum(1 for vm in fleet.placement.values() if vm in movable)
    use_cpsat = policy.solver == "cpsat" or (policy.solver == "auto" and movable_apps <= policy.cpsat_max_apps)
    if use_cpsat and policy.headroom_stddevs and any(a.cpu_stddev for a in apps):
        use_cpsat = False  # its linear model has no pooled headroom
        notes.append("pooled headroom (headroom_stddevs) is not in CP-SAT's model; heuristic used")
    solver_bound = None
    if use_cpsat and movable_apps:
        result = cpsat.solve(fleet, policy, movable, types, namer(), candidates[0][1], policy.migration_budget)
        if result is None:
            notes.append("CP-SAT found no solution in its time limit; heuristic used")
        else:
            target, solver_bound, optimal = result
            candidates.append(("cpsat-optimal" if optimal else "cpsat-time-limit", target))

    # Consolidate only if it saves at least the policy's minimum over just repairing overloads,
    # counting each extra migration at the policy's price of a migration.
    def score(target: Fleet) -> float:
        return target.cost() + policy.min_saving_per_migration * migrations_between(fleet, target)

    chosen_name, chosen = "repair-only", repair_only
    best = min(candidates, key=lambda c: (round(score(c[1]), 6), migrations_between(fleet, c[1])))
    saving = score(repair_only) - score(best[1])
    if saving >= policy.min_saving_per_hour - 1e-9 and best[1].cost() < repair_only.cost() - 1e-9:
        chosen_name, chosen = best
    elif any(c[1].cost() < repair_only.cost() - 1e-9 for c in candidates):
        notes.append("a cheaper placement exists but saves less than min_saving_per_hour "
                     "(after min_saving_per_migration per extra migration); not acting")

    status = "ok"
    try:
        actions = order_actions(fleet, chosen.vm_type, chosen.placement, policy, types, namer())
        assign_waves(fleet, actions, policy)
    except OrderingError as err:
        notes.append(f"infeasible this run: {err}")
        status, actions, chosen = "infeasible", [], fleet
    if status == "ok" and not actions:
        status = "unchanged"
    if policy.migration_budget is not None:
        moves = sum(1 for a in actions if a.kind == "migrate")
        if moves > policy.migration_budget:
            notes.append(f"{moves} migrations exceed the budget of {policy.migration_budget} "
                         "because breaking a cycle needed extra moves")

    bound, method = lower_bound(fleet, policy, protected, types)
    smallest = min(t.vcpus for t in types)
    no_exceptions = all(a.cpu <= policy.target_cpu_utilisation * smallest for a in fleet.apps.values())
    if (solver_bound is not None and policy.hysteresis == 0 and no_exceptions
            and bound < solver_bound + bound_fixed(fleet, protected)):
        # Only then does CP-SAT's problem (every cloud VM at the target, no app VM alone above
        # it) contain every plan we accept.
        bound, method = solver_bound + bound_fixed(fleet, protected), "CP-SAT best objective bound"
    before, after = configuration(fleet), configuration(chosen)
    used = set(before.cloud_vms.values()) | set(after.cloud_vms.values()) | {
        a.instance_type for a in actions if a.instance_type}
    return Plan(status, before, after, actions, bound, method, chosen_name,
                time.perf_counter() - started, notes, dict(fleet.apps),
                {n: catalog.types[n] for n in sorted(used)})


def initial_placement(apps: Sequence[AppVM], catalog: Catalog, policy: Optional[Policy] = None):
    """Place app VMs that run nowhere yet onto new cloud VMs. Returns (cloud_vms, placement)."""
    from .heuristic import pack_into_new

    policy = policy or Policy()
    placeholder = CloudVM("__unplaced__", max(catalog.types.values(), key=lambda t: t.vcpus).name)
    validate_input(apps, [placeholder], {a.name: placeholder.name for a in apps}, catalog, policy)
    fleet = Fleet.for_policy(catalog, apps, policy)
    names = NameMaker(policy.new_cloud_vm_prefix, [a.name for a in apps])
    pack_into_new(fleet, [a.name for a in apps], efficient_types(catalog, policy.allowed_types),
                  policy.target_cpu_utilisation, names)
    return [CloudVM(vm, t.name) for vm, t in fleet.vm_type.items()], dict(fleet.placement)
