import json

import pytest

from flexcapsule.planner import AppVM, CloudVM, Policy, load_catalog, plan
from flexcapsule.report import ReportError, render_report


@pytest.fixture()
def plan_dict():
    catalog = load_catalog(kind="lab")
    apps = [AppVM(f"app{i}", 128, 0.2) for i in range(4)]
    vms = [CloudVM(f"vm{i}", "lab.c8i.xlarge") for i in range(2)]
    return plan(apps, vms, {f"app{i}": f"vm{i % 2}" for i in range(4)}, catalog, Policy()).to_dict()


def test_report_files_show_costs_placement_migrations_and_gap(tmp_path, plan_dict):
    moves = [a for a in plan_dict["actions"] if a["kind"] == "migrate"]
    assert moves
    results = [{"app": a["app"], "source": a["source"], "target": a["cloud_vm"], "downtime_ms": 80 + i}
               for i, a in enumerate(moves)]
    paths = render_report(plan_dict, results, tmp_path)
    text = open(paths["markdown"]).read()
    assert f"{plan_dict['before']['cost_per_hour']:.5f}" in text and f"{plan_dict['after']['cost_per_hour']:.5f}" in text
    assert f"| {results[0]['app']} | {results[0]['source']} | {results[0]['target']} | 80 | ok |" in text
    assert "gap of the target" in text and "(moved)" in text
    assert "| app0 | 0.2 | 128 | vm0 |" in text  # each app VM's measured demand, as the planner saw it
    data = json.load(open(paths["json"]))
    assert data["downtime_ms"]["max"] == 80 + len(moves) - 1
    assert data["cost_per_hour"]["after"] < data["cost_per_hour"]["before"]
    assert open(paths["png"], "rb").read(4) == b"\x89PNG"


def test_report_rejects_incomplete_input(tmp_path, plan_dict):
    with pytest.raises(ReportError, match="lacks downtime_ms"):
        render_report(plan_dict, [{"app": "a", "source": "b", "target": "c"}], tmp_path)
    with pytest.raises(ReportError, match="plan lacks"):
        render_report({"status": "ok"}, [], tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written
