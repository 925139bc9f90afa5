"""Fast tier: consolidate.yml refuses an empty inventory before doing anything (no VMs needed)."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"


def test_empty_inventory_is_refused_with_a_clear_error(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {children: {cloud_vms: {hosts: {}}}}\n")
    report_dir = tmp_path / "report"
    proc = subprocess.run([str(PLAYBOOK), "-i", str(inventory), str(ROOT / "playbooks" / "consolidate.yml"),
                           "-e", "consolidate_report_dir=%s" % report_dir],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, ANSIBLE_FORCE_COLOR="0"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the inventory has no cloud VMs (group cloud_vms)" in proc.stdout
    assert "TASK [Plan]" not in proc.stdout and not report_dir.exists()
