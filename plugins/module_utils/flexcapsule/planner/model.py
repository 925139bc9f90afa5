"""Plain data the planner takes and returns. No Ansible, no I/O: callers build these from facts."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Optional, Tuple


class PlannerError(ValueError):
    """Bad or inconsistent planner input; raised before any action is planned."""


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    price_per_hour: float
    family: str = ""
    maps_to: Optional[str] = None  # lab types: the real type whose price they carry


@dataclass(frozen=True)
class Catalog:
    types: Dict[str, InstanceType]
    dom0_memory_mib: int = 0  # kept by the management VM on every cloud VM

    def usable_memory_mib(self, type_name: str) -> int:
        return self.types[type_name].memory_mib - self.dom0_memory_mib

    def cheapest_per_vcpu_hour(self) -> float:
        return min(t.price_per_hour / t.vcpus for t in self.types.values())

    def cheapest_per_gib_hour(self) -> float:
        return min(t.price_per_hour / (t.memory_mib / 1024) for t in self.types.values())


@dataclass(frozen=True)
class AppVM:
    """One app VM. `cpu` is its CPU demand in vCPUs (e.g. a high percentile over the window);
    `cpu_stddev` how far the real demand may stray from it (vCPUs, one standard deviation), for
    the policy's pooled headroom (headroom_stddevs); 0: not known."""
    name: str
    memory_mib: int
    cpu: float
    vcpus: int = 1
    cpu_stddev: float = 0.0


@dataclass(frozen=True)
class CloudVM:
    name: str
    instance_type: str


@dataclass(frozen=True)
class Policy:
    # Pack a cloud VM's CPU up to this fraction of its vCPUs (1 - headroom).
    target_cpu_utilisation: float = 0.8
    # A cloud VM counts as overloaded only above target + hysteresis, so small swings move nothing.
    hysteresis: float = 0.05
    # Spare vCPUs a shared cloud VM keeps at the target even where the percentage headroom gives
    # less (small cloud VMs): one app VM's jump from idle to busy needs up to a whole vCPU. 0: off.
    min_headroom_vcpus: float = 0.0
    # Pooled headroom: a shared cloud VM also keeps this many standard deviations of its app VMs'
    # summed demand error spare (their cpu_stddev, errors taken as independent: variances add), so
    # that cloud VMs of volatile app VMs keep more room than those of steady ones. 0: off.
    headroom_stddevs: float = 0.0
    # A cloud VM busy (every domain, dom0 included, mean over the window) at or above this fraction
    # of its vCPUs is saturated: it under-reports its app VMs' demand, which is inferred instead
    # (demand.saturated_demand) and flagged in the plan. None: measured demand only.
    saturation_threshold: Optional[float] = 0.95
    # Consolidate only if the fleet gets at least this much cheaper ($/hour).
    min_saving_per_hour: float = 0.01
    # Each migration must pay for itself: a plan's saving is reduced by this much per migration
    # ($/hour). 0 keeps the objective strictly "cost first, then fewest migrations".
    min_saving_per_migration: float = 0.0
    # At most this many migrations per run (None: unlimited).
    migration_budget: Optional[int] = None
    # Migrations the executor may run at once (each wave of the plan holds at most this many).
    migration_concurrency: int = 2
    # Cloud VMs that must not be touched: nothing moves in or out, never terminated.
    protected_cloud_vms: Tuple[str, ...] = ()
    # "auto" (CP-SAT for small fleets, heuristic otherwise), "cpsat" or "heuristic".
    solver: str = "auto"
    solver_time_limit_s: float = 1.0
    cpsat_max_apps: int = 40
    # Break move cycles with a temporary cloud VM (else: staged via spare room, or infeasible).
    allow_temporary_cloud_vm: bool = True
    # Only these instance types may be provisioned (empty: any in the catalog).
    allowed_types: Tuple[str, ...] = ()
    new_cloud_vm_prefix: str = "fc-cloud"

    @classmethod
    def from_dict(cls, values: dict) -> "Policy":
        """Build from plain data (e.g. playbook variables); unknown keys are an error."""
        if not isinstance(values, dict):
            raise PlannerError(f"policy must be a mapping, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise PlannerError(f"policy: unknown setting(s) {', '.join(unknown)}")
        cooked = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**cooked)

    @property
    def overload_cpu_utilisation(self) -> float:
        return min(1.0, self.target_cpu_utilisation + self.hysteresis)

    def validate(self, catalog: Optional[Catalog] = None) -> None:
        def bad(msg):
            raise PlannerError("policy: " + msg)

        u = self.target_cpu_utilisation
        if not isinstance(u, (int, float)) or math.isnan(u) or not 0.05 <= u <= 1.0:
            bad(f"target_cpu_utilisation must be in [0.05, 1.0], got {u!r}")
        if not isinstance(self.hysteresis, (int, float)) or not 0.0 <= self.hysteresis <= 0.5:
            bad(f"hysteresis must be in [0, 0.5], got {self.hysteresis!r}")
        h = self.min_headroom_vcpus
        if isinstance(h, bool) or not isinstance(h, (int, float)) or not 0.0 <= h <= 64:
            bad(f"min_headroom_vcpus must be a number of vCPUs in [0, 64], got {h!r}")
        z = self.headroom_stddevs
        if isinstance(z, bool) or not isinstance(z, (int, float)) or not 0.0 <= z <= 10:
            bad(f"headroom_stddevs must be a number in [0, 10], got {z!r}")
        st = self.saturation_threshold
        if st is not None and (isinstance(st, bool) or not isinstance(st, (int, float)) or math.isnan(st)
                               or not 0.5 <= st <= 1.0):
            bad(f"saturation_threshold must be in [0.5, 1.0] (a fraction of the cloud VM's vCPUs) "
                f"or null to turn it off, got {st!r}")
        if not isinstance(self.min_saving_per_hour, (int, float)) or self.min_saving_per_hour < 0:
            bad(f"min_saving_per_hour must be >= 0, got {self.min_saving_per_hour!r}")
        if not isinstance(self.min_saving_per_migration, (int, float)) or self.min_saving_per_migration < 0:
            bad(f"min_saving_per_migration must be >= 0, got {self.min_saving_per_migration!r}")
        b = self.migration_budget
        if b is not None and (isinstance(b, bool) or not isinstance(b, int) or b < 0):
            bad(f"migration_budget must be a non-negative integer or None, got {b!r}")
        c = self.migration_concurrency
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 16:
            bad(f"migration_concurrency must be an integer from 1 to 16, got {c!r}")
        if self.solver not in ("auto", "cpsat", "heuristic"):
            bad(f"solver must be auto, cpsat or heuristic, got {self.solver!r}")
        if not isinstance(self.solver_time_limit_s, (int, float)) or self.solver_time_limit_s <= 0:
            bad(f"solver_time_limit_s must be > 0, got {self.solver_time_limit_s!r}")
        if not isinstance(self.protected_cloud_vms, (tuple, list, frozenset, set)):
            bad("protected_cloud_vms must be a list of cloud VM names")
        if catalog is not None:
            unknown = [t for t in self.allowed_types if t not in catalog.types]
            if unknown:
                bad(f"allowed_types names unknown instance types: {', '.join(unknown)}")


