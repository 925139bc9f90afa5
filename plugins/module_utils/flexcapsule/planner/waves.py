"""Group an ordered action list's migrations into waves the executor may run at the same time."""
from __future__ import annotations

from typing import List

from .fleet import Fleet
from .model import Action, Policy
from .simulate import apply_action


def assign_waves(before: Fleet, actions: List[Action], policy: Policy) -> None:
    """Number every migration's wave (1, 2, ...). Consecutive migrations share a wave while it holds at most
    policy.migration_concurrency moves, moves no app twice, and every destination has room for all of the
    wave's incoming app VMs with its outgoing ones still counted: a live migration holds its app on both ends
    until it completes, and the wave's moves may finish in any order. A provision or terminate ends a wave."""
    state = before.copy()
    utilisation = policy.target_cpu_utilisation
    # The wave's moves are applied to `state` one by one, but until the wave completes each app is
    # still held on its source as well: `leaving` counts it there, (CPU, MiB, count, variance) per source.
    # (Copying the fleet per wave instead made 10,000 app VMs take minutes.)
    wave, moving, leaving = 0, None, {}
    for action in actions:
        if action.kind == "migrate":
            joins = (moving is not None and len(moving) < policy.migration_concurrency
                     and action.app not in moving
                     and state.fits(action.app, action.cloud_vm, utilisation,
                                    leaving.get(action.cloud_vm, (0.0, 0, 0, 0.0))))
            if not joins:
                wave, moving, leaving = wave + 1, set(), {}
            source, spec = state.placement[action.app], state.apps[action.app]
            cpu, mem, count, var = leaving.get(source, (0.0, 0, 0, 0.0))
            leaving[source] = (cpu + spec.cpu, mem + spec.memory_mib, count + 1, var + spec.cpu_stddev ** 2)
            moving.add(action.app)
            action.wave = wave
        else:
            moving = None
        apply_action(state, action)
