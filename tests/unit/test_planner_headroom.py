"""Fast tier: the policy's absolute headroom (min_headroom_vcpus) for small shared cloud VMs."""
import pytest

from flexcapsule.planner import AppVM, CloudVM, Policy, plan
from flexcapsule.planner.fleet import Fleet, reserve_vcpus
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
