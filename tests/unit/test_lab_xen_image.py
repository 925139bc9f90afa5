"""Fast tier: the Xen-ready lab image's parts that run without a VM: the bake's cache key, the chroot connection
Ansible bakes through, and the GRUB menu written in the chroot (in a throwaway root made of this host's /usr)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flexcapsule.cloud.lab import LabProvider
from flexcapsule.cloud.lab_xen_image import BAKE_INPUTS, xen_image_hash
from flexcapsule.cloud.provider import CloudError

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


@pytest.fixture
def project(tmp_path):
    """The files the bake depends on, copied so a test may change them."""
    copy = tmp_path / "project"
    for part in BAKE_INPUTS:
        source, target = ROOT / part, copy / part
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    return copy


def test_the_xen_image_is_baked_again_when_anything_the_bake_runs_or_its_variables_change(project):
    base = "/cache/bookworm-cloud-0123.qcow2"
    variables = {"flexcapsule_dom0_memory_mib": 384}
    before = xen_image_hash(base, project, variables)
    assert xen_image_hash(base, project, variables) == before
    assert xen_image_hash("/cache/bookworm-cloud-4567.qcow2", project, variables) != before
    assert xen_image_hash(base, project, {"flexcapsule_dom0_memory_mib": 512}) != before
    for part in ("roles/nested_xen/templates/grub-xen.cfg.j2", "playbooks/bake_image.yml",
                 "roles/lab_cloud/files/xen-image/write-grub-cfg.sh", "plugins/modules/nested_xen_host_info.py",
                 "plugins/module_utils/flexcapsule/xl.py", "plugins/connection/image_chroot.py"):
        path = project / part
        original = path.read_text()
        path.write_text(original + "\n# changed\n")
        assert xen_image_hash(base, project, variables) != before, part
        path.write_text(original)
    assert xen_image_hash(base, project, variables) == before


def test_an_unknown_lab_image_is_refused_by_name(tmp_path):
    with pytest.raises(CloudError, match="unknown lab image 'ubuntu'"):
        LabProvider(project_dir=ROOT, state_dir=tmp_path / "state", image="ubuntu")


@pytest.fixture
def chroot_root(tmp_path):
    """A root filesystem to chroot into: this host's /usr and /etc bound read-only, the rest its own."""
    if os.geteuid() != 0:
        pytest.fail("the chroot tests need root, as the lab does")
    root = tmp_path / "root"
    mounted = []
    for name in ("usr", "etc", "proc", "dev"):
        (root / name).mkdir(parents=True)
        subprocess.run(["mount", "--bind", f"/{name}", str(root / name)], check=True)
        mounted.append(root / name)
        if name in ("usr", "etc"):
            subprocess.run(["mount", "-o", "remount,bind,ro", str(root / name)], check=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        if Path(f"/{link}").is_symlink():
            (root / link).symlink_to(os.readlink(f"/{link}"))
    for name in ("tmp", "root", "boot/grub", "etc-default"):
        (root / name).mkdir(parents=True, exist_ok=True)
    try:
        yield root
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", str(path)], check=False)


def ansible_adhoc(root, module, args):
    """Runs one module through image_chroot; returns the process and the module's result."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    proc = subprocess.run([str(VENV_BIN / "ansible"), "all", "-i", f"{root},", "-c", "image_chroot",
                           "-m", module, "-a", args], cwd=ROOT, env=env, capture_output=True, text=True)
    # ad-hoc output: "<host> | CHANGED => {json}"
    _, sep, result = proc.stdout.partition(" => ")
    assert sep, f"no module result in: {proc.stdout[-1000:]} {proc.stderr[-1000:]}"
    return proc, json.loads(result)


def test_tasks_through_image_chroot_act_inside_the_root_only(chroot_root):
    marker = "/tmp/flexcapsule-image-chroot-test"
    assert not Path(marker).exists()
    proc, result = ansible_adhoc(chroot_root, "ansible.builtin.copy", f"content=baked dest={marker} mode=0644")
    assert proc.returncode == 0 and result["changed"], proc.stdout[-2000:]
    assert (chroot_root / marker.lstrip("/")).read_text() == "baked"
    assert not Path(marker).exists(), "the copy landed on the control node, outside the image"
    proc, result = ansible_adhoc(chroot_root, "ansible.builtin.copy", f"content=baked dest={marker} mode=0644")
    assert proc.returncode == 0 and not result["changed"], "a second copy must find the file in place"
    fetched = chroot_root.parent / "fetched"
    proc, result = ansible_adhoc(chroot_root, "ansible.builtin.fetch", f"src={marker} dest={fetched} flat=true")
    assert proc.returncode == 0 and fetched.read_text() == "baked", proc.stdout[-2000:]


def test_image_chroot_refuses_a_directory_that_is_no_root_filesystem(tmp_path):
    proc, result = ansible_adhoc(tmp_path, "ansible.builtin.ping", "")
    assert proc.returncode != 0
    assert "is not a mounted root filesystem" in result["msg"]


def test_the_baked_grub_menu_boots_xen_first_with_the_roles_settings(chroot_root):
    boot = chroot_root / "boot"
    for name in ("xen-4.17-amd64.gz", "vmlinuz-6.1.0-50-amd64", "initrd.img-6.1.0-50-amd64"):
        (boot / name).write_bytes(b"")
    settings = chroot_root / "etc-default"
    (settings / "grub").write_text('GRUB_CMDLINE_LINUX="console=ttyS0,115200"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n')
    (settings / "grub.d").mkdir()
    (settings / "grub.d" / "60-nested-xen.cfg").write_text(
        'GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=384M,max:384M dom0_max_vcpus=1"\n'
        'GRUB_CMDLINE_LINUX_XEN_REPLACE="console=hvc0 quiet"\nGRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT=""\n')
    script = (ROOT / "roles/lab_cloud/files/xen-image/write-grub-cfg.sh").read_text()
    # The script reads /etc/default; the test root's /etc is the host's, read-only: point it at the test's files.
    (chroot_root / "tmp" / "write-grub-cfg.sh").write_text(script.replace("/etc/default", "/etc-default"))
    subprocess.run(["chroot", str(chroot_root), "/bin/sh", "/tmp/write-grub-cfg.sh", "5bfd-uuid"], check=True)
    menu = (boot / "grub" / "grub.cfg").read_text()
    first = menu.split("menuentry ")[1]
    assert first.startswith("'Debian GNU/Linux, with Xen hypervisor'")
    assert "multiboot2 /boot/xen-4.17-amd64.gz placeholder  dom0_mem=384M,max:384M dom0_max_vcpus=1" in first
    assert "module2 /boot/vmlinuz-6.1.0-50-amd64 placeholder root=UUID=5bfd-uuid ro console=hvc0 quiet" in first
    assert "module2 --nounzip /boot/initrd.img-6.1.0-50-amd64" in first
    assert "search --no-floppy --fs-uuid --set=root 5bfd-uuid" in menu
