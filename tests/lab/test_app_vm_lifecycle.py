"""Lab tier: app_vm / app_vm_info on real nested Xen, for a Linux PV and a FlexCapsule OS app VM.

Helpers here are shared by tests/lab/test_capsule.py and test_migrate.py. Every domain is named m-*.
Run: .venv/bin/pytest -m lab tests/lab/test_app_vm_lifecycle.py
"""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest
import yaml
from flexcapsule.cloud.lab import LabProvider

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABCTL = os.path.join(ROOT, "tools", "labctl")
ANSIBLE_BIN = os.path.join(ROOT, ".venv", "bin")
LAB_INVENTORY = os.path.join(ROOT, "inventory", "lab", "hosts.yml")
LINUX_IMAGE = "linux-smoke"
LIBOS_IMAGE = "counter"
ADDRESS = {"cloud1": "10.77.0.11", "cloud2": "10.77.0.12"}
# The cloud VM single-host tests use (cloud1 unless FLEXCAPSULE_LAB_PRIMARY names the other).
PRIMARY = os.environ.get("FLEXCAPSULE_LAB_PRIMARY", "cloud1")


def lab_ready():
    return os.path.exists(os.path.join(ROOT, ".lab", "READY"))


@pytest.fixture(scope="session", autouse=True)
def require_lab():
    assert lab_ready(), "the lab is not up (.lab/READY missing): these tests need real Xen"


