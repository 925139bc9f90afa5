"""Mutable working copy of a placement: loads per cloud VM, capacity checks, moves."""
from __future__ import annotations

import math
from bisect import bisect_left, insort
from typing import Dict, Iterable, Optional, Set

from .model import AppVM, Catalog, InstanceType

EPS = 1e-9


def reserve_vcpus(vcpus: int, target: float, min_headroom_vcpus: float) -> float:
    """vCPUs a shared cloud VM keeps free beyond its target utilisation, so that it always has at
    least `min_headroom_vcpus` spare at the target: 0 when the percentage headroom already gives
    that (large cloud VMs), up to the whole shortfall on small ones. The overload threshold moves
    down by the same amount, so the hysteresis band keeps its width."""
    return max(0.0, min_headroom_vcpus - vcpus * (1.0 - target))


def pooled_cpu(cpu: float, variance: float, stddevs: float) -> float:
    """CPU a set of app VMs is planned at: the sum of their demands plus `stddevs` standard
    deviations of the sum's error, the app VMs' errors taken as independent (variances add)."""
    return cpu + stddevs * math.sqrt(variance) if stddevs and variance > 0 else cpu


class Fleet:
    def __init__(self, catalog: Catalog, apps: Dict[str, AppVM], target: float = 1.0,
                 min_headroom_vcpus: float = 0.0, headroom_stddevs: float = 0.0):
        self.catalog = catalog
        self.apps = apps
        # Policy's target and absolute headroom (see reserve_vcpus); 0 = percentage headroom only.
        self.target = target
        self.min_headroom_vcpus = min_headroom_vcpus
        # Pooled headroom (see pooled_cpu): standard deviations of the members' summed demand error.
        self.headroom_stddevs = headroom_stddevs
        self.vm_type: Dict[str, InstanceType] = {}
        self.members: Dict[str, Set[str]] = {}
        self.cpu: Dict[str, float] = {}
        self.var: Dict[str, float] = {}  # sum of the members' cpu_stddev squared
        self.mem: Dict[str, int] = {}
        self.placement: Dict[str, str] = {}

    @classmethod
    def for_policy(cls, catalog: Catalog, apps: Iterable[AppVM], policy) -> "Fleet":
        """An empty fleet of these app VMs under the policy's target, absolute and pooled headroom."""
        return cls(catalog, {a.name: a for a in apps}, policy.target_cpu_utilisation, policy.min_headroom_vcpus,
                   policy.headroom_stddevs)

    def copy(self) -> "Fleet":
        other = Fleet(self.catalog, self.apps, self.target, self.min_headroom_vcpus, self.headroom_stddevs)
        other.vm_type = dict(self.vm_type)
        other.members = {vm: set(m) for vm, m in self.members.items()}
        other.cpu = dict(self.cpu)
        other.var = dict(self.var)
        other.mem = dict(self.mem)
        other.placement = dict(self.placement)
        return other

    # --- structure -------------------------------------------------------------------------
    def add_vm(self, name: str, instance_type: InstanceType) -> None:
        self.vm_type[name] = instance_type
        self.members[name] = set()
        self.cpu[name] = 0.0
        self.var[name] = 0.0
        self.mem[name] = 0

    def remove_vm(self, name: str) -> None:
        assert not self.members[name], f"cloud VM {name} is not empty"
        for table in (self.vm_type, self.members, self.cpu, self.var, self.mem):
            del table[name]

    def place(self, app: str, vm: str) -> None:
        if app in self.placement:
            self.unplace(app)
        self.placement[app] = vm
        spec = self.apps[app]
        self.members[vm].add(app)
        self.cpu[vm] += spec.cpu
        self.var[vm] += spec.cpu_stddev ** 2
        self.mem[vm] += spec.memory_mib

    def unplace(self, app: str) -> str:
        vm = self.placement.pop(app)
        spec = self.apps[app]
        self.members[vm].discard(app)
        self.cpu[vm] -= spec.cpu
        self.var[vm] = max(0.0, self.var[vm] - spec.cpu_stddev ** 2)
        self.mem[vm] -= spec.memory_mib
        return vm

    # --- capacity ------------------------------------------------------------------------------
    def type_cpu_limit(self, vcpus: int, utilisation: float) -> float:
        """CPU a shared cloud VM of `vcpus` may carry at this utilisation (target or overload)."""
        if not self.min_headroom_vcpus:
            return vcpus * utilisation
        return max(0.0, vcpus * utilisation - reserve_vcpus(vcpus, self.target, self.min_headroom_vcpus))

    def cpu_limit(self, vm: str, utilisation: float) -> float:
        return self.type_cpu_limit(self.vm_type[vm].vcpus, utilisation)

    def mem_limit(self, vm: str) -> int:
        return self.vm_type[vm].memory_mib - self.catalog.dom0_memory_mib

    def planned_cpu(self, vm: str) -> float:
        """The members' CPU with the pooled headroom (pooled_cpu)."""
        return pooled_cpu(self.cpu[vm], self.var[vm], self.headroom_stddevs)

    def fits(self, app: str, vm: str, utilisation: float, also: tuple = (0.0, 0, 0, 0.0)) -> bool:
        """Room for app on vm at this utilisation. `also` = (CPU, MiB, count, variance) of app VMs
        counted on vm besides its members (e.g. ones migrating away, still held there)."""
        spec = self.apps[app]
        also_cpu, also_mem, also_count, also_var = also
        # An app busier than the headroom allows may still have a cloud VM to itself.
        if self.members[vm] or also_count:
            cpu = pooled_cpu(self.cpu[vm] + also_cpu + spec.cpu, self.var[vm] + also_var + spec.cpu_stddev ** 2,
                             self.headroom_stddevs)
            limit = self.cpu_limit(vm, utilisation)
        else:
            cpu, limit = spec.cpu, self.vm_type[vm].vcpus
        return cpu <= limit + EPS and self.mem[vm] + also_mem + spec.memory_mib <= self.mem_limit(vm)

    def overloaded(self, vm: str, utilisation: float) -> bool:
        if len(self.members[vm]) > 1:
            cpu, limit = self.planned_cpu(vm), self.cpu_limit(vm, utilisation)
        else:
            cpu, limit = self.cpu[vm], self.vm_type[vm].vcpus
        return cpu > limit + EPS or self.mem[vm] > self.mem_limit(vm)

    def cost(self) -> float:
        return sum(t.price_per_hour for t in self.vm_type.values())


