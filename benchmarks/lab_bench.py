#!/usr/bin/env python3
"""Lab benchmark: images cold and cached, lab up, cloud VM boot-to-SSH and boot-to-`xl info`, memory footprint.

Runs a throwaway lab of its own (network namespace `flexbench`), so it never touches the main lab:
  .venv/bin/python benchmarks/lab_bench.py [--count 2] [--type lab.c8i.large] [--skip-cold] [--images xen,plain]
Brings the lab up from the Xen-ready image (the default lab) and then from the plain one (nested_xen installs Xen
and reboots), side by side in one run.
Prints a table and writes results/lab_bench.csv. The machine is shared and noisy: compare figures of one run.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))

import ansible_runner  # noqa: E402

from flexcapsule.cloud.lab import LabProvider  # noqa: E402
from flexcapsule.cloud.lab_image import build_image  # noqa: E402
from flexcapsule.cloud.lab_xen_image import build_xen_image  # noqa: E402

RECIPE = ROOT / "roles" / "lab_cloud" / "files" / "image"


def timed(fn, *args, **kwargs):
    start = time.monotonic()
    value = fn(*args, **kwargs)
    return value, time.monotonic() - start


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_xl_info(lab, name, timeout=900):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = subprocess.run(lab.ssh_argv(name, ["xl", "info"]), capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
        if probe.returncode == 0:
            return True
        time.sleep(2)
    return False


def slowest_tasks(events, count=6):
    """The site.yml tasks that took longest (the slowest host's time each), from ansible-runner's events."""
    longest = {}
    for event in events:
        data = event.get("event_data", {})
        if event.get("event") in ("runner_on_ok", "runner_on_failed") and "duration" in data:
            task = data.get("task", "?")
            longest[task] = max(longest.get(task, 0.0), float(data["duration"]))
    return sorted(longest.items(), key=lambda item: -item[1])[:count]


def lab_up(kind, args, tmp, record):
    """Boots the bench lab from image `kind` and runs site.yml on it; returns the provider (lab still up), the
    specs and the seconds to Xen ready."""
    lab = LabProvider(netns="flexbench", state_dir=tmp / "state", inventory_dir=tmp / "inventory", image=kind)
    specs = [{"name": f"bench{i}", "type": args.type} for i in range(1, args.count + 1)]
    (tmp / "runner").mkdir()
    lab_start = time.monotonic()
    _, seconds = timed(lab.create_vms, specs)
    record(f"[{kind}] lab up to SSH (all cloud VMs)", seconds, "s")
    for vm in lab.list_vms():
        record(f"[{kind}] boot to SSH", vm.extra["boot_to_ssh_seconds"], "s", vm.name)
    result, seconds = timed(
        ansible_runner.run, private_data_dir=str(tmp / "runner"), project_dir=str(ROOT),
        playbook=str(ROOT / "playbooks" / "site.yml"), inventory=str(tmp / "inventory" / "hosts.yml"),
        envvars={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}, quiet=True)
    if result.rc != 0:
        raise SystemExit(f"site.yml failed on the bench lab ({kind} image): rc={result.rc}")
    record(f"[{kind}] site.yml", seconds, "s")
    for task, task_seconds in slowest_tasks(result.events):
        record(f"[{kind}]   task: {task}", task_seconds, "s")
    up = time.monotonic() - lab_start
    record(f"[{kind}] lab up with Xen ready (cached image)", up, "s")
    return lab, specs, up


def boot_with_xen(lab, specs, record):
    """Powers the cloud VMs off, starts them from their disks as the provider does after a stop, and times
    QEMU's start to SSH and to the first `xl info` that answers."""
    for vm in lab.list_vms():
        subprocess.run(lab.ssh_argv(vm.name, ["systemctl", "poweroff"]), capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while any(vm.state == "running" for vm in lab.list_vms()):
        if time.monotonic() > deadline:
            raise SystemExit("the bench cloud VMs did not power off within 300 s")
        time.sleep(1)
    boot_start = time.monotonic()
    lab.create_vms(specs)
    for vm in lab.list_vms():
        record("boot to SSH (Xen installed)", vm.extra["boot_to_ssh_seconds"], "s", vm.name)
    for vm in lab.list_vms():
        if not wait_xl_info(lab, vm.name):
            raise SystemExit(f"{vm.name}: no xl info after boot")
        record("boot to xl info", time.monotonic() - boot_start, "s", vm.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2)
    parser.add_argument("--type", default="lab.c8i.large")
    parser.add_argument("--skip-cold", action="store_true", help="do not rebuild the images from nothing")
    parser.add_argument("--images", default="xen,plain",
                        help="lab images to bring the lab up from, in turn (xen: baked, the default lab; plain)")
    args = parser.parse_args()
    kinds = [kind for kind in args.images.split(",") if kind]
    # ansible-runner starts ansible-playbook from PATH: the one beside this interpreter (the project's venv).
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    rows = []

    def record(metric, value, unit, vm=""):
        rows.append({"metric": metric, "vm": vm, "value": round(value, 1), "unit": unit})
        print(f"{metric:<44} {vm:<8} {value:9.1f} {unit}", flush=True)

    default_lab = LabProvider()
    cold = {}
    if not args.skip_cold:
        with tempfile.TemporaryDirectory(prefix="flexbench-cache-") as cold_cache:
            (base, _), cold["plain"] = timed(build_image, RECIPE, cold_cache)
            record("image build, cold (no cache)", cold["plain"], "s")
            _, seconds = timed(build_xen_image, base, ROOT, cold_cache, default_lab.group_vars())
            cold["xen"] = cold["plain"] + seconds
            record("bake of the Xen-ready image, cold", seconds, "s")
    default_lab.ensure_image()
    _, seconds = timed(default_lab.ensure_image)
    record("images, cached (plain and Xen-ready)", seconds, "s")

    for index, kind in enumerate(kinds):
        with tempfile.TemporaryDirectory(prefix="flexbench-") as tmp:
            lab = None
            try:
                lab, specs, up = lab_up(kind, args, Path(tmp), record)
                if kind in cold:
                    record(f"[{kind}] lab up with Xen ready, cold (images + lab up)", cold[kind] + up, "s")
                if index == 0:
                    footprint = sum(rss_mib(vm.extra["pid"]) for vm in lab.list_vms())
                    record("lab memory footprint (QEMU RSS)", footprint, "MiB")
                    boot_with_xen(lab, specs, record)
            finally:
                if lab:
                    lab.destroy()

    out = ROOT / "results" / "lab_bench.csv"
    out.parent.mkdir(exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["metric", "vm", "value", "unit"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
