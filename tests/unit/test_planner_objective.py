"""What the planner optimises, on fleets small enough to check by hand."""
import itertools

import pytest

from flexcapsule.planner import AppVM, CloudVM, Policy, plan, simulate_actions
from flexcapsule.planner.bounds import fluid_bound, type_mix_bound
from flexcapsule.planner.heuristic import efficient_types
from test_planner_fixtures import SMALL_CATALOG, random_fleet


def test_half_empty_cloud_vms_are_consolidated_and_cost_drops():
    apps = [AppVM(f"a{i}", 256, 0.4) for i in range(4)]
    vms = [CloudVM(f"vm{i}", "c.large") for i in range(4)]
    placement = {f"a{i}": f"vm{i}" for i in range(4)}
    result = plan(apps, vms, placement, SMALL_CATALOG, Policy(solver="heuristic"))
    assert result.after.cost_per_hour == pytest.approx(0.10)  # 1.6 vCPU fits one c.small at 80 %
    assert result.lower_bound <= result.after.cost_per_hour + 1e-9 and result.gap >= 0


def test_saving_below_the_minimum_does_nothing():
    apps = [AppVM("a", 256, 0.5), AppVM("b", 256, 0.5)]
    vms = [CloudVM("vm1", "m.small"), CloudVM("vm2", "m.small")]
    placement = {"a": "vm1", "b": "vm2"}
    # Merging saves 0.12 $/h (one m.small... or 0.14 by moving to one c.small).
    assert plan(apps, vms, placement, SMALL_CATALOG, Policy(min_saving_per_hour=0.05)).actions
    lazy = plan(apps, vms, placement, SMALL_CATALOG, Policy(min_saving_per_hour=0.5))
    assert lazy.actions == [] and any("min_saving" in n for n in lazy.notes)


def test_overload_is_repaired_with_the_fewest_migrations():
    apps = [AppVM("big", 256, 1.0), AppVM("s1", 256, 0.3), AppVM("s2", 256, 0.3), AppVM("s3", 256, 0.3)]
    vms = [CloudVM("hot", "c.small"), CloudVM("cool", "c.large")]
    placement = {"big": "hot", "s1": "hot", "s2": "hot", "s3": "cool"}  # hot: 1.6 of 2 vCPU = 80 %
    policy = Policy(target_cpu_utilisation=0.6, hysteresis=0.1, min_saving_per_hour=1.0)  # overload > 70 %
    result = plan(apps, vms, placement, SMALL_CATALOG, policy)
    assert [(a.app, a.source, a.cloud_vm) for a in result.migrations] == [("big", "hot", "cool")]
    simulate_actions(apps, vms, placement, SMALL_CATALOG, policy, result.actions)


def test_load_within_the_hysteresis_band_is_left_alone():
    apps = [AppVM("a", 256, 0.9), AppVM("b", 256, 0.8)]  # 85 % of 2 vCPU: above 80 %, below 90 %
    vms = [CloudVM("vm1", "c.small")]
    result = plan(apps, vms, {"a": "vm1", "b": "vm1"}, SMALL_CATALOG,
                  Policy(target_cpu_utilisation=0.8, hysteresis=0.1))
    assert result.actions == []
    tight = plan(apps, vms, {"a": "vm1", "b": "vm1"}, SMALL_CATALOG,
                 Policy(target_cpu_utilisation=0.8, hysteresis=0.0))
    assert tight.migrations


def test_empty_cloud_vm_is_terminated_without_migrations():
    apps = [AppVM("a", 256, 0.5)]
    vms = [CloudVM("vm1", "c.small"), CloudVM("spare", "c.small")]
    result = plan(apps, vms, {"a": "vm1"}, SMALL_CATALOG, Policy())
    assert [(a.kind, a.cloud_vm) for a in result.actions] == [("terminate", "spare")]


