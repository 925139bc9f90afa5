"""Trace replay on a small synthetic trace directory written by the test."""
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flexcapsule.planner import load_catalog
from flexcapsule.planner import replay as R
from flexcapsule.planner import replay_policies as P

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(kind="cloud")


def write_traces(directory: Path, n_apps=40, samples=36, seed=7):
    """Apps with a daily-ish wave plus noise, CPU % of one vCPU, one integer per line."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(n_apps):
        base, amp, phase = rng.uniform(5, 40), rng.uniform(0, 30), rng.uniform(0, 6.3)
        values = [max(0, min(99, int(base + amp * math.sin(phase + t / 6) + rng.gauss(0, 5))))
                  for t in range(samples)]
        (directory / f"node{i:03d}_slice").write_text("\n".join(map(str, values)) + "\n")
    return directory


@pytest.fixture()
def traces(tmp_path):
    return R.load_traces(str(write_traces(tmp_path / "day1")))


def test_app_size_is_a_stable_function_of_the_name():
    assert R.app_size("node001_slice") == R.app_size("node001_slice")
    sizes = {R.app_size(f"n{i}") for i in range(200)}
    assert sizes == set(R.APP_SIZES)


def test_fluid_lower_bound_by_hand(traces):
    memory_gib = traces.memory_mib.sum() / 1024
    expected = sum(max(d * 0.08902 / 2, memory_gib * 0.13197 / 16) for d in traces.cpu.sum(axis=0)) * 5 / 60
    assert R.fluid_lower_bound(traces, CATALOG) == pytest.approx(expected)


def test_ours_plans_with_its_forecast_error_as_cpu_stddev(traces):
    ours = P.PlannerReplay(traces, CATALOG, P.DEFAULT_POLICY)
    assert P.DEFAULT_POLICY.headroom_stddevs > 0
    assert not ours.forecast_stddev(0, traces.cpu[:, :0]).any()
    spread = ours.forecast_stddev(10, traces.cpu[:, :10].copy())
    assert spread.shape == (len(traces.names),) and (spread > 0).all()
    assert not P.ClairvoyantReplay(traces, CATALOG, P.CLAIRVOYANT_POLICY).forecast_stddev(10, traces.cpu[:, :10]).any()


def test_every_policy_replays_with_sane_figures(traces):
    bound = R.fluid_lower_bound(traces, CATALOG)
    results = {p.name: R.replay(p, traces, CATALOG, bound) for p in P.make_policies(traces, CATALOG)}
    assert set(results) == {"ours", "one-per-vm", "static-peak", "thr-mmt", "clairvoyant"}
    for name in ("one-per-vm", "static-peak"):  # never overcommit: no violation, cost above the bound
        assert results[name].sla_violation == 0 and results[name].cost >= bound
        assert results[name].migrations == 0
    assert results["ours"].cost < results["static-peak"].cost < results["one-per-vm"].cost
    for r in results.values():
        assert 0 <= r.sla_violation <= r.sla_violation_host <= 1
        assert r.to_dict()["cost_ratio"] == pytest.approx(r.cost / bound, rel=1e-3)


@pytest.mark.parametrize("policy_name", ["ours", "thr-mmt"])
def test_a_policy_cannot_see_the_future(tmp_path, policy_name):
    t0 = 20
    first = R.load_traces(str(write_traces(tmp_path / "a")))
    second = R.load_traces(str(write_traces(tmp_path / "b")))
    second.cpu[:, t0:] = np.where(second.cpu[:, t0:] > 0.5, 0.0, 0.95)  # rewrite the future
    runs = []
    for tr in (first, second):
        (policy,) = P.make_policies(tr, CATALOG, [policy_name])
        runs.append(R.replay(policy, tr, CATALOG, 1.0).decisions)
    for t in range(t0 + 1):
        assert runs[0][t].placement == runs[1][t].placement and runs[0][t].vm_type == runs[1][t].vm_type
    assert any(runs[0][t].placement != runs[1][t].placement for t in range(t0 + 1, len(runs[0])))


def test_the_clairvoyant_reference_does_see_the_interval_it_plans(tmp_path):
    t0 = 20
    first = R.load_traces(str(write_traces(tmp_path / "a")))
    second = R.load_traces(str(write_traces(tmp_path / "b")))
    second.cpu[:, t0] = 0.95
    runs = [R.replay(P.make_policies(tr, CATALOG, ["clairvoyant"])[0], tr, CATALOG, 1.0).decisions
            for tr in (first, second)]
    assert runs[0][t0 - 1].placement == runs[1][t0 - 1].placement
    assert runs[0][t0].vm_type != runs[1][t0].vm_type


def test_fair_share_shortfall():
    assert R.shortfall(np.array([0.5, 0.5]), 2.0) == (0, False)
    # 3 vCPU asked of 2: max-min fair share is 0.1, 0.95, 0.95 -> the two big ones fall short.
    assert R.shortfall(np.array([0.1, 1.45, 1.45]), 2.0) == (2, True)
    assert R.shortfall(np.array([0.9, 0.9, 0.9]), 2.0) == (3, True)


def test_replay_tool_prints_json_lines_and_writes_csv_and_png(tmp_path):
    write_traces(tmp_path / "traces" / "d1", n_apps=15, samples=12)
    write_traces(tmp_path / "traces" / "d2", n_apps=15, samples=12, seed=8)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "replay_traces.py"), "--traces",
                           str(tmp_path / "traces"), "--json", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {(r["day"], r["policy"]) for r in rows} >= {("d1", "ours"), ("d2", "thr-mmt"), ("all", "clairvoyant")}
    for row in rows:
        for key in ("policy", "cost", "lower_bound", "sla_violation", "migrations", "max_plan_seconds"):
            assert key in row
    assert "d1 ours" in proc.stderr  # progress
    assert (out / "results.csv").read_text().startswith("day,policy,cost")
    assert (out / "policies.png").read_bytes()[:4] == b"\x89PNG"


def test_replay_tool_rejects_a_missing_day(tmp_path):
    write_traces(tmp_path / "d1", n_apps=3, samples=4)
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "replay_traces.py"), "--traces", str(tmp_path),
                           "--days", "nope"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "no day directory nope" in proc.stderr
