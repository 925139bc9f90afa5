"""Lab tier: the lab cloud and nested Xen on real QEMU cloud VMs (run after `make demo` brought the lab up)."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import ansible_runner
import pytest

from flexcapsule.cloud.lab import LabProvider
from flexcapsule.xl import parse_info

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab():
    provider = LabProvider()
    running = [vm for vm in provider.list_vms() if vm.state == "running"]
    assert len(running) >= 2, "the lab is not up: run `make demo` (or playbooks/main.yml) first"
    return provider


def _ssh(lab, name, *argv, timeout=120):
    return subprocess.run(lab.ssh_argv(name, list(argv)), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _xl_info(lab, name):
    out = _ssh(lab, name, "/usr/sbin/xl", "info")
    assert out.returncode == 0, out.stderr
    return parse_info(out.stdout)


def test_every_cloud_vm_runs_xen_with_memory_for_app_vms(lab):
    for vm in lab.list_vms():
        info = _xl_info(lab, vm.name)
        assert info["xen_major"] == 4, info
        assert info["free_memory"] >= 256, f"{vm.name}: only {info['free_memory']} MiB free"
        assert "dom0_mem=" in info["xen_commandline"]


def test_cloud_vms_reach_each_other_over_the_vpc_only(lab):
    vms = lab.list_vms()
    first, second = vms[0], vms[1]
    out = _ssh(lab, first.name, "ssh", "-o", "BatchMode=yes", second.address, "hostname")
    assert out.returncode == 0 and out.stdout.strip() == second.name, out.stderr
    routes = _ssh(lab, first.name, "ip", "-4", "-j", "route")
    vpc = [r for r in json.loads(routes.stdout) if r.get("dev") == "xenbr0"]
    assert vpc and all(r["dst"] == "10.77.0.0/24" for r in vpc)


def test_site_playbook_is_idempotent_through_ansible_runner(lab, tmp_path):
    result = ansible_runner.run(private_data_dir=str(tmp_path), project_dir=str(ROOT),
                                playbook=str(ROOT / "playbooks" / "site.yml"),
                                envvars={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
                                inventory=str(ROOT / "inventory" / "lab" / "hosts.yml"), quiet=True)
    assert result.rc == 0, result.stdout.read()[-3000:]
    assert result.stats["failures"] == {} and result.stats["dark"] == {}
    assert result.stats["changed"] == {}, f"second run changed something: {result.stats['changed']}"


def test_check_mode_changes_nothing(lab, tmp_path):
    before = _ssh(lab, lab.list_vms()[0].name, "sha256sum", "/etc/default/grub.d/60-nested-xen.cfg").stdout
    result = ansible_runner.run(private_data_dir=str(tmp_path), project_dir=str(ROOT),
                                playbook=str(ROOT / "playbooks" / "site.yml"), cmdline="--check",
                                envvars={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
                                extravars={"nested_xen_dom0_mem_mb": 400},
                                inventory=str(ROOT / "inventory" / "lab" / "hosts.yml"), quiet=True)
    assert result.rc == 0
    assert result.stats["changed"], "check mode with a new dom0_mem must report a change"
    after = _ssh(lab, lab.list_vms()[0].name, "sha256sum", "/etc/default/grub.d/60-nested-xen.cfg").stdout
    assert before == after


def test_a_non_grub_target_is_refused_with_a_clear_error(lab, tmp_path):
    name = lab.list_vms()[0].name
    _ssh(lab, name, "mv", "/usr/sbin/update-grub", "/usr/sbin/update-grub.away")
    try:
        result = ansible_runner.run(private_data_dir=str(tmp_path), project_dir=str(ROOT),
                                    playbook=str(ROOT / "playbooks" / "site.yml"), limit=name,
                                    envvars={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
                                    inventory=str(ROOT / "inventory" / "lab" / "hosts.yml"), quiet=True)
        output = result.stdout.read()
    finally:
        _ssh(lab, name, "mv", "/usr/sbin/update-grub.away", "/usr/sbin/update-grub")
    assert result.rc != 0
    assert "the boot loader is not GRUB" in output


def test_a_killed_lab_is_cleaned_and_absent_leaves_nothing(tmp_path):
    """A second, throwaway lab in its own namespace: crash its QEMU, recover, then remove it all."""
    lab = LabProvider(netns="flexlabtest", state_dir=tmp_path / "state", inventory_dir=tmp_path / "inventory")
    try:
        vm = lab.create_vm("crashy", "lab.c8i-flex.large")
        assert _ssh(lab, "crashy", "true").returncode == 0
        os.kill(vm.extra["pid"], signal.SIGKILL)
        time.sleep(1)
        assert lab.get_vm("crashy").state == "crashed"
        lab.cleanup_stale()
        assert lab.create_vm("crashy", "lab.c8i-flex.large").state == "running"
        assert _ssh(lab, "crashy", "hostname").stdout.strip() == "crashy"
    finally:
        lab.destroy()
    assert not Path("/run/netns/flexlabtest").exists()
    assert not (tmp_path / "state").exists()
    assert not (tmp_path / "inventory" / "hosts.yml").exists()
    leftovers = subprocess.run(["pgrep", "-f", "flexcapsule-lab:flexlabtest:"], capture_output=True, text=True)
    assert leftovers.stdout == ""
