"""Glue between what app_vm_info gathers on each cloud VM and the planner's input. Pure Python."""
from .planner import AppVM, CloudVM, PlannerError
from .planner.demand import busy_fraction, saturated_demand


def percentile(samples, pct):
    """Nearest-rank percentile of a non-empty list of numbers."""
    if not samples:
        raise PlannerError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def planner_input(fleet, cpu_percentile=95.0, saturation_threshold=None):
    """fleet: [{"name", "instance_type", "app_vms": [{"name", "state", "memory_mib", "vcpus",
    "cpu_samples": [CPU % of one vCPU, ...]}], optionally "nr_cpus" and "cpu_busy_samples" (CPU %
    of every domain, dom0 included, over the same window)}] -> (apps, cloud_vms, placement,
    saturated).

    Only running app VMs are placed; a finished one holds no resources. saturated: {cloud VM:
    {"busy": fraction, "nr_cpus", "apps": {app VM: {"measured": vCPUs, "demand": vCPUs}}}}; on a
    cloud VM busy at or above saturation_threshold (None: off) the app VMs' demands are inferred by
    planner.demand.saturated_demand instead of taken as measured."""
    if not fleet:
        raise PlannerError("the inventory lists no cloud VMs to consolidate")
    if not 0 < cpu_percentile <= 100:
        raise PlannerError(f"cpu_percentile must be in (0, 100], got {cpu_percentile}")
    apps, cloud_vms, placement, saturated = [], [], {}, {}
    for vm in fleet:
        if not vm.get("instance_type"):
            raise PlannerError(f"cloud VM {vm.get('name')!r} has no instance type in the inventory")
        cloud_vms.append(CloudVM(vm["name"], vm["instance_type"]))
        measured, specs = {}, {}
        for app in vm.get("app_vms", []):
            if app.get("state") != "running":
                continue
            if app["name"] in placement:
                raise PlannerError(f"app VM {app['name']} runs on both {placement[app['name']]} and {vm['name']}")
            samples = [s for s in app.get("cpu_samples", []) if s is not None]
            measured[app["name"]] = round(percentile(samples, cpu_percentile) / 100.0 if samples else 0.0, 4)
            specs[app["name"]] = (int(app["memory_mib"]), int(app.get("vcpus", 1)))
            placement[app["name"]] = vm["name"]
        nr_cpus = _whole_number(vm.get("nr_cpus"), f"cloud VM {vm['name']}: nr_cpus")
        busy = busy_fraction(vm.get("cpu_busy_samples") or [], nr_cpus or 0)
        inferred = saturated_demand(measured, {a: v for a, (_, v) in specs.items()}, nr_cpus or 0, busy,
                                    saturation_threshold)
        if inferred is not None:
            saturated[vm["name"]] = {"busy": round(busy, 4), "nr_cpus": nr_cpus,
                                     "apps": {a: {"measured": measured[a], "demand": inferred[a]}
                                              for a in sorted(measured)}}
        for name, (memory_mib, vcpus) in specs.items():
            cpu = measured[name] if inferred is None else inferred[name]
            apps.append(AppVM(name, memory_mib, cpu, vcpus))
    return apps, cloud_vms, placement, saturated


def _whole_number(value, what):
    """A templated fact arrives as text ("1"); None or "" stay None (not measured)."""
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise PlannerError(f"{what} must be a whole number, got {value!r}") from None
    if number <= 0:
        raise PlannerError(f"{what} must be positive, got {value!r}")
    return number


def saturation_notes(saturated, threshold):
    """One line per saturated cloud VM for the plan's notes."""
    notes = []
    for vm, info in sorted(saturated.items()):
        raised = ", ".join(f"{a} {d['measured']:.3f} -> {d['demand']:.3f}"
                           for a, d in info["apps"].items() if d["demand"] > d["measured"])
        notes.append(f"saturated: {vm} was {100 * info['busy']:.0f} % busy (dom0 included; threshold "
                     f"{100 * threshold:.0f} %) on {info['nr_cpus']} vCPU, so its app VMs' demand is inferred, "
                     f"not measured (vCPUs: {raised or 'none raised'})")
    return notes


def flag_saturation(plan_dict, saturated, threshold):
    """Mark a plan (Plan.to_dict()) with what planner_input inferred: `saturated` per cloud VM, a
    note each, and "source saturated" on the reason of every move off one."""
    plan_dict["saturated"] = saturated
    plan_dict["notes"] = saturation_notes(saturated, threshold) + list(plan_dict.get("notes", []))
    for action in plan_dict.get("actions", []):
        if action.get("kind") == "migrate" and action.get("source") in saturated:
            action["reason"] = (action.get("reason", "") + "; source saturated").lstrip("; ")
    return plan_dict
