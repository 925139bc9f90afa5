"""Fast tier: playbooks refuse bad input before doing anything (no VMs needed)."""
import json
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


def test_consolidate_plan_flags_saturation_and_refuses_a_bad_threshold(tmp_path):
    # The module on the control node, with a fleet as consolidate.yml gathers it (nr_cpus as text).
    fleet = [{"name": "cloud3", "instance_type": "lab.c8i-flex.large", "nr_cpus": "1",
              "cpu_busy_samples": [99.6, 99.8, None],
              "app_vms": [{"name": f"load-{i}", "state": "running", "memory_mib": 32, "vcpus": 1,
                           "cpu_samples": [42.0, 41.5]} for i in (1, 2)]}]
    book = tmp_path / "plan.yml"
    book.write_text(f"""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - consolidate_plan:
        fleet: {json.dumps(fleet)}
        catalog: {ROOT / 'catalog' / 'instance_types.yml'}
      register: planned
    - ansible.builtin.assert:
        that:
          - planned.plan.saturated.cloud3.apps['load-1'].demand == 0.5
          - planned.plan.actions | selectattr('kind', 'equalto', 'migrate') | list | length == 1
        quiet: true
    - consolidate_plan:
        fleet: {json.dumps(fleet)}
        policy: {{saturation_threshold: 1.5}}
        catalog: {ROOT / 'catalog' / 'instance_types.yml'}
""")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {hosts: {localhost: {ansible_python_interpreter: %s}}}\n" % (ROOT / ".venv/bin/python"))
    proc = playbook(inventory, str(book))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ok: [localhost]" in proc.stdout, proc.stdout  # the first plan and its assertions passed
    assert "saturation_threshold must be in [0.5, 1.0]" in proc.stdout, proc.stdout
