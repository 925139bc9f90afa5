"""Glue between what app_vm_info gathers on each cloud VM and the planner's input. Pure Python."""
from .planner import AppVM, CloudVM, PlannerError


def percentile(samples, pct):
    """Nearest-rank percentile of a non-empty list of numbers."""
    if not samples:
        raise PlannerError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def planner_input(fleet, cpu_percentile=95.0):
    """fleet: [{"name", "instance_type", "app_vms": [{"name", "state", "memory_mib", "vcpus",
    "cpu_samples": [CPU % of one vCPU, ...]}]}] -> (apps, cloud_vms, placement).

    Only running app VMs are placed; a finished one holds no resources.
    """
    if not fleet:
        raise PlannerError("the inventory lists no cloud VMs to consolidate")
    if not 0 < cpu_percentile <= 100:
        raise PlannerError(f"cpu_percentile must be in (0, 100], got {cpu_percentile}")
    apps, cloud_vms, placement = [], [], {}
    for vm in fleet:
        if not vm.get("instance_type"):
            raise PlannerError(f"cloud VM {vm.get('name')!r} has no instance type in the inventory")
        cloud_vms.append(CloudVM(vm["name"], vm["instance_type"]))
        for app in vm.get("app_vms", []):
            if app.get("state") != "running":
                continue
            if app["name"] in placement:
                raise PlannerError(f"app VM {app['name']} runs on both {placement[app['name']]} and {vm['name']}")
            samples = [s for s in app.get("cpu_samples", []) if s is not None]
            cpu = percentile(samples, cpu_percentile) / 100.0 if samples else 0.0
            apps.append(AppVM(app["name"], int(app["memory_mib"]), round(cpu, 4), int(app.get("vcpus", 1))))
            placement[app["name"]] = vm["name"]
    return apps, cloud_vms, placement
