"""Turn a target configuration into an executable order: provision, migrate, terminate.

Migrations run one at a time; each waits until its destination has room at the target CPU
utilisation and in memory. When every pending move waits on another (a cycle, e.g. a swap on two
full cloud VMs), one app is parked: on a cloud VM with spare room (a staged order) or, if the
policy allows, on a temporary cloud VM provisioned for the purpose and terminated afterwards."""
from __future__ import annotations

from typing import Dict, List, Sequence

from .fleet import Fleet
from .heuristic import NameMaker, cheapest_type_for
from .model import Action, InstanceType, PlannerError, Policy


class OrderingError(PlannerError):
    """No safe order exists within this run's rules."""


def order_actions(before: Fleet, target_types: Dict[str, InstanceType], target_placement: Dict[str, str],
                  policy: Policy, types: Sequence[InstanceType], names: NameMaker) -> List[Action]:
    state = before.copy()
    u = policy.target_cpu_utilisation
    protected = set(policy.protected_cloud_vms)
    actions: List[Action] = []
    for vm in sorted(set(target_types) - set(state.vm_type)):
        actions.append(Action("provision", vm, instance_type=target_types[vm].name,
                              reason="needed by the target placement"))
        state.add_vm(vm, target_types[vm])
    pending = {app: dst for app, dst in target_placement.items() if state.placement[app] != dst}
    temporary: List[str] = []
    step_limit = 3 * len(pending) + 10

    def migrate(app: str, dst: str, reason: str) -> None:
        actions.append(Action("migrate", dst, app=app, source=state.placement[app],
                              memory_mib=state.apps[app].memory_mib, reason=reason))
        state.place(app, dst)

    while pending:
        moved = False
        # Busiest first, so large moves get room before small ones fill it.
        for app in sorted(pending, key=lambda a: (-state.apps[a].cpu, a)):
            dst = pending[app]
            if state.fits(app, dst, u):
                migrate(app, dst, "target placement")
                del pending[app]
                moved = True
        if moved:
            continue
        step_limit -= 1
        if step_limit < 0:
            raise OrderingError("no safe migration order found (moves keep waiting on each other)")
        app = min(pending, key=lambda a: (state.apps[a].memory_mib, a))
        src = state.placement[app]
        parking = [vm for vm in sorted(state.vm_type, key=lambda v: (-(state.cpu[v]), v))
                   if vm not in protected and vm not in (src, pending[app]) and state.fits(app, vm, u)]
        if parking:
            migrate(app, parking[0], f"staged: frees room on {src} to break a cycle")
        elif policy.allow_temporary_cloud_vm:
            spec = state.apps[app]
            t = cheapest_type_for(spec.cpu, spec.memory_mib, types, state.catalog, u, single_app=True)
            tmp = names("-tmp")
            actions.append(Action("provision", tmp, instance_type=t.name,
                                  reason=f"temporary: parks {app} to break a migration cycle"))
            state.add_vm(tmp, t)
            temporary.append(tmp)
            migrate(app, tmp, f"parked on a temporary cloud VM to free room on {src}")
        else:
            raise OrderingError(
                f"migration cycle: {app} cannot reach {pending[app]} and no cloud VM has room to park it "
                "(temporary cloud VMs are disabled by the policy)")
        if state.placement[app] == pending[app]:
            del pending[app]
    for vm in sorted(set(state.vm_type) - set(target_types)):
        if vm in protected:
            continue
        actions.append(Action("terminate", vm, reason="temporary cloud VM" if vm in temporary
                              else "empty in the target placement"))
        state.remove_vm(vm)
    return actions
