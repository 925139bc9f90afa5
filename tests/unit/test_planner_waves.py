"""Migration waves: the executor runs a wave's moves at the same time, so each wave must be safe in any order."""
import pytest

from flexcapsule.planner import Action, AppVM, CloudVM, PlannerError, Policy, plan
from flexcapsule.planner.core import build_fleet
from flexcapsule.planner.waves import assign_waves
from test_planner_fixtures import SMALL_CATALOG, random_fleet

DOM0 = SMALL_CATALOG.dom0_memory_mib


def check_waves(apps, vms, placement, actions, policy):
    """Recompute loads independently: at each wave's start, every destination must hold its current apps plus all
    the wave's incoming ones (outgoing ones not yet gone) within the target CPU and its usable memory."""
    spec = {a.name: a for a in apps}
    types = {vm.name: SMALL_CATALOG.types[vm.instance_type] for vm in vms}
    where = dict(placement)
    migrations = [a for a in actions if a.kind == "migrate"]
    assert all(a.wave is not None for a in migrations)
    assert [a.wave for a in migrations] == sorted(a.wave for a in migrations), "waves come in order"
    position = 0
    for action in actions:
        if action.kind == "provision":
            types[action.cloud_vm] = SMALL_CATALOG.types[action.instance_type]
        if action.kind != "migrate" or action.wave == position:
            continue
        position = action.wave
        wave = [a for a in migrations if a.wave == position]
        assert len(wave) <= policy.migration_concurrency
        assert len({a.app for a in wave}) == len(wave), "an app moves twice in one wave"
        for dst in {a.cloud_vm for a in wave}:
            load = [app for app, vm in where.items() if vm == dst] + [a.app for a in wave if a.cloud_vm == dst]
            vcpus = types[dst].vcpus
            cpu_limit = vcpus * policy.target_cpu_utilisation if len(load) > 1 else vcpus
            assert sum(spec[app].cpu for app in load) <= cpu_limit + 1e-6, (position, dst, load)
            assert sum(spec[app].memory_mib for app in load) <= types[dst].memory_mib - DOM0, (position, dst, load)
        for a in wave:
            where[a.app] = a.cloud_vm


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_every_wave_is_safe_in_any_order(seed, concurrency):
    apps, vms, placement = random_fleet(seed, 25, 10)
    policy = Policy(solver="heuristic", migration_concurrency=concurrency)
    result = plan(apps, vms, placement, SMALL_CATALOG, policy)
    check_waves(apps, vms, placement, result.actions, policy)
    migrations = [a for a in result.actions if a.kind == "migrate"]
    if concurrency == 1:
        assert [a.wave for a in migrations] == list(range(1, len(migrations) + 1))


def test_independent_moves_run_in_waves_of_the_concurrency():
    # Four idle apps on four cloud VMs consolidate onto one: the moves are independent, so they run in waves
    # of two (the concurrency) rather than one by one.
    apps = [AppVM(f"a{i}", 256, 0.05) for i in range(4)]
    vms = [CloudVM(f"vm{i}", "c.small") for i in range(4)]
    placement = {f"a{i}": f"vm{i}" for i in range(4)}
    result = plan(apps, vms, placement, SMALL_CATALOG, Policy(migration_concurrency=2))
    waves = [a.wave for a in result.actions if a.kind == "migrate"]
    assert len(waves) == 3 and waves == [1, 1, 2], result.actions


@pytest.mark.parametrize("cpu, expected", [(1.2, [1, 2]), (0.2, [1, 1])])
def test_a_move_into_room_another_move_frees_waits_for_it(cpu, expected):
    # x leaves full vm1 for vm2 and y comes into vm1 from vm0. In order, y fits once x is gone; at the same time
    # both would be on vm1 while x is still being copied, so with busy apps y waits for the next wave.
    apps = [AppVM("x", 256, cpu), AppVM("y", 256, cpu)]
    fleet = build_fleet(apps, [CloudVM(f"vm{i}", "c.small") for i in range(3)], {"x": "vm1", "y": "vm0"},
                        SMALL_CATALOG)
    actions = [Action("migrate", "vm2", app="x", source="vm1"), Action("migrate", "vm1", app="y", source="vm0")]
    assign_waves(fleet, actions, Policy(migration_concurrency=2))
    assert [a.wave for a in actions] == expected


def test_concurrency_out_of_range_is_refused():
    for bad in (0, 17, 1.5, True, "2"):
        with pytest.raises(PlannerError, match="migration_concurrency"):
            Policy(migration_concurrency=bad).validate()


def test_waves_do_not_copy_the_fleet_per_wave(monkeypatch):
    # 10,000 app VMs took minutes when every wave copied the whole fleet; one copy must do.
    from flexcapsule.planner.fleet import Fleet

    n = 400
    apps = [AppVM(f"a{i}", 128, 0.05) for i in range(n)]
    fleet = build_fleet(apps, [CloudVM(f"vm{i}", "c.small") for i in range(n)] + [CloudVM("big", "m.large")],
                        {f"a{i}": f"vm{i}" for i in range(n)}, SMALL_CATALOG)
    actions = [Action("migrate", "big" if i < 40 else f"vm{i - 1}", app=f"a{i}", source=f"vm{i}")
               for i in range(n)]
    copies = []
    original = Fleet.copy
    monkeypatch.setattr(Fleet, "copy", lambda self: copies.append(1) or original(self))
    assign_waves(fleet, actions, Policy(migration_concurrency=2))
    assert len(copies) == 1
    assert max(a.wave for a in actions) == n // 2


def test_a_thousand_scattered_app_vms_plan_within_a_second():
    # The must-hold's 1,000 app VMs, in the worst case (each alone on its own cloud VM); 0.1 s here.
    import time

    apps = [AppVM(f"a{i}", (64, 128, 256, 512)[i % 4], round((i * 37 % 100) / 250, 3)) for i in range(1000)]
    vms = [CloudVM(f"vm{i}", "c.small") for i in range(1000)]
    started = time.perf_counter()
    result = plan(apps, vms, {f"a{i}": f"vm{i}" for i in range(1000)}, SMALL_CATALOG, Policy(solver="heuristic"))
    assert time.perf_counter() - started < 1.0
    assert len(result.after.cloud_vms) < 1000 // 4