@dataclass
class Action:
    kind: str  # provision | migrate | terminate
    cloud_vm: str  # provision/terminate: that cloud VM; migrate: the destination
    app: Optional[str] = None
    source: Optional[str] = None
    instance_type: Optional[str] = None
    memory_mib: int = 0
    reason: str = ""
    wave: Optional[int] = None  # migrate: moves of one wave may run at the same time

    def to_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if v not in (None, "")}
        if self.kind != "migrate":
            data.pop("memory_mib", None)
        return data


@dataclass
class Configuration:
    cloud_vms: Dict[str, str]  # name -> instance type
    placement: Dict[str, str]  # app -> cloud VM
    cost_per_hour: float

    def to_dict(self) -> dict:
        return {"cloud_vms": dict(sorted(self.cloud_vms.items())),
                "placement": dict(sorted(self.placement.items())),
                "cost_per_hour": round(self.cost_per_hour, 6)}


@dataclass
class Plan:
    status: str  # ok | unchanged | infeasible
    before: Configuration
    after: Configuration
    actions: List[Action]
    lower_bound: float
    lower_bound_method: str
    solver: str
    plan_seconds: float
    notes: List[str] = field(default_factory=list)
    apps: Dict[str, AppVM] = field(default_factory=dict)
    instance_types: Dict[str, InstanceType] = field(default_factory=dict)  # those in before/after

    @property
    def migrations(self) -> List[Action]:
        return [a for a in self.actions if a.kind == "migrate"]

    @property
    def gap(self) -> float:
        if self.lower_bound <= 0:
            return 0.0
        return self.after.cost_per_hour / self.lower_bound - 1.0

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
            "migrations": len(self.migrations),
            "bytes_moved": sum(a.memory_mib for a in self.migrations) * 1024 * 1024,
            "saving_per_hour": round(self.before.cost_per_hour - self.after.cost_per_hour, 6),
            "lower_bound": round(self.lower_bound, 6),
            "lower_bound_method": self.lower_bound_method,
            "gap": round(self.gap, 6),
            "solver": self.solver,
            "plan_seconds": round(self.plan_seconds, 4),
            "notes": list(self.notes),
            "apps": {n: {"cpu": round(a.cpu, 4), "memory_mib": a.memory_mib, "vcpus": a.vcpus}
                     for n, a in sorted(self.apps.items())},
            "instance_types": {n: {"vcpus": t.vcpus, "memory_mib": t.memory_mib,
                                   "price_per_hour": t.price_per_hour}
                               for n, t in sorted(self.instance_types.items())},
        }
