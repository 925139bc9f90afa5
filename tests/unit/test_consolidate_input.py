"""Fast tier: turning gathered app_vm_info samples into planner input."""
import pytest

from flexcapsule.consolidate import percentile, planner_input
from flexcapsule.planner import PlannerError


def _fleet():
    return [{"name": "cloud1", "instance_type": "lab.c8i.large",
             "app_vms": [{"name": "a", "state": "running", "memory_mib": 16, "vcpus": 1,
                          "cpu_samples": [10, 50, 20, 30]},
                         {"name": "done", "state": "stopped", "memory_mib": 16, "vcpus": 1, "cpu_samples": []}]},
            {"name": "cloud2", "instance_type": "lab.c8i.large",
             "app_vms": [{"name": "b", "state": "running", "memory_mib": 32, "vcpus": 1, "cpu_samples": [None, 5]}]}]


def test_running_app_vms_are_placed_where_they_run_with_a_percentile_demand():
    apps, cloud_vms, placement, saturated = planner_input(_fleet(), cpu_percentile=50)
    assert saturated == {}  # no busy samples: nothing inferred
    assert placement == {"a": "cloud1", "b": "cloud2"}
    assert {a.name: a.cpu for a in apps} == {"a": 0.2, "b": 0.05}
    assert [c.name for c in cloud_vms] == ["cloud1", "cloud2"]


def test_percentile_is_nearest_rank():
    assert percentile([1, 2, 3, 4], 95) == 4
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([7], 1) == 7


def test_an_app_vm_on_two_cloud_vms_is_an_inconsistent_inventory():
    fleet = _fleet()
    fleet[1]["app_vms"][0]["name"] = "a"
    with pytest.raises(PlannerError, match="runs on both cloud1 and cloud2"):
        planner_input(fleet)


@pytest.mark.parametrize("fleet, message", [([], "no cloud VMs"),
                                            ([{"name": "x", "app_vms": []}], "no instance type")])
def test_empty_or_incomplete_inventory_is_refused(fleet, message):
    with pytest.raises(PlannerError, match=message):
        planner_input(fleet)


def test_bad_percentile_is_refused():
    with pytest.raises(PlannerError, match="cpu_percentile"):
        planner_input(_fleet(), cpu_percentile=0)
