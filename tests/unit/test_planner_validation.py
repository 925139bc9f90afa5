import math

import pytest

from flexcapsule.planner import AppVM, CloudVM, PlannerError, Policy, catalog_from_dict, load_catalog, plan
from test_planner_fixtures import SMALL_CATALOG

APPS = [AppVM("a", 256, 0.5), AppVM("b", 256, 0.5)]
VMS = [CloudVM("vm1", "c.small")]
PLACEMENT = {"a": "vm1", "b": "vm1"}


@pytest.mark.parametrize("field, value", [
    ("target_cpu_utilisation", 0.0), ("target_cpu_utilisation", 1.5), ("target_cpu_utilisation", math.nan),
    ("hysteresis", -0.1), ("min_saving_per_hour", -1), ("migration_budget", -1), ("migration_budget", True),
    ("migration_budget", 2.5), ("solver", "magic"), ("solver_time_limit_s", 0), ("allowed_types", ("x.huge",)),
    ("min_headroom_vcpus", -1), ("min_headroom_vcpus", math.nan), ("min_headroom_vcpus", "one"),
    ("headroom_stddevs", -1), ("headroom_stddevs", math.nan), ("headroom_stddevs", "two"),
    ("saturation_threshold", 0.3), ("saturation_threshold", 1.2), ("saturation_threshold", math.nan),
    ("saturation_threshold", "high"), ("saturation_threshold", True),
])
def test_bad_policy_values_are_rejected_naming_the_field(field, value):
    with pytest.raises(PlannerError, match=field):
        plan(APPS, VMS, PLACEMENT, SMALL_CATALOG, Policy(**{field: value}))


@pytest.mark.parametrize("apps, vms, placement, message", [
    ([], VMS, {}, "no app VMs"),
    ([AppVM("a", 256, 0.1), AppVM("a", 256, 0.1)], VMS, {"a": "vm1"}, "duplicate app VM name: a"),
    (APPS, [CloudVM("vm1", "c.small"), CloudVM("vm1", "c.large")], PLACEMENT, "duplicate cloud VM name: vm1"),
    (APPS, VMS, {"a": "vm1", "b": "ghost"}, "app VM b is on unknown cloud VM ghost"),
    (APPS, VMS, {"a": "vm1"}, "app VM b has no current cloud VM"),
    (APPS, VMS, {"a": "vm1", "b": "vm1", "zed": "vm1"}, "unknown app VM zed"),
    (APPS, [CloudVM("vm1", "z.mega")], PLACEMENT, "unknown instance type z.mega"),
    ([AppVM("a", 256, -0.1)], VMS, {"a": "vm1"}, "CPU demand"),
    ([AppVM("a", 0, 0.1)], VMS, {"a": "vm1"}, "memory_mib"),
    ([AppVM("a", 256, 0.1, 1, -0.1)], VMS, {"a": "vm1"}, "cpu_stddev"),
    ([AppVM("a", 256, 0.1, 1, math.inf)], VMS, {"a": "vm1"}, "cpu_stddev"),
    ([AppVM("a", 256, 0.1, 0)], VMS, {"a": "vm1"}, "vcpus"),
    ([AppVM("wide", 256, 0.1, 8)], VMS, {"wide": "vm1"}, "wide .* bigger than every instance type"),
    ([AppVM("huge", 9000, 0.1)], VMS, {"huge": "vm1"}, "huge .* bigger than every instance type"),
    ([AppVM("busy", 256, 5.0)], VMS, {"busy": "vm1"}, "busy .* bigger than every instance type"),
])
def test_inconsistent_input_is_rejected_before_planning(apps, vms, placement, message):
    with pytest.raises(PlannerError, match=message):
        plan(apps, vms, placement, SMALL_CATALOG, Policy())


def test_unknown_protected_cloud_vm_is_rejected():
    with pytest.raises(PlannerError, match="protected cloud VM vm9"):
        plan(APPS, VMS, PLACEMENT, SMALL_CATALOG, Policy(protected_cloud_vms=("vm9",)))


def test_repo_catalog_loads_cloud_and_lab_types():
    cloud = load_catalog(kind="cloud")
    lab = load_catalog(kind="lab")
    assert cloud.types["c8i-flex.large"].price_per_hour == pytest.approx(0.08902)
    assert lab.types["lab.m8i.large"].price_per_hour == cloud.types["m8i.large"].price_per_hour
    assert cloud.dom0_memory_mib == 1024 and lab.dom0_memory_mib == 384


def test_lab_type_mapping_to_unknown_type_is_an_error():
    data = {"types": {}, "lab_types": {"lab.x": {"maps_to": "nope", "vcpus": 1, "memory_mib": 1024}}}
    with pytest.raises(PlannerError, match="lab.x maps to unknown type nope"):
        catalog_from_dict(data, "lab")


def test_policy_from_plain_data():
    policy = Policy.from_dict({"target_cpu_utilisation": 0.7, "protected_cloud_vms": ["vm1"]})
    assert policy.protected_cloud_vms == ("vm1",)
    with pytest.raises(PlannerError, match="unknown setting.*target_cpu"):
        Policy.from_dict({"target_cpu": 0.7})


def test_plan_dict_is_json_ready():
    import json

    result = plan(APPS, VMS, PLACEMENT, SMALL_CATALOG, Policy())
    assert json.loads(json.dumps(result.to_dict()))["status"] == result.status


def test_app_needing_the_cpu_of_one_type_and_the_memory_of_another_is_too_big():
    # 3 vCPU busy and 5000 MiB: only m.large holds it. Without m.large, c.large has the vCPUs but
    # not the memory and m.small the memory but not the vCPUs.
    ok = [AppVM("a", 5000, 3.0)]
    plan(ok, VMS, {"a": "vm1"}, SMALL_CATALOG, Policy())
    with pytest.raises(PlannerError, match="bigger than every instance type"):
        plan(ok, VMS, {"a": "vm1"}, SMALL_CATALOG, Policy(allowed_types=("c.large", "m.small")))
