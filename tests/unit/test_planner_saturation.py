"""Fast tier: a saturated cloud VM counts as overloaded (its app VMs' demand is inferred, not measured).

The inputs have the shape of what consolidate.yml gathered in the lab's load-separation run: one
1-vCPU cloud VM (lab.c8i-flex.large) with two `cpuload` app VMs at duty 70 and an idle counter,
measured at about 0.42 vCPU each while dom0 took the rest of the vCPU."""
import pytest

from flexcapsule.consolidate import flag_saturation, planner_input
from flexcapsule.planner import PlannerError, Policy, load_catalog, plan
from flexcapsule.planner.demand import busy_fraction, saturated_demand
from flexcapsule.report import render_report


def _lab_fleet(busy=(99.6, 99.9, 99.3), load=((41.8, 42.0, 41.5), (42.1, 41.9, 41.7))):
    """cloud3 holds everything, as after the lab's idle consolidation."""
    return [
        {"name": "cloud3", "instance_type": "lab.c8i-flex.large", "nr_cpus": 1, "cpu_busy_samples": list(busy),
         "app_vms": [
             {"name": "idle-load-1", "state": "running", "memory_mib": 32, "vcpus": 1, "cpu_samples": list(load[0])},
             {"name": "idle-load-2", "state": "running", "memory_mib": 32, "vcpus": 1, "cpu_samples": list(load[1])},
             {"name": "counter-1", "state": "running", "memory_mib": 16, "vcpus": 1, "cpu_samples": [0.4, 0.3, 0.5]},
         ]},
    ]


def _plan(fleet, policy):
    apps, vms, placement, saturated = planner_input(fleet, 95, policy.saturation_threshold)
    result = plan(apps, vms, placement, load_catalog(kind="lab"), policy)
    return flag_saturation(result.to_dict(), saturated, policy.saturation_threshold)


def test_measured_alone_the_loaded_pair_stays_under_the_threshold():
    # The lab's problem: 0.420 + 0.421 + 0.005 vCPU < 0.85, so nothing moves without the new rule.
    result = _plan(_lab_fleet(), Policy(saturation_threshold=None))
    assert result["status"] == "unchanged"
    assert result["saturated"] == {}


def test_saturated_cloud_vm_is_separated_and_flagged():
    result = _plan(_lab_fleet(), Policy())  # defaults: target 0.8, hysteresis 0.05, saturation 0.95
    assert list(result["saturated"]) == ["cloud3"]
    info = result["saturated"]["cloud3"]
    assert info["busy"] == pytest.approx(0.996)
    # The two held to a fair share get an equal share of what the idle counter left; it keeps its own.
    assert info["apps"]["idle-load-1"]["demand"] == pytest.approx((1 - 0.005) / 2)
    assert info["apps"]["idle-load-2"]["demand"] == pytest.approx((1 - 0.005) / 2)
    assert info["apps"]["counter-1"] == {"measured": 0.005, "demand": 0.005}
    moves = [a for a in result["actions"] if a["kind"] == "migrate"]
    assert result["status"] == "ok" and moves
    assert [a["kind"] for a in result["actions"]][0] == "provision"  # separation: scale out
    assert {m["app"] for m in moves} & {"idle-load-1", "idle-load-2"}
    assert all(m["source"] != "cloud3" or "source saturated" in m["reason"] for m in moves)
    after = result["after"]["placement"]
    assert after["idle-load-1"] != after["idle-load-2"]
    assert any(n.startswith("saturated: cloud3") for n in result["notes"])


def test_a_busy_but_unsaturated_cloud_vm_keeps_its_measurements():
    apps, _, _, saturated = planner_input(_lab_fleet(busy=(90.0, 91.0, 89.5)), 95, 0.95)
    assert saturated == {}
    assert {a.name: a.cpu for a in apps}["idle-load-1"] == pytest.approx(0.42)


def test_without_host_samples_nothing_is_inferred():
    fleet = _lab_fleet()
    for vm in fleet:
        vm.pop("cpu_busy_samples")
    assert planner_input(fleet, 95, 0.95)[0] == planner_input(fleet, 95, None)[0]


def test_facts_templated_as_text_are_read():
    # Ansible's set_fact renders nr_cpus as "1".
    fleet = _lab_fleet()
    fleet[0]["nr_cpus"] = "1"
    assert list(planner_input(fleet, 95, 0.95)[3]) == ["cloud3"]
    fleet[0]["nr_cpus"] = "one"
    with pytest.raises(PlannerError, match="nr_cpus"):
        planner_input(fleet, 95, 0.95)


def test_bad_host_samples_are_refused():
    fleet = _lab_fleet(busy=(99.0, -5.0))
    with pytest.raises(PlannerError, match="busy samples"):
        planner_input(fleet, 95, 0.95)


