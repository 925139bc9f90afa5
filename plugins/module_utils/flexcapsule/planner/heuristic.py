"""Fast migration-aware placement: repair overloads, place the displaced apps, then empty or shrink
cloud VMs one at a time while each step saves enough. Runs in O(apps log cloud VMs) per phase."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Set

from .fleet import EPS, BestFitIndex, Fleet, pooled_cpu
from .model import Catalog, InstanceType, Policy


def efficient_types(catalog: Catalog, allowed: Sequence[str] = ()) -> List[InstanceType]:
    """Types no other type beats on price while offering at least the same vCPUs and memory."""
    pool = [catalog.types[n] for n in allowed] if allowed else list(catalog.types.values())
    keep = []
    for t in pool:
        dominated = any(o is not t and o.vcpus >= t.vcpus and o.memory_mib >= t.memory_mib
                        and o.price_per_hour <= t.price_per_hour
                        and (o.price_per_hour, -o.vcpus, -o.memory_mib, o.name)
                        < (t.price_per_hour, -t.vcpus, -t.memory_mib, t.name)
                        for o in pool)
        if not dominated:
            keep.append(t)
    return sorted(keep, key=lambda t: (t.price_per_hour, t.name))


class NameMaker:
    """Deterministic names for new cloud VMs that collide with nothing existing."""

    def __init__(self, prefix: str, taken: Iterable[str]):
        self.prefix = prefix
        self.taken: Set[str] = set(taken)
        self.counter = 0

    def __call__(self, tag: str = "") -> str:
        while True:
            self.counter += 1
            name = f"{self.prefix}{tag}-{self.counter:03d}"
            if name not in self.taken:
                self.taken.add(name)
                return name


def cheapest_type_for(cpu: float, mem: int, types: Sequence[InstanceType], catalog: Catalog,
                      utilisation: float, single_app: bool = False,
                      fleet: Optional[Fleet] = None, variance: float = 0.0) -> Optional[InstanceType]:
    """`fleet`, when given, supplies the policy's absolute and pooled headroom for shared cloud
    VMs (`variance`: the app VMs' summed cpu_stddev squared)."""
    for t in types:  # sorted by price
        planned = cpu
        if single_app:
            cpu_cap = t.vcpus
        elif fleet:
            cpu_cap = fleet.type_cpu_limit(t.vcpus, utilisation)
            planned = pooled_cpu(cpu, variance, fleet.headroom_stddevs)
        else:
            cpu_cap = t.vcpus * utilisation
        if planned <= cpu_cap + EPS and mem <= t.memory_mib - catalog.dom0_memory_mib:
            return t
    return None


def _ffd_bins(fleet: Fleet, apps: List[str], big: InstanceType, u: float) -> List[List[str]]:
    cap_cpu = fleet.type_cpu_limit(big.vcpus, u)
    cap_mem = big.memory_mib - fleet.catalog.dom0_memory_mib
    z = fleet.headroom_stddevs
    bins: List[List] = []  # [cpu, mem, [apps], variance]
    for app in apps:
        spec = fleet.apps[app]
        var = spec.cpu_stddev ** 2
        best = None
        for b in bins:
            if (pooled_cpu(b[0] + spec.cpu, b[3] + var, z) <= cap_cpu + EPS
                    and b[1] + spec.memory_mib <= cap_mem):
                if best is None or b[0] > best[0]:
                    best = b
        if best is None:
            best = [0.0, 0, [], 0.0]
            bins.append(best)
        best[0] += spec.cpu
        best[1] += spec.memory_mib
        best[2].append(app)
        best[3] += var
    return [b[2] for b in bins]


def pack_into_new(fleet: Fleet, apps: List[str], types: Sequence[InstanceType], u: float,
                  names: NameMaker) -> List[str]:
    """First-fit decreasing into new cloud VMs; tries each family's largest type as the bin and
    shrinks every bin to the cheapest type that holds it. Returns the new cloud VM names."""
    if not apps:
        return []
    ordered = sorted(apps, key=lambda a: (-fleet.apps[a].cpu, -fleet.apps[a].memory_mib, a))
    largest: Dict[str, InstanceType] = {}
    for t in types:
        fam = t.family or t.name
        if fam not in largest or t.vcpus > largest[fam].vcpus:
            largest[fam] = t
    best_cost, best_bins = None, None
    for big in largest.values():
        bins = _ffd_bins(fleet, ordered, big, u)
        sized = []
        for content in bins:
            cpu = sum(fleet.apps[a].cpu for a in content)
            mem = sum(fleet.apps[a].memory_mib for a in content)
            var = sum(fleet.apps[a].cpu_stddev ** 2 for a in content)
            t = cheapest_type_for(cpu, mem, types, fleet.catalog, u, single_app=len(content) == 1, fleet=fleet,
                                  variance=var)
            if t is None:
                break
            sized.append((t, content))
        else:
            cost = sum(t.price_per_hour for t, _ in sized)
            if best_cost is None or cost < best_cost - EPS:
                best_cost, best_bins = cost, sized
    if best_bins is None:  # validation guarantees each app fits alone somewhere
        best_bins = []
        for app in ordered:
            spec = fleet.apps[app]
            t = cheapest_type_for(spec.cpu, spec.memory_mib, types, fleet.catalog, u, True)
            best_bins.append((t, [app]))
    created = []
    for t, content in best_bins:
        name = names()
        fleet.add_vm(name, t)
        for app in content:
            fleet.place(app, name)
        created.append(name)
    return created


def repair_overloads(fleet: Fleet, policy: Policy, movable: Set[str],
                     budget: Optional[int]) -> Dict[str, str]:
    """Take apps off cloud VMs above the overload threshold until they are back at the target.
    Takes the busiest apps first: fewest migrations. Returns displaced app -> the cloud VM it left (the apps are now unplaced)."""
    u, limit = policy.target_cpu_utilisation, policy.overload_cpu_utilisation
    over = [vm for vm in movable if fleet.overloaded(vm, limit)]
    over.sort(key=lambda vm: (-(fleet.cpu[vm] / fleet.vm_type[vm].vcpus), vm))
    displaced: Dict[str, str] = {}
    for vm in over:
        chosen = []
        cpu, mem, var = fleet.cpu[vm], fleet.mem[vm], fleet.var[vm]
        by_cpu = sorted(fleet.members[vm], key=lambda a: (-fleet.apps[a].cpu, fleet.apps[a].memory_mib, a))
        by_mem = sorted(fleet.members[vm], key=lambda a: (-fleet.apps[a].memory_mib, -fleet.apps[a].cpu, a))
        remaining = len(fleet.members[vm])
        cpu_limit, z = fleet.cpu_limit(vm, u), fleet.headroom_stddevs
        while remaining > 1 and (pooled_cpu(cpu, var, z) > cpu_limit + EPS or mem > fleet.mem_limit(vm)):
            pool = by_cpu if pooled_cpu(cpu, var, z) > cpu_limit + EPS else by_mem
            app = next(a for a in pool if a not in chosen)
            chosen.append(app)
            cpu -= fleet.apps[app].cpu
            var -= fleet.apps[app].cpu_stddev ** 2
            mem -= fleet.apps[app].memory_mib
            remaining -= 1
        if budget is not None and len(displaced) + len(chosen) > budget:
            break  # the busiest cloud VMs were repaired first; the rest waits for the next run
        for app in chosen:
            displaced[app] = fleet.unplace(app)
    return displaced


def place_displaced(fleet: Fleet, origin: Dict[str, str], policy: Policy, movable: Set[str],
                    types: Sequence[InstanceType], names: NameMaker) -> None:
    """Best fit into existing cloud VMs (never back where it came from), the rest into new ones."""
    u = policy.target_cpu_utilisation
    index = BestFitIndex(fleet, sorted(movable & set(fleet.vm_type)), u)
    leftovers = []
    for app in sorted(origin, key=lambda a: (-fleet.apps[a].cpu, a)):
        vm = index.best_fit(app, exclude=origin.get(app))
        if vm is None:
            leftovers.append(app)
            continue
        fleet.place(app, vm)
        index.refresh(vm)
    movable.update(pack_into_new(fleet, leftovers, types, u, names))


def _evacuate(fleet: Fleet, index: BestFitIndex, vm: str, apps: List[str],
              replacement: Optional[InstanceType], u: float, names: NameMaker) -> Optional[str]:
    """Move every app off `vm`: into one new cloud VM of type `replacement` first (if given), the
    rest into other cloud VMs' spare room. All or nothing. Returns the new cloud VM's name ("" if
    none was needed) or None, leaving the fleet as it was, if some app finds no room."""
    cpu_cap = mem_cap = 0.0
    if replacement is not None:
        cpu_cap = fleet.type_cpu_limit(replacement.vcpus, u)
        mem_cap = replacement.memory_mib - fleet.catalog.dom0_memory_mib
    new_cpu, new_mem, new_var, into_new, moved = 0.0, 0, 0.0, [], []
    for app in apps:
        spec = fleet.apps[app]
        alone = not into_new and replacement is not None and spec.cpu <= replacement.vcpus
        planned = pooled_cpu(new_cpu + spec.cpu, new_var + spec.cpu_stddev ** 2, fleet.headroom_stddevs)
        if replacement is not None and new_mem + spec.memory_mib <= mem_cap and (
                planned <= cpu_cap + EPS or alone):
            new_cpu += spec.cpu
            new_var += spec.cpu_stddev ** 2
            new_mem += spec.memory_mib
            into_new.append(app)
            continue
        dest = index.best_fit(app, exclude=vm)
        if dest is None:
            for done in moved:  # undo the partial attempt
                dest = fleet.placement[done]
                fleet.place(done, vm)
                index.refresh(dest)
            return None
        fleet.place(app, dest)
        index.refresh(dest)
        moved.append(app)
    if not into_new:
        return ""
    new = names()
    fleet.add_vm(new, replacement)
    for app in into_new:
        fleet.place(app, new)
    return new


def consolidate(fleet: Fleet, policy: Policy, movable: Set[str], types: Sequence[InstanceType],
                names: NameMaker, budget: Optional[int]) -> int:
    """Least used first, evacuate a cloud VM into the others' spare room, or into one cheaper new
    cloud VM plus that spare room (a shrink, or Karpenter's "replace"). Takes the option that
    saves most; each step must save at least the policy's minimum. Returns migrations added."""
    added = 0
    for _ in range(MAX_PASSES):  # to a fixed point, so the next run finds nothing left to do
        step = _consolidation_pass(fleet, policy, movable, types, names,
                                   None if budget is None else budget - added)
        added += step
        if not step:
            break
    return added


MAX_PASSES = 8


def _consolidation_pass(fleet: Fleet, policy: Policy, movable: Set[str], types: Sequence[InstanceType],
                        names: NameMaker, budget: Optional[int]) -> int:
    u = policy.target_cpu_utilisation
    index = BestFitIndex(fleet, sorted(movable & set(fleet.vm_type)), u)
    added = 0
    candidates = sorted((vm for vm in movable if vm in fleet.vm_type),
                        key=lambda vm: (fleet.cpu[vm] / fleet.vm_type[vm].vcpus, -fleet.vm_type[vm].price_per_hour, vm))
    for vm in candidates:
        apps = sorted(fleet.members[vm], key=lambda a: (-fleet.apps[a].cpu, -fleet.apps[a].memory_mib, a))
        if budget is not None and added + len(apps) > budget:
            continue
        price = fleet.vm_type[vm].price_per_hour
        options: List[Optional[InstanceType]] = [None] if price >= policy.min_saving_per_hour else []
        options += [t for t in types if t.price_per_hour <= price - max(policy.min_saving_per_hour, EPS)]
        index.discard(vm)
        for replacement in options:  # by saving, largest first
            new = _evacuate(fleet, index, vm, apps, replacement, u, names)
            if new is None:
                continue
            fleet.remove_vm(vm)
            movable.discard(vm)
            if new:
                movable.add(new)
                index.add(new)
            added += len(apps)
            break
        else:
            index.add(vm)
    return added


KEEP_FILL = 0.5  # repack keeps cloud VMs at least this full (CPU or memory) of their target


def repack(fleet: Fleet, policy: Policy, movable: Set[str], types: Sequence[InstanceType],
           names: NameMaker) -> Fleet:
    """Many cloud VMs at once (what one-at-a-time evacuation cannot do, e.g. ten small ones into
    one large): keep the well-filled cloud VMs, best-fit the apps of the others into them, and
    pack the rest into new cloud VMs. Returns a new target fleet."""
    u = policy.target_cpu_utilisation
    target = fleet.copy()
    kept, pool = set(), []
    for vm in sorted(movable):
        # Fullness against what the type's price buys (its vCPUs at the target), not against the
        # headroom-reduced limit: a small cloud VM's reserve must not make it look worth keeping.
        full = max(target.cpu[vm] / (target.vm_type[vm].vcpus * u), target.mem[vm] / target.mem_limit(vm))
        if KEEP_FILL <= full and not target.overloaded(vm, u):
            kept.add(vm)
            continue
        pool += sorted(target.members[vm])
    for app in pool:
        target.unplace(app)
    for vm in sorted(movable - kept):
        target.remove_vm(vm)
    index = BestFitIndex(target, sorted(kept), u)
    leftovers = []
    for app in sorted(pool, key=lambda a: (-target.apps[a].cpu, a)):
        vm = index.best_fit(app)
        if vm is None:
            leftovers.append(app)
            continue
        target.place(app, vm)
        index.refresh(vm)
    pack_into_new(target, leftovers, types, u, names)
    return target