def test_memory_heavy_apps_get_a_memory_family_type():
    apps = [AppVM(f"a{i}", 1800, 0.1) for i in range(4)]  # 7200 MiB, 0.4 vCPU
    vms = [CloudVM(f"vm{i}", "c.large") for i in range(4)]
    result = plan(apps, vms, {f"a{i}": f"vm{i}" for i in range(4)}, SMALL_CATALOG, Policy(solver="heuristic"))
    assert result.after.cost_per_hour == pytest.approx(0.24)  # one m.large or two m.small
    assert {t[0] for t in result.after.cloud_vms.values()} == {"m"}


@pytest.mark.parametrize("seed", range(5))
def test_cpsat_is_never_worse_than_the_heuristic_and_bounds_hold(seed):
    apps, vms, placement = random_fleet(seed, 12, 6)
    fast = plan(apps, vms, placement, SMALL_CATALOG, Policy(solver="heuristic", min_saving_per_hour=0))
    exact = plan(apps, vms, placement, SMALL_CATALOG, Policy(solver="cpsat", min_saving_per_hour=0))
    assert exact.after.cost_per_hour <= fast.after.cost_per_hour + 1e-9
    for result in (fast, exact):
        assert result.lower_bound <= exact.after.cost_per_hour + 1e-9


def test_equal_cost_prefers_fewer_migrations():
    apps = [AppVM("a", 256, 0.5), AppVM("b", 256, 0.5)]
    vms = [CloudVM("vm1", "c.small"), CloudVM("vm2", "c.small")]
    result = plan(apps, vms, {"a": "vm1", "b": "vm2"}, SMALL_CATALOG, Policy(solver="cpsat", min_saving_per_hour=0))
    assert len(result.migrations) == 1  # one move empties a cloud VM; two would cost the same


def test_type_mix_bound_is_below_any_fractional_mix_and_above_the_fluid_bound():
    types = efficient_types(SMALL_CATALOG)
    for cpu, mem in [(3.0, 1000), (1.0, 12000), (6.0, 9000), (0.5, 100)]:
        bound = type_mix_bound(cpu, mem, types, SMALL_CATALOG, 0.8)
        # Fine grid over fractional counts of the two cheapest families: never cheaper than the bound.
        grid = min(sum(n * t.price_per_hour for n, t in zip(ns, types))
                   for ns in itertools.product([k / 4 for k in range(0, 41)], repeat=2)
                   if sum(n * t.vcpus * 0.8 for n, t in zip(ns, types)) >= cpu
                   and sum(n * (t.memory_mib - 256) for n, t in zip(ns, types)) >= mem)
        assert bound <= grid + 1e-9
        assert bound >= fluid_bound(cpu, mem, SMALL_CATALOG) - 1e-9


def test_fluid_bound_is_the_larger_of_cpu_and_memory_prices():
    cheapest_vcpu = min(t.price_per_hour / t.vcpus for t in SMALL_CATALOG.types.values())
    cheapest_gib = min(t.price_per_hour / (t.memory_mib / 1024) for t in SMALL_CATALOG.types.values())
    assert fluid_bound(10, 1024, SMALL_CATALOG) == pytest.approx(10 * cheapest_vcpu)
    assert fluid_bound(0.1, 102400, SMALL_CATALOG) == pytest.approx(100 * cheapest_gib)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("hysteresis", [0.0, 0.15])
def test_lower_bound_never_exceeds_the_plan_it_bounds(seed, hysteresis):
    apps, vms, placement = random_fleet(seed, 12, 6)
    busy = [AppVM(a.name, a.memory_mib, 1.9 if i % 5 == 0 else a.cpu) for i, a in enumerate(apps)]
    for solver in ("heuristic", "cpsat"):
        result = plan(busy, vms, placement, SMALL_CATALOG,
                      Policy(solver=solver, hysteresis=hysteresis, target_cpu_utilisation=0.7))
        assert 0 < result.lower_bound <= result.after.cost_per_hour + 1e-9
