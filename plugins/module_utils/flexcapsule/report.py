"""Render the report of one consolidation run: Markdown, JSON and a PNG of the placement.

Input: the planner's Plan.to_dict() and the results of the migrations that were executed, each a
dict with at least app, source, target and downtime_ms (plus optional status, duration_s)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence


class ReportError(ValueError):
    """The plan or migration results cannot be rendered."""


REQUIRED_PLAN_KEYS = ("status", "before", "after", "actions", "lower_bound", "gap")


def _check(plan: dict, migrations: Sequence[dict]) -> None:
    if not isinstance(plan, dict):
        raise ReportError("plan must be a dict (Plan.to_dict())")
    missing = [k for k in REQUIRED_PLAN_KEYS if k not in plan]
    if missing:
        raise ReportError(f"plan lacks {', '.join(missing)}")
    for i, m in enumerate(migrations):
        lacks = [k for k in ("app", "source", "target", "downtime_ms") if k not in m]
        if lacks:
            raise ReportError(f"migration result {i} lacks {', '.join(lacks)}")


def summary(plan: dict, migrations: Sequence[dict]) -> dict:
    """The report as data: what the JSON file holds and the Markdown shows."""
    _check(plan, migrations)
    planned = [a for a in plan["actions"] if a["kind"] == "migrate"]
    downtimes = [float(m["downtime_ms"]) for m in migrations if m.get("downtime_ms") is not None]
    return {
        "status": plan["status"],
        "solver": plan.get("solver"),
        "cost_per_hour": {"before": plan["before"]["cost_per_hour"], "after": plan["after"]["cost_per_hour"]},
        "lower_bound_per_hour": plan["lower_bound"],
        "lower_bound_method": plan.get("lower_bound_method", ""),
        "gap": plan["gap"],
        "cloud_vms": {"before": plan["before"]["cloud_vms"], "after": plan["after"]["cloud_vms"]},
        "placement": {"before": plan["before"]["placement"], "after": plan["after"]["placement"]},
        "demand": plan.get("apps", {}),
        "saturated": plan.get("saturated", {}),
        "actions": plan["actions"],
        "migrations_planned": len(planned),
        "migrations_executed": [dict(m) for m in migrations],
        "migrations_failed": sum(1 for m in migrations if m.get("status", "ok") != "ok"),
        "downtime_ms": {"max": max(downtimes) if downtimes else None,
                        "total": sum(downtimes) if downtimes else 0.0},
        "plan_seconds": plan.get("plan_seconds"),
        "notes": plan.get("notes", []),
    }


def _markdown(data: dict, picture: Optional[str]) -> str:
    cost = data["cost_per_hour"]
    lines = ["# Consolidation run", "",
             f"Status: **{data['status']}** (solver: {data['solver']})", "",
             "| | before | after |", "|---|---|---|",
             f"| cost per hour ($) | {cost['before']:.5f} | {cost['after']:.5f} |",
             f"| cloud VMs | {len(data['cloud_vms']['before'])} | {len(data['cloud_vms']['after'])} |", "",
             f"Lower bound: {data['lower_bound_per_hour']:.5f} $/h ({data['lower_bound_method']}); "
             f"gap of the target: {100 * data['gap']:.1f} %.", ""]
    if picture:
        lines += [f"![placement before and after]({picture})", ""]
    lines += ["## Placement", "", "| app VM | CPU demand (vCPUs) | memory (MiB) | before | after |",
              "|---|---|---|---|---|"]
    before, after = data["placement"]["before"], data["placement"]["after"]
    inferred = {app: d for info in data["saturated"].values() for app, d in info.get("apps", {}).items()}
    for app in sorted(before):
        mark = "" if before[app] == after.get(app) else " (moved)"
        demand = data["demand"].get(app, {})
        cpu = demand.get("cpu", "-")
        if app in inferred:
            cpu = f"{cpu} (saturated; measured {inferred[app]['measured']})"
        lines.append(f"| {app} | {cpu} | {demand.get('memory_mib', '-')} | {before[app]} | "
                     f"{after.get(app, '-')}{mark} |")
    lines += ["", "## Actions", ""]
    if not data["actions"]:
        lines.append("None: the fleet already matches the plan.")
    for i, a in enumerate(data["actions"], 1):
        what = {"provision": f"provision {a['cloud_vm']} ({a.get('instance_type')})",
                "migrate": f"migrate {a.get('app')}: {a.get('source')} -> {a['cloud_vm']}",
                "terminate": f"terminate {a['cloud_vm']}"}.get(a["kind"], a["kind"])
        lines.append(f"{i}. {what}" + (f" — {a['reason']}" if a.get("reason") else ""))
    lines += ["", "## Migrations executed", ""]
    if not data["migrations_executed"]:
        lines.append("None.")
    else:
        lines += ["| app VM | from | to | downtime (ms) | status |", "|---|---|---|---|---|"]
        for m in data["migrations_executed"]:
            lines.append(f"| {m['app']} | {m['source']} | {m['target']} | {m['downtime_ms']} | {m.get('status', 'ok')} |")
    if data["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in data["notes"]]
    return "\n".join(lines) + "\n"


def _loads(plan: dict, side: str) -> Dict[str, List]:
    apps = plan.get("apps", {})
    per_vm: Dict[str, List] = {vm: [] for vm in plan[side]["cloud_vms"]}
    for app, vm in plan[side]["placement"].items():
        per_vm.setdefault(vm, []).append((app, apps.get(app, {}).get("cpu", 0.0)))
    return per_vm


def _picture(plan: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = plan.get("instance_types", {})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, side in zip(axes, ("before", "after")):
        per_vm = _loads(plan, side)
        names = sorted(per_vm)
        for x, vm in enumerate(names):
            vcpus = types.get(plan[side]["cloud_vms"].get(vm, ""), {}).get("vcpus", 1)
            bottom = 0.0
            for app, cpu in sorted(per_vm[vm]):
                share = cpu / vcpus
                ax.bar(x, share, bottom=bottom, edgecolor="white", linewidth=0.5)
                if share > 0.08 and len(per_vm[vm]) <= 12:
                    ax.text(x, bottom + share / 2, app, ha="center", va="center", fontsize=6)
                bottom += share
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([f"{vm}\n{plan[side]['cloud_vms'][vm]}" for vm in names], rotation=45,
                           ha="right", fontsize=7)
        ax.set_title(f"{side}: {len(names)} cloud VMs, {plan[side]['cost_per_hour']:.4f} $/h")
    axes[0].set_ylabel("CPU demand / vCPUs of the cloud VM")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def render_report(plan: dict, migrations: Sequence[dict], out_dir, name: str = "consolidation") -> Dict[str, str]:
    """Write <name>.md, <name>.json and <name>.png into out_dir; return their paths."""
    data = summary(plan, migrations)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png, md, js = out / f"{name}.png", out / f"{name}.md", out / f"{name}.json"
    _picture(plan, png)
    md.write_text(_markdown(data, png.name), encoding="utf-8")
    js.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return {"markdown": str(md), "json": str(js), "png": str(png)}
