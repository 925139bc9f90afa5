"""The migration benchmark (issue 6) in its short form, so it cannot rot: playbooks/benchmark.yml with one run of
few sizes, every kind of app. It checks the output is whole and what the benchmark claims to measure is there:
every kind and size migrated, bytes and rounds read from the stream, downtime both ways for the counter, a
dirtying memtouch needing more than one pre-copy round, and the plot."""
import csv
import os

import pytest

from test_app_vm_lifecycle import ROOT, playbook

pytestmark = pytest.mark.lab

BENCHMARK = os.path.join(ROOT, "playbooks", "benchmark.yml")
STEM = "migration_sizes_ci"
KINDS = ("counter", "memtouch-high", "linux")
SIZES = (8, 96)


def test_short_benchmark_measures_every_kind_and_size():
    results = os.path.join(ROOT, "results")
    for suffix in (".csv", "_summary.csv", ".png", ".md"):
        if os.path.exists(os.path.join(results, STEM + suffix)):
            os.remove(os.path.join(results, STEM + suffix))
    proc = playbook(BENCHMARK, "-e", "benchmark_runs=1", "-e", "benchmark_sizes=%s" % ",".join(map(str, SIZES)),
                    "-e", "benchmark_kinds=%s" % ",".join(KINDS), "-e", "benchmark_stem=%s" % STEM, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    with open(os.path.join(results, STEM + ".csv")) as handle:
        rows = {(row["kind"], int(row["memory_mib"])): row for row in csv.DictReader(handle)}
    expected = {(kind, size) for kind in KINDS for size in SIZES if not (kind == "linux" and size < 96)}
    assert set(rows) == expected
    for key, row in rows.items():
        assert int(row["bytes_sent"]) > 1 << 20, key
        assert float(row["total_s"]) > float(row["downtime_toolstack_s"]) > 0, key
        assert row["precopy_rounds"] != "", key  # the stream was understood
    assert float(rows[("counter", 8)]["downtime_guest_s"]) > 0
    # memtouch rewrites its 4 MiB faster than the link carries it: the saver must go round again.
    assert int(rows[("memtouch-high", 8)]["precopy_rounds"]) >= 2
    # Idle memory is not sent: 96 MiB configured costs the counter about what 8 MiB does.
    assert int(rows[("counter", 96)]["bytes_sent"]) < 1.5 * int(rows[("counter", 8)]["bytes_sent"])
    assert os.path.getsize(os.path.join(results, STEM + ".png")) > 10000
    with open(os.path.join(results, STEM + ".md")) as handle:
        assert "| memtouch-high | 8 |" in handle.read()
