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
    held, wave, moving = None, 0, set()
    for action in actions:
        if action.kind == "migrate":
            joins = (held is not None and len(moving) < policy.migration_concurrency
                     and action.app not in moving and held.fits(action.app, action.cloud_vm, utilisation))
            if not joins:
                held, wave, moving = state.copy(), wave + 1, set()
            held.hold(action.app, action.cloud_vm)
            moving.add(action.app)
            action.wave = wave
        else:
            held = None
        apply_action(state, action)
