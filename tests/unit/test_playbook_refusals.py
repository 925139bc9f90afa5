"""Fast tier: playbooks refuse bad input before doing anything (no VMs needed)."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"


def playbook(inventory, name, *extra):
    return subprocess.run([str(PLAYBOOK), "-i", str(inventory), str(ROOT / "playbooks" / name), *extra],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, ANSIBLE_FORCE_COLOR="0"))


def test_consolidate_refuses_an_empty_inventory(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {children: {cloud_vms: {hosts: {}}}}\n")
    report_dir = tmp_path / "report"
    proc = playbook(inventory, "consolidate.yml", "-e", "consolidate_report_dir=%s" % report_dir)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the inventory has no cloud VMs (group cloud_vms)" in proc.stdout
    assert "TASK [Plan]" not in proc.stdout and not report_dir.exists()


def test_benchmark_refuses_malformed_settings_before_migrating(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {hosts: {}}\n")
    for bad in (["-e", "benchmark_runs=0"], ["-e", "benchmark_sizes=8;rm"], ["-e", "benchmark_kinds=Counter"]):
        proc = playbook(inventory, "benchmark.yml", *bad)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "benchmark_runs must be >= 1" in proc.stdout and "TASK [Migrate every kind" not in proc.stdout
