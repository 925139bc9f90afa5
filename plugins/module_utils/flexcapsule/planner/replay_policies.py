"""Policies for the trace replay: ours (the planner), one app per cloud VM, static peak
provisioning, Beloglazov's THR-MMT heuristic, and a clairvoyant reference."""
from __future__ import annotations

import time
from typing import Dict, List

import numpy as np

from .core import initial_placement, plan
from .demand import forecast_error, predict_next
from .fleet import Fleet
from .heuristic import NameMaker, cheapest_type_for, efficient_types, pack_into_new
from .model import CloudVM, Policy
from .model import Catalog
from .replay import PRIOR_CPU, Decision, ReplayPolicy, Traces, app_vms

# Window of the forecast error behind each app VM's cpu_stddev: 36 samples (3 hours).
ERROR_WINDOW = 36


class PlannerReplay(ReplayPolicy):
    """Ours: forecast each app's next demand and how far it may stray (the forecast's recent
    error, for the policy's pooled headroom), then run the planner on the current placement."""
    name = "ours"

    def __init__(self, traces, catalog, policy: Policy):
        super().__init__(traces, catalog)
        self.policy = policy
        self.cloud_vms: List[CloudVM] = []
        self.placement: Dict[str, str] = {}

    def forecast(self, t: int, observed: np.ndarray) -> np.ndarray:
        if t == 0:
            return np.full(len(self.apps), PRIOR_CPU)
        return np.minimum(predict_next(observed), self.traces.vcpus)

    def forecast_stddev(self, t: int, observed: np.ndarray) -> np.ndarray:
        """RMS of each app's one-step forecast errors over the last ERROR_WINDOW samples; the
        first sample's error is against the prior (its forecast)."""
        if t == 0:
            return np.zeros(len(self.apps))
        return forecast_error(observed, window=ERROR_WINDOW, prior=PRIOR_CPU)

    def decide(self, t, observed):
        started = time.perf_counter()
        apps = app_vms(self.traces, self.forecast(t, observed), self.forecast_stddev(t, observed))
        if not self.placement:
            self.cloud_vms, self.placement = initial_placement(apps, self.catalog, self.policy)
            return Decision({v.name: v.instance_type for v in self.cloud_vms}, dict(self.placement), 0,
                            time.perf_counter() - started)
        result = plan(apps, self.cloud_vms, self.placement, self.catalog, self.policy)
        self.cloud_vms = [CloudVM(n, ty) for n, ty in result.after.cloud_vms.items()]
        self.placement = result.after.placement
        return Decision(dict(result.after.cloud_vms), dict(self.placement), len(result.migrations),
                        time.perf_counter() - started)


class ClairvoyantReplay(PlannerReplay):
    """Reference, not a policy: the planner fed the real demand of the interval it plans for."""
    name = "clairvoyant"
    clairvoyant = True

    def forecast(self, t, observed):
        return self.traces.cpu[:, t]

    def forecast_stddev(self, t, observed):
        return np.zeros(len(self.apps))  # it knows the demand


class OnePerVmReplay(ReplayPolicy):
    """Each app VM alone on the cheapest type that holds all its vCPUs and memory."""
    name = "one-per-vm"

    def decide(self, t, observed):
        if t > 0:
            return Decision(self.vm_type, self.placement, 0, 0.0)
        started = time.perf_counter()
        types = efficient_types(self.catalog)
        self.vm_type, self.placement = {}, {}
        for i, name in enumerate(self.apps):
            ty = cheapest_type_for(float(self.traces.vcpus[i]), int(self.traces.memory_mib[i]), types,
                                   self.catalog, 1.0, single_app=True)
            self.vm_type[f"vm-{i}"] = ty.name
            self.placement[name] = f"vm-{i}"
        return Decision(self.vm_type, self.placement, 0, time.perf_counter() - started)