def on(cloud_vm, *argv, timeout=300, check=False):
    """Run argv as root in a cloud VM's dom0."""
    proc = subprocess.run([LABCTL, "ssh", cloud_vm, "--"] + [str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError("%s on %s failed (rc=%d): %s" % (argv, cloud_vm, proc.returncode, proc.stderr))
    return proc


def qemu_pid(cloud_vm):
    """The lab QEMU process of a cloud VM (SIGKILL it to crash the cloud VM)."""
    return LabProvider().get_vm(cloud_vm).extra["pid"]


def boot_crashed_cloud_vms():
    """lab.yml finds cloud VMs whose QEMU died and boots them again from their disks."""
    proc = playbook(os.path.join(ROOT, "playbooks", "lab.yml"), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]


def boot_again_if_down(cloud_vm):
    """Cleanup after a test that crashed cloud_vm: boot it again unless the test already did."""
    if LabProvider().get_vm(cloud_vm).state != "running":
        playbook(os.path.join(ROOT, "playbooks", "lab.yml"), timeout=900)


def capsule(cloud_vm, *argv, timeout=300):
    return on(cloud_vm, "capsule", *argv, timeout=timeout)


def playbook(path, *extra, check=False, timeout=1800):
    argv = [os.path.join(ANSIBLE_BIN, "ansible-playbook"), "-i", LAB_INVENTORY, path] + list(extra)
    if check:
        argv.append("--check")
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL)


def task(cloud_vm, module, args, check=False, timeout=900):
    """Run one module on one cloud VM through Ansible; returns its result dict."""
    with tempfile.TemporaryDirectory(prefix="m-lab-") as scratch:
        play = [{"name": "one task", "hosts": cloud_vm, "gather_facts": False,
                 "tasks": [{"name": module, module: args, "check_mode": check, "diff": True}]}]
        path = os.path.join(scratch, "play.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(play, handle)
        # verbosity 3 keeps `diff` in the recorded result
        env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="tree", ANSIBLE_CALLBACK_TREE_DIR=os.path.join(scratch, "tree"),
                   ANSIBLE_VERBOSITY="3")
        proc = subprocess.run([os.path.join(ANSIBLE_BIN, "ansible-playbook"), "-i", LAB_INVENTORY, path],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL)
        result_path = os.path.join(scratch, "tree", cloud_vm)
        assert os.path.exists(result_path), "no result from %s: %s %s" % (cloud_vm, proc.stdout[-2000:], proc.stderr)
        with open(result_path) as handle:
            result = json.load(handle)
        # The tree callback records the module's return without Ansible's own verdict; rc 2 is a failed task.
        result.setdefault("failed", proc.returncode == 2)
        return result


def app_vms(cloud_vm):
    proc = capsule(cloud_vm, "ps", "-a", "--json")
    assert proc.returncode == 0, proc.stderr
    return {view["name"]: view for view in json.loads(proc.stdout)}


def cleanup(*names):
    for cloud_vm in ADDRESS:
        for name in names:
            capsule(cloud_vm, "rm", "--force", "--timeout", "60", name)


def check_real_check(cloud_vm, module, args):
    """The pattern: check mode says changed, the real run changes, check mode again says nothing to do."""
    first = task(cloud_vm, module, args, check=True)
    assert not first.get("failed"), first
    assert first["changed"], first
    real = task(cloud_vm, module, args)
    assert not real.get("failed"), real
    assert real["changed"] and real["actions"] == first["actions"], (first, real)
    again = task(cloud_vm, module, args, check=True)
    assert not again.get("failed") and not again["changed"], again
    return real


@pytest.fixture(scope="session", autouse=True)
def runtime_installed():
    """Installs this checkout's runtime first; FLEXCAPSULE_LAB_RUNTIME=installed says it already is."""
    if os.environ.get("FLEXCAPSULE_LAB_RUNTIME") == "installed":
        return
    proc = playbook(os.path.join(ROOT, "playbooks", "deploy.yml"), "--tags", "runtime")
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.parametrize("image, memory", [(LINUX_IMAGE, 128),
                                           (LIBOS_IMAGE, 32)])
def test_full_lifecycle(image, memory):
    name = "m-life-%s" % image.replace("linux-", "l")
    cleanup(name)
    try:
        args = {"name": name, "image": image, "memory": memory}
        created = check_real_check(PRIMARY, "app_vm", dict(args, state="running"))
        assert created["actions"] == ["define", "start"]
        assert created["diff"]["before"] == {"state": "absent"} and created["diff"]["after"]["state"] == "running"
        view = app_vms(PRIMARY)[name]
        assert view["state"] == "running" and view["memory_mib"] == memory and view["image"] == image

        stopped = check_real_check(PRIMARY, "app_vm", dict(args, state="stopped", timeout=240, force_stop=True))
        assert stopped["actions"] == ["stop"]
        assert app_vms(PRIMARY)[name]["state"] == "stopped"

        started = check_real_check(PRIMARY, "app_vm", dict(args, state="running"))
        assert started["actions"] == ["start"]

        removed = check_real_check(PRIMARY, "app_vm", {"name": name, "state": "absent", "force_stop": True,
                                                        "timeout": 240})
        assert removed["actions"] == ["stop", "remove"]
        assert name not in app_vms(PRIMARY)
        assert name not in on(PRIMARY, "xl", "list").stdout
    finally:
        cleanup(name)


def test_bad_input_changes_nothing():
    name = "m-bad"
    cleanup(name)
    try:
        before = on(PRIMARY, "xl", "list", check=True).stdout.splitlines()[1:]
        cases = [
            ({"name": name, "image": "no-such-image"}, "unknown image 'no-such-image'"),
            ({"name": name, "image": LINUX_IMAGE, "memory": "8G"}, "more than this cloud VM can give"),
            ({"name": "M_bad", "image": LINUX_IMAGE}, "invalid app VM name"),
            ({"name": name, "image": LINUX_IMAGE, "memory": "12X"}, "invalid memory size"),
            ({"name": name, "image": LINUX_IMAGE, "vcpus": 999}, "invalid vcpus"),
        ]
        for args, message in cases:
            for check in (True, False):
                result = task(PRIMARY, "app_vm", args, check=check)
                assert result.get("failed") and message in result["msg"], (args, result)
        assert name not in app_vms(PRIMARY)
        assert [line.split()[0] for line in on(PRIMARY, "xl", "list").stdout.splitlines()[1:]] == \
            [line.split()[0] for line in before]
    finally:
        cleanup(name)


def test_name_clash_is_refused_unless_replace():
    name = "m-clash"
    cleanup(name)
    try:
        assert task(PRIMARY, "app_vm", {"name": name, "image": LINUX_IMAGE, "memory": 128})["changed"]
        domid = app_vms(PRIMARY)[name]["domid"]
        clash = task(PRIMARY, "app_vm", {"name": name, "image": LINUX_IMAGE, "memory": 160})
        assert clash.get("failed") and "name clash" in clash["msg"] and "memory_mib" in clash["msg"]
        assert app_vms(PRIMARY)[name]["domid"] == domid  # untouched
        replaced = task(PRIMARY, "app_vm", {"name": name, "image": LINUX_IMAGE, "memory": 160, "replace": True,
                                             "force_stop": True, "timeout": 240})
        assert replaced["actions"] == ["stop", "remove", "define", "start"]
        assert app_vms(PRIMARY)[name]["memory_mib"] == 160
    finally:
        cleanup(name)


def test_info_reports_usage_capacity_and_exit_status():
    name = "m-info"
    cleanup(name)
    try:
        assert task(PRIMARY, "app_vm", {"name": name, "image": LINUX_IMAGE, "memory": 128})["changed"]
        time.sleep(5)
        info = task(PRIMARY, "app_vm_info", {"cpu_interval": 3})
        assert not info["changed"]
        view = {v["name"]: v for v in info["app_vms"]}[name]
        assert view["state"] == "running" and view["image"] == LINUX_IMAGE and view["kind"] == "linux"
        assert view["cpu_percent"] is not None and 0 <= view["cpu_percent"] <= 100
        assert view["uptime_s"] >= 1 and view["memory_mib"] == 128 and view["vcpus"] == 1
        assert info["cloud_vm"]["nr_cpus"] >= 1 and info["cloud_vm"]["free_memory_mib"] > 0
        assert task(PRIMARY, "app_vm", {"name": name, "state": "stopped", "timeout": 240})["changed"]
        finished = {v["name"]: v for v in task(PRIMARY, "app_vm_info", {"cpu_interval": 0})["app_vms"]}[name]
        assert finished["state"] == "stopped" and finished["exit_status"] == 0 and finished["exit_reason"] == "poweroff"
    finally:
        cleanup(name)


def test_deploy_twice_second_run_changes_nothing():
    names = ["m-deploy-l", "m-deploy-c"]
    cleanup(*names)
    declared = {"flexcapsule_app_vms": [
        {"name": names[0], "cloud_vm": "cloud1", "image": LINUX_IMAGE, "memory": "128M"},
        {"name": names[1], "cloud_vm": "cloud2", "image": LIBOS_IMAGE, "memory": 32}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(declared, handle)
    try:
        deploy = os.path.join(ROOT, "playbooks", "deploy.yml")
        first = playbook(deploy, "-e", "@" + handle.name)
        assert first.returncode == 0, first.stdout[-3000:]
        assert names[0] in app_vms("cloud1") and app_vms("cloud2")[names[1]]["state"] == "running"
        second = playbook(deploy, "-e", "@" + handle.name)
        assert second.returncode == 0, second.stdout[-3000:]
        recap = [line for line in second.stdout.splitlines() if line.startswith(("cloud1", "cloud2"))]
        assert recap and all("changed=0" in line for line in recap), second.stdout[-2000:]
    finally:
        os.unlink(handle.name)
        cleanup(*names)


@pytest.mark.lab_destructive
def test_an_app_vm_run_just_before_its_cloud_vm_crashes_is_still_known_after():
    """`capsule run` returns, and at once the cloud VM's QEMU is SIGKILLed: its page cache is lost. Booted again,
    the cloud VM must still know the app VM (records are synced before `capsule run` returns) and deploy can start
    it again."""
    name = "m-crash-rec"
    cleanup(name)
    try:
        pid = qemu_pid(PRIMARY)
        run = capsule(PRIMARY, "run", "-d", "--name", name, "--memory", "32", LIBOS_IMAGE)
        os.kill(pid, signal.SIGKILL)
        assert run.returncode == 0, run.stderr
        boot_crashed_cloud_vms()
        view = app_vms(PRIMARY).get(name)
        assert view is not None, "%s's records did not survive the crash of %s" % (name, PRIMARY)
        assert "record_error" not in view, view["record_error"]
        assert view["state"] == "stopped" and view["image"] == LIBOS_IMAGE and view["memory_mib"] == 32, view
        started = task(PRIMARY, "app_vm", {"name": name, "image": LIBOS_IMAGE, "memory": 32})
        assert not started.get("failed") and started["actions"] == ["start"], started
    finally:
        boot_again_if_down(PRIMARY)
        cleanup(name)