class BestFitIndex:
    """Cloud VMs sorted by spare CPU, so best fit is a binary search instead of a scan."""

    SCAN_LIMIT = 64  # when memory, not CPU, is short, give up after this many candidates

    def __init__(self, fleet: Fleet, vms: Iterable[str], utilisation: float):
        self.fleet = fleet
        self.utilisation = utilisation
        self.spare: Dict[str, float] = {}
        self.keys = []
        for vm in vms:
            self._insert(vm)

    def _insert(self, vm: str) -> None:
        spare = self.fleet.cpu_limit(vm, self.utilisation) - self.fleet.planned_cpu(vm)
        self.spare[vm] = spare
        insort(self.keys, (spare, vm))

    def discard(self, vm: str) -> None:
        spare = self.spare.pop(vm, None)
        if spare is not None:
            i = bisect_left(self.keys, (spare, vm))
            del self.keys[i]

    def refresh(self, vm: str) -> None:
        self.discard(vm)
        self._insert(vm)

    def add(self, vm: str) -> None:
        self._insert(vm)

    def best_fit(self, app: str, exclude: Optional[str] = None) -> Optional[str]:
        spec = self.fleet.apps[app]
        i = bisect_left(self.keys, (spec.cpu - EPS, ""))
        for spare, vm in self.keys[i:i + self.SCAN_LIMIT]:
            if vm != exclude and self.fleet.fits(app, vm, self.utilisation):
                return vm
        return None