class StaticPeakReplay(ReplayPolicy):
    """Packed once by each app's peak demand of the whole day (known in advance: generous to the
    baseline), at 100 % CPU; never migrates."""
    name = "static-peak"

    def decide(self, t, observed):
        if t > 0:
            return Decision(self.vm_type, self.placement, 0, 0.0)
        started = time.perf_counter()
        peak = self.traces.cpu.max(axis=1)
        fleet = Fleet(self.catalog, {a.name: a for a in app_vms(self.traces, peak)})
        pack_into_new(fleet, list(self.apps), efficient_types(self.catalog), 1.0, NameMaker("vm", []))
        self.vm_type = {vm: ty.name for vm, ty in fleet.vm_type.items()}
        self.placement = dict(fleet.placement)
        return Decision(self.vm_type, self.placement, 0, time.perf_counter() - started)


# HP ProLiant ML110 G5 power (W) at 0, 10, ..., 100 % CPU, as in CloudSim's PlanetLab setup.
G5_POWER = (93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135)


def g5_power(utilisation: float) -> float:
    u = min(max(utilisation, 0.0), 1.0) * 10
    i = min(int(u), 9)
    return G5_POWER[i] + (G5_POWER[i + 1] - G5_POWER[i]) * (u - i)


class ThresholdMmtReplay(ReplayPolicy):
    """Beloglazov & Buyya: static-threshold (THR 0.8) overload detection on the last sample,
    minimum-migration-time selection (smallest memory first), power-aware best-fit decreasing
    placement, and underloaded hosts emptied least-utilised first. Hosts are one instance type
    (the cheapest per vCPU); memory is honoured."""
    name = "thr-mmt"

    def __init__(self, traces, catalog, threshold: float = 0.8):
        super().__init__(traces, catalog)
        self.threshold = threshold
        self.host_type = min(efficient_types(catalog), key=lambda ty: (ty.price_per_hour / ty.vcpus, -ty.vcpus))
        self.mem_cap = self.host_type.memory_mib - catalog.dom0_memory_mib
        self.hosts: Dict[str, Dict[str, None]] = {}  # host -> its apps, in arrival order (deterministic)
        self.host_of: Dict[str, str] = {}
        self.counter = 0

    def _util(self, host, load):
        return sum(load[a] for a in self.hosts[host]) / self.host_type.vcpus

    def _mem(self, host):
        return sum(self.mem[a] for a in self.hosts[host])

    def _place(self, app, load, exclude, util, mem):
        """Power-aware best fit: the active host whose power grows least, never past the threshold."""
        best, best_increase = None, None
        extra = load[app] / self.host_type.vcpus
        for host in self.hosts:
            if host in exclude or util[host] + extra > self.threshold or mem[host] + self.mem[app] > self.mem_cap:
                continue
            increase = g5_power(util[host] + extra) - g5_power(util[host])
            if best is None or increase < best_increase:
                best, best_increase = host, increase
        return best

    def _new_host(self, util, mem):
        self.counter += 1
        host = f"host-{self.counter}"
        self.hosts[host] = {}
        util[host], mem[host] = 0.0, 0
        return host

    def _assign(self, app, host, load, util, mem):
        old = self.host_of.get(app)
        if old is not None:
            self.hosts[old].pop(app, None)
            util[old] -= load[app] / self.host_type.vcpus
            mem[old] -= self.mem[app]
        self.hosts[host][app] = None
        self.host_of[app] = host
        util[host] += load[app] / self.host_type.vcpus
        mem[host] += self.mem[app]

    def decide(self, t, observed):
        started = time.perf_counter()
        self.mem = dict(zip(self.apps, (int(m) for m in self.traces.memory_mib)))
        last = observed[:, -1] if t > 0 else np.full(len(self.apps), PRIOR_CPU)
        load = dict(zip(self.apps, (float(x) for x in last)))
        util = {h: self._util(h, load) for h in self.hosts}
        mem = {h: self._mem(h) for h in self.hosts}
        before = dict(self.host_of)
        # Overloaded hosts: pick smallest-memory VMs until under the threshold.
        to_place = []
        for host in sorted(self.hosts):
            members = sorted(self.hosts[host], key=lambda a: (self.mem[a], a))
            while util[host] > self.threshold and members:
                app = members.pop(0)
                to_place.append((app, host))
                self.hosts[host].pop(app, None)
                util[host] -= load[app] / self.host_type.vcpus
                mem[host] -= self.mem[app]
                del self.host_of[app]
        if t == 0:
            to_place = [(a, None) for a in self.apps]
        to_place.sort(key=lambda p: (-load[p[0]], p[0]))
        for app, source in to_place:
            host = self._place(app, load, {source}, util, mem) or self._new_host(util, mem)
            self._assign(app, host, load, util, mem)
        # Underloaded hosts: empty the least utilised entirely or not at all, then switch it off.
        emptied = set()
        for host in sorted(self.hosts, key=lambda h: (util[h], h)):
            if host in emptied:
                continue
            members = sorted(self.hosts[host], key=lambda a: (-load[a], a))
            moves = []
            for app in members:
                dest = self._place(app, load, emptied | {host}, util, mem)
                if dest is None:
                    break
                self._assign(app, dest, load, util, mem)
                moves.append(app)
            if len(moves) == len(members):
                emptied.add(host)
            else:
                for app in moves:
                    self._assign(app, host, load, util, mem)
        for host in emptied:
            del self.hosts[host]
        for host in [h for h, m in self.hosts.items() if not m]:
            del self.hosts[host]
        migrations = sum(1 for a, h in self.host_of.items() if a in before and before[a] != h)
        return Decision({h: self.host_type.name for h in self.hosts}, dict(self.host_of), migrations,
                        time.perf_counter() - started)


