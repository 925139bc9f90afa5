"""Replay an action list step by step and reject any step that is not safe to execute."""
from __future__ import annotations

from typing import Dict, Iterable, List

from .fleet import Fleet
from .model import Action, AppVM, Catalog, CloudVM, PlannerError, Policy


def simulate_actions(apps: Iterable[AppVM], cloud_vms: Iterable[CloudVM], placement: Dict[str, str],
                     catalog: Catalog, policy: Policy, actions: List[Action]) -> Fleet:
    """Apply each action to a copy of the fleet. A migration may not take its destination over the
    target CPU utilisation or its usable memory; nothing moves into a cloud VM before it is
    provisioned; only empty cloud VMs are terminated; protected cloud VMs are never touched.
    Returns the final fleet; raises PlannerError naming the first bad step."""
    fleet = Fleet.for_policy(catalog, apps, policy)
    for vm in cloud_vms:
        fleet.add_vm(vm.name, catalog.types[vm.instance_type])
    for app, vm in placement.items():
        fleet.place(app, vm)
    protected = set(policy.protected_cloud_vms)
    for step, action in enumerate(actions, 1):
        where = f"step {step} ({action.kind} {action.app or ''} -> {action.cloud_vm})"
        if action.cloud_vm in protected:
            raise PlannerError(f"{where}: touches protected cloud VM {action.cloud_vm}")
        if action.kind == "provision":
            if action.cloud_vm in fleet.vm_type:
                raise PlannerError(f"{where}: cloud VM already exists")
            if action.instance_type not in catalog.types:
                raise PlannerError(f"{where}: unknown instance type {action.instance_type}")
        elif action.kind == "migrate":
            if action.cloud_vm not in fleet.vm_type:
                raise PlannerError(f"{where}: destination does not exist (yet)")
            if fleet.placement.get(action.app) != action.source:
                raise PlannerError(f"{where}: app is not on {action.source}")
            if action.source in protected:
                raise PlannerError(f"{where}: moves out of protected cloud VM {action.source}")
            if not fleet.fits(action.app, action.cloud_vm, policy.target_cpu_utilisation):
                raise PlannerError(f"{where}: would overload the destination")
        elif action.kind == "terminate":
            if action.cloud_vm not in fleet.vm_type:
                raise PlannerError(f"{where}: cloud VM does not exist")
            if fleet.members[action.cloud_vm]:
                raise PlannerError(f"{where}: cloud VM still runs app VMs")
        else:
            raise PlannerError(f"{where}: unknown action kind")
        apply_action(fleet, action)
    return fleet


def apply_action(fleet: Fleet, action: Action) -> None:
    """What one (already checked) action does to the fleet."""
    if action.kind == "provision":
        fleet.add_vm(action.cloud_vm, fleet.catalog.types[action.instance_type])
    elif action.kind == "migrate":
        fleet.place(action.app, action.cloud_vm)
    elif action.kind == "terminate":
        fleet.remove_vm(action.cloud_vm)
