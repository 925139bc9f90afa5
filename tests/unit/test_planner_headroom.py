"""Fast tier: the policy's absolute headroom (min_headroom_vcpus) for small shared cloud VMs, and its
pooled headroom (headroom_stddevs) over the app VMs' cpu_stddev."""
import pytest

from flexcapsule.planner import AppVM, CloudVM, Policy, plan
from flexcapsule.planner.fleet import Fleet, pooled_cpu, reserve_vcpus
from test_planner_fixtures import SMALL_CATALOG


def test_reserve_only_where_the_percentage_headroom_is_short():
    assert reserve_vcpus(2, 0.8, 1.0) == pytest.approx(0.6)  # 0.4 spare at 80 % of 2: 0.6 short
    assert reserve_vcpus(16, 0.8, 1.0) == 0.0  # 3.2 spare already
    assert reserve_vcpus(2, 0.8, 0.0) == 0.0


def test_limits_keep_the_headroom_and_the_hysteresis_band():
    fleet = Fleet(SMALL_CATALOG, {}, target=0.8, min_headroom_vcpus=1.0)
    assert fleet.type_cpu_limit(2, 0.8) == pytest.approx(1.0)  # target: 1 vCPU spare
    assert fleet.type_cpu_limit(2, 0.85) == pytest.approx(1.1)  # overload: the band stays 0.05 x 2 wide
    assert fleet.type_cpu_limit(4, 0.8) == pytest.approx(3.0)
    assert Fleet(SMALL_CATALOG, {}).type_cpu_limit(2, 0.8) == pytest.approx(1.6)  # off by default
    assert fleet.copy().type_cpu_limit(2, 0.8) == pytest.approx(1.0)


def test_small_cloud_vm_sheds_load_with_headroom_and_new_ones_are_sized_for_it():
    apps = [AppVM("a", 256, 0.6), AppVM("b", 256, 0.6)]
    vms = [CloudVM("vm1", "c.small")]
    placement = {"a": "vm1", "b": "vm1"}
    # 1.2 of 2 vCPUs: fine at 80 %, but only 0.8 vCPU would be left for one app's jump.
    assert plan(apps, vms, placement, SMALL_CATALOG, Policy()).status == "unchanged"
    result = plan(apps, vms, placement, SMALL_CATALOG, Policy(min_headroom_vcpus=1.0))
    assert result.status == "ok"
    after = result.after
    for vm, ty in after.cloud_vms.items():
        members = [x for x in apps if after.placement[x.name] == vm]
        if len(members) > 1:
            assert SMALL_CATALOG.types[ty].vcpus - sum(x.cpu for x in members) >= 1.0 - 1e-9


def test_pooled_headroom_is_standard_deviations_of_the_summed_error():
    assert pooled_cpu(1.0, 0.09 + 0.16, 2.0) == pytest.approx(2.0)  # 1 + 2 x sqrt(0.3^2 + 0.4^2)
    assert pooled_cpu(1.0, 0.25, 0.0) == 1.0
    assert pooled_cpu(1.0, 0.0, 2.0) == 1.0
    apps = {"a": AppVM("a", 256, 0.5, 1, 0.3), "b": AppVM("b", 256, 0.5, 1, 0.4)}
    for z, fits in ((1.0, True), (2.0, False)):  # 1.0 + z x 0.5 against 80 % of 2 vCPUs
        fleet = Fleet(SMALL_CATALOG, apps, target=0.8, headroom_stddevs=z)
        fleet.add_vm("vm", SMALL_CATALOG.types["c.small"])
        fleet.place("a", "vm")
        assert fleet.fits("b", "vm", 0.8) is fits
        fleet.place("b", "vm")
        assert fleet.copy().planned_cpu("vm") == pytest.approx(1.0 + z * 0.5)
        fleet.unplace("b")
        assert fleet.var["vm"] == pytest.approx(0.09)


def test_volatile_app_vms_are_separated_and_steady_ones_left_alone():
    vms = [CloudVM("vm1", "c.small")]
    placement = {"a": "vm1", "b": "vm1"}
    policy = Policy(headroom_stddevs=2.0, solver="heuristic")
    steady = [AppVM("a", 256, 0.6), AppVM("b", 256, 0.6)]
    assert plan(steady, vms, placement, SMALL_CATALOG, policy).status == "unchanged"
    # 1.2 of 2 vCPUs plus 2 x sqrt(2 x 0.3^2) = 0.85: over the 85 % overload threshold.
    volatile = [AppVM("a", 256, 0.6, 1, 0.3), AppVM("b", 256, 0.6, 1, 0.3)]
    result = plan(volatile, vms, placement, SMALL_CATALOG, policy)
    assert result.status == "ok"
    after = result.after
    for vm, ty in after.cloud_vms.items():
        members = [x for x in volatile if after.placement[x.name] == vm]
        if len(members) > 1:
            planned = pooled_cpu(sum(x.cpu for x in members), sum(x.cpu_stddev ** 2 for x in members), 2.0)
            assert planned <= 0.8 * SMALL_CATALOG.types[ty].vcpus + 1e-9


def test_cpsat_leaves_pooled_headroom_to_the_heuristic():
    apps = [AppVM("a", 256, 0.6, 1, 0.3), AppVM("b", 256, 0.6, 1, 0.3)]
    result = plan(apps, [CloudVM("vm1", "c.small")], {"a": "vm1", "b": "vm1"}, SMALL_CATALOG,
                  Policy(headroom_stddevs=2.0, solver="cpsat"))
    assert not result.solver.startswith("cpsat")
    assert any("pooled headroom" in note for note in result.notes)