# Headroom pooled from the forecast's recent error: a shared cloud VM keeps headroom_stddevs standard
# deviations of its app VMs' summed forecast error spare (their cpu_stddev, PlannerReplay.forecast_stddev),
# so cloud VMs of volatile app VMs keep more room than those of steady ones, and the errors of many app VMs
# partly cancel. min_headroom_vcpus 0.25 covers cloud VMs whose app VMs were all steady over the window
# (no error to pool). 0.25 standard deviations at target 0.97 keeps every PlanetLab day under 1.2 x the
# bound with a margin (the previous default, a flat vCPU at target 0.93, put 20110309 at 1.21); more
# standard deviations reach lower violation at less cost than lowering the target under a flat vCPU
# (docs/planner.md, Results).
DEFAULT_POLICY = Policy(target_cpu_utilisation=0.97, hysteresis=0.05, min_saving_per_hour=0.05,
                        min_saving_per_migration=0.0005, solver="heuristic", min_headroom_vcpus=0.25,
                        headroom_stddevs=0.25)
CLAIRVOYANT_POLICY = Policy(target_cpu_utilisation=1.0, hysteresis=0.0, min_saving_per_hour=0.0, solver="heuristic")


def make_policies(traces: Traces, catalog: Catalog, names=None, ours: Policy = DEFAULT_POLICY):
    factories = {
        "ours": lambda: PlannerReplay(traces, catalog, ours),
        "one-per-vm": lambda: OnePerVmReplay(traces, catalog),
        "static-peak": lambda: StaticPeakReplay(traces, catalog),
        "thr-mmt": lambda: ThresholdMmtReplay(traces, catalog),
        "clairvoyant": lambda: ClairvoyantReplay(traces, catalog, CLAIRVOYANT_POLICY),
    }
    chosen = names or list(factories)
    made = []
    for name in chosen:
        if name in factories:
            made.append(factories[name]())
        elif name.startswith("thr-mmt-"):  # e.g. thr-mmt-0.9: another overload threshold
            try:
                threshold = float(name[len("thr-mmt-"):])
            except ValueError:
                raise ValueError(f"bad threshold in policy name {name}") from None
            if not 0 < threshold <= 1:
                raise ValueError(f"threshold in {name} must be in (0, 1]")
            made.append(ThresholdMmtReplay(traces, catalog, threshold))
            made[-1].name = name
        else:
            raise ValueError(f"unknown policy: {name} (known: {', '.join(factories)}, thr-mmt-<threshold>)")
    return made