def test_busy_fraction_is_the_mean_over_the_window_of_the_capacity():
    assert busy_fraction([190, 200, None, 180], 2) == pytest.approx(0.95)
    assert busy_fraction([None], 1) is None
    assert busy_fraction([50], 0) is None


def test_saturated_demand_rule():
    vcpus = {"a": 1, "b": 1, "c": 1, "wide": 2}
    # Not saturated, unknown, or off: the measurements stand.
    assert saturated_demand({"a": 0.4, "b": 0.4}, vcpus, 1, 0.94, 0.95) is None
    assert saturated_demand({"a": 0.4, "b": 0.4}, vcpus, 1, None, 0.95) is None
    assert saturated_demand({"a": 0.4, "b": 0.4}, vcpus, 1, 1.0, None) is None
    # Held to equal shares: an equal share of the whole capacity each.
    assert saturated_demand({"a": 0.43, "b": 0.43}, vcpus, 1, 0.97, 0.95) == {"a": 0.5, "b": 0.5}
    # One app alone saturating its cloud VM (dom0 took the rest): the whole vCPU, capped at its own vCPUs.
    assert saturated_demand({"a": 0.86}, vcpus, 1, 0.99, 0.95) == {"a": 1.0}
    assert saturated_demand({"wide": 1.7, "a": 1.0}, vcpus, 4, 0.96, 0.95) == {"wide": 2.0, "a": 1.0}
    # Never below what was measured (an app above the share keeps its measurement).
    got = saturated_demand({"a": 0.55, "b": 0.9}, {"a": 1, "b": 1}, 1.2, 0.99, 0.95)
    assert got == {"a": 0.6, "b": 0.9}
    # A busy dom0 (0.3 vCPU) beside two app VMs held back: still raised to half the vCPU each.
    assert saturated_demand({"a": 0.35, "b": 0.34}, vcpus, 1, 0.99, 0.95) == {"a": 0.5, "b": 0.5}
    # dom0 saturating the cloud VM on its own: idle app VMs are not raised, not even the busiest.
    idle = {"a": 0.004, "b": 0.006, "c": 0.01}
    assert saturated_demand(idle, vcpus, 1, 0.98, 0.95) == idle
    assert saturated_demand({"a": 0.3}, vcpus, 1, 0.99, 0.95) == {"a": 0.3}
    # An app that took much less than its share was not held back: it keeps its measurement.
    got = saturated_demand({"a": 0.05, "b": 0.9, "c": 0.95}, vcpus, 2, 0.98, 0.95)
    assert got["a"] == 0.05 and got["b"] == pytest.approx(0.975) and got["c"] == pytest.approx(0.975)


def test_report_marks_inferred_demand(tmp_path):
    result = _plan(_lab_fleet(), Policy())
    render_report(result, [], str(tmp_path))
    text = (tmp_path / "consolidation.md").read_text()
    assert "(saturated; measured 0.42)" in text
    assert "saturated: cloud3" in text


class _TwoSampleXl:
    """`xl list` twice: dom0 and two app VMs gain CPU time between the samples."""

    def __init__(self):
        self.calls = 0

    def list_table(self):
        self.calls += 1
        step = 0.0 if self.calls == 1 else 1.0
        return {"Domain-0": {"domid": 0, "cpu_time_s": 100.0 + 0.15 * step},
                "load-1": {"domid": 3, "cpu_time_s": 10.0 + 0.42 * step},
                "load-2": {"domid": 4, "cpu_time_s": 20.0 + 0.43 * step}}

    def uptime(self):
        return {}

    def info(self):
        return {"host": "cloud3", "nr_cpus": 1, "total_memory": 1023, "free_memory": 500,
                "xen_major": 4, "xen_minor": 17}


def test_app_vm_info_reports_the_host_busy_including_dom0(monkeypatch):
    from flexcapsule import runtime as runtime_mod

    runtime = runtime_mod.Runtime(state_dir="/nonexistent", xl=_TwoSampleXl())
    monkeypatch.setattr(runtime, "app_vms", lambda include_stopped=True, reap=True: [])
    monkeypatch.setattr(runtime_mod.time, "sleep", lambda s: None)
    clock = iter([0.0, 1.0])
    monkeypatch.setattr(runtime_mod.time, "monotonic", lambda: next(clock))
    _, capacity = runtime.usage(interval=1.0)
    assert capacity["cpu_percent_used"] == pytest.approx(85.0)
    assert capacity["cpu_percent_dom0"] == pytest.approx(15.0)
    assert capacity["cpu_percent_busy"] == pytest.approx(100.0)
    assert busy_fraction([capacity["cpu_percent_busy"]], capacity["nr_cpus"]) >= 0.95
