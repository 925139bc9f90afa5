"""Every plan must be executable step by step; cycles are broken or reported."""
import pytest

from flexcapsule.planner import Action, AppVM, Catalog, CloudVM, InstanceType, PlannerError, Policy, plan, simulate_actions
from flexcapsule.planner.core import build_fleet
from flexcapsule.planner.heuristic import NameMaker, efficient_types
from flexcapsule.planner.ordering import OrderingError, order_actions
from test_planner_fixtures import SMALL_CATALOG, random_fleet


def redo(result):
    """The fleet as the plan leaves it, as input for the next run."""
    vms = [CloudVM(n, t) for n, t in result.after.cloud_vms.items()]
    return vms, dict(result.after.placement)


# CP-SAT gets fleets it solves to optimality; a time-limited solution may be improved by the
# next run (a real saving), which is why idempotence is promised for proven or heuristic plans.
SIZE = {"heuristic": (25, 10), "cpsat": (12, 6)}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("solver", ["heuristic", "cpsat"])
def test_every_step_of_the_action_list_is_feasible(seed, solver):
    apps, vms, placement = random_fleet(seed, *SIZE[solver])
    policy = Policy(solver=solver, solver_time_limit_s=1.0)
    result = plan(apps, vms, placement, SMALL_CATALOG, policy)
    assert result.solver in ("heuristic", "repack", "repair-only", "cpsat-optimal")
    final = simulate_actions(apps, vms, placement, SMALL_CATALOG, policy, result.actions)
    assert final.placement == result.after.placement
    assert {vm: t.name for vm, t in final.vm_type.items()} == result.after.cloud_vms
    assert not [vm for vm in final.vm_type if final.overloaded(vm, policy.overload_cpu_utilisation)]
    kinds = [a.kind for a in result.actions]
    assert kinds == sorted(kinds, key=["provision", "migrate", "terminate"].index) or "-tmp" in str(result.actions)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("solver", ["heuristic", "cpsat"])
def test_planning_the_planned_fleet_again_does_nothing(seed, solver):
    apps, vms, placement = random_fleet(seed, *SIZE[solver])
    policy = Policy(solver=solver, solver_time_limit_s=1.0)
    first = plan(apps, vms, placement, SMALL_CATALOG, policy)
    second = plan(apps, *redo(first), SMALL_CATALOG, policy)
    assert second.actions == [] and second.status == "unchanged"


def test_simulation_rejects_unsafe_steps():
    apps = [AppVM("a", 1500, 0.5), AppVM("b", 1500, 0.5)]
    vms = [CloudVM("vm1", "c.small"), CloudVM("vm2", "c.small")]
    placement = {"a": "vm1", "b": "vm2"}
    policy = Policy()
    with pytest.raises(PlannerError, match="would overload"):
        simulate_actions(apps, vms, placement, SMALL_CATALOG, policy, [Action("migrate", "vm2", app="a", source="vm1")])
    with pytest.raises(PlannerError, match="does not exist"):
        simulate_actions(apps, vms, placement, SMALL_CATALOG, policy, [Action("migrate", "new", app="a", source="vm1")])
    with pytest.raises(PlannerError, match="still runs app VMs"):
        simulate_actions(apps, vms, placement, SMALL_CATALOG, policy, [Action("terminate", "vm1")])


# A swap: each cloud VM is full with the other's app wanted there.
SWAP_CATALOG = Catalog({"box": InstanceType("box", 2, 1280, 0.1, "b"),
                        "bigbox": InstanceType("bigbox", 4, 2304, 0.2, "b")}, dom0_memory_mib=256)
SWAP_APPS = [AppVM("x", 700, 0.2), AppVM("y", 700, 0.2)]


def swap_orders(extra_vms=(), policy=Policy()):
    apps = {a.name: a for a in SWAP_APPS}
    vms = [CloudVM("A", "box"), CloudVM("B", "box"), *extra_vms]
    placement = {"x": "A", "y": "B"}
    fleet = build_fleet(SWAP_APPS, vms, placement, SWAP_CATALOG)
    target_types = dict(fleet.vm_type)
    actions = order_actions(fleet, target_types, {"x": "B", "y": "A"}, policy, efficient_types(SWAP_CATALOG),
                            NameMaker("fc", list(target_types) + list(apps)))
    final = simulate_actions(SWAP_APPS, vms, placement, SWAP_CATALOG, policy, actions)
    assert final.placement == {"x": "B", "y": "A"}
    return actions


def test_swap_is_staged_through_a_cloud_vm_with_room():
    actions = swap_orders([CloudVM("C", "bigbox")])
    assert [a.kind for a in actions] == ["migrate"] * 3
    assert actions[0].cloud_vm == "C" and "staged" in actions[0].reason


def test_swap_uses_a_temporary_cloud_vm_when_nothing_has_room():
    actions = swap_orders()
    assert actions[0].kind == "provision" and "-tmp" in actions[0].cloud_vm
    assert actions[-1].kind == "terminate" and actions[-1].cloud_vm == actions[0].cloud_vm
    assert sum(a.kind == "migrate" for a in actions) == 3


def test_swap_is_infeasible_when_temporary_cloud_vms_are_disallowed():
    with pytest.raises(OrderingError, match="migration cycle"):
        swap_orders(policy=Policy(allow_temporary_cloud_vm=False))


def test_protected_cloud_vms_are_never_touched():
    apps = [AppVM("a", 256, 0.1), AppVM("b", 256, 0.1), AppVM("c", 256, 0.1)]
    vms = [CloudVM("keep", "c.large"), CloudVM("vm2", "c.large"), CloudVM("idle", "c.small")]
    placement = {"a": "keep", "b": "vm2", "c": "vm2"}
    policy = Policy(protected_cloud_vms=("keep",))
    result = plan(apps, vms, placement, SMALL_CATALOG, policy)
    assert all("keep" not in (x.cloud_vm, x.source) for x in result.actions)
    assert result.after.placement["a"] == "keep"
    assert result.after.cost_per_hour < result.before.cost_per_hour  # the rest still consolidates
    simulate_actions(apps, vms, placement, SMALL_CATALOG, policy, result.actions)


def test_migration_budget_limits_the_run():
    apps, vms, placement = random_fleet(3, n_apps=30, n_vms=15)
    free = plan(apps, vms, placement, SMALL_CATALOG, Policy(solver="heuristic"))
    assert len(free.migrations) > 2
    capped = plan(apps, vms, placement, SMALL_CATALOG, Policy(solver="heuristic", migration_budget=2))
    assert len(capped.migrations) <= 2
    simulate_actions(apps, vms, placement, SMALL_CATALOG, Policy(), capped.actions)


@pytest.mark.parametrize("policy", [Policy(), Policy(target_cpu_utilisation=0.93, min_saving_per_migration=0.0005)])
def test_a_large_fragmented_fleet_settles_in_one_run(policy):
    apps, vms, placement = random_fleet(11, n_apps=400, n_vms=120)
    first = plan(apps, vms, placement, SMALL_CATALOG, policy)
    assert first.solver in ("heuristic", "repack") and first.after.cost_per_hour < first.before.cost_per_hour
    simulate_actions(apps, vms, placement, SMALL_CATALOG, policy, first.actions)
    second = plan(apps, *redo(first), SMALL_CATALOG, policy)
    assert second.actions == []
