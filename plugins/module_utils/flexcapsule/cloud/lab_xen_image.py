"""The lab's Xen-ready cloud image: the plain cloud image with nested_xen's install baked in before any VM boots.

A cloud operator bakes such a custom image (Ansible through chroot, as image builders do) so that new cloud VMs
boot Xen at once instead of installing it and rebooting. The bake runs nested_xen itself
(playbooks/bake_image.yml, nested_xen_target=image) on the plain image mounted here, then writes GRUB's menu
with Xen first (roles/lab_cloud/files/xen-image). site.yml still runs the whole role on every VM booted from it:
it finds Xen installed and running and converges without a reboot. Cached by a hash of the plain image, the bake's
variables and every file the bake runs (BAKE_INPUTS).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .lab_image import (ImageBuildError, digest_files, filesystem_uuid, loop_device, mount_points, progress,
                        publish_image)

BAKE_VERSION = "1"
# What the bake runs, relative to the project: the role, the module its asserts call (and the toolstack wrapper that
# module uses), the connection that reaches into the image, the playbook and the GRUB step after it.
BAKE_INPUTS = ("roles/nested_xen", "plugins/modules/nested_xen_host_info.py", "plugins/module_utils/flexcapsule/xl.py",
               "plugins/connection/image_chroot.py", "playbooks/bake_image.yml", "roles/lab_cloud/files/xen-image")
# Keeps services from starting inside the chroot while packages install (Debian's policy-rc.d convention).
POLICY_RC_D = "#!/bin/sh\n# written by the lab's image bake, removed after it\nexit 101\n"


def xen_image_hash(base_image, project_dir, extra_vars):
    project = Path(project_dir)
    digest = hashlib.sha256(f"{BAKE_VERSION}:{Path(base_image).name}:".encode())
    digest.update(json.dumps(extra_vars, sort_keys=True).encode())
    for part in BAKE_INPUTS:
        digest_files(digest, project / part, project)
    return digest.hexdigest()[:16]


def _ansible_playbook():
    beside = Path(sys.executable).with_name("ansible-playbook")
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    if not found:
        raise ImageBuildError("ansible-playbook not found (beside this Python or on PATH): run `make setup`")
    return found


def _bake(root, project, extra_vars, log_path, start):
    argv = [_ansible_playbook(), "-i", f"{root},", str(project / "playbooks" / "bake_image.yml"),
            "-e", json.dumps(extra_vars)]
    env = {**os.environ, "ANSIBLE_CONFIG": str(project / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "LANG": "C.UTF-8"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        task = ""
        for line in proc.stdout:
            log.write(line)
            if line.startswith("TASK ["):
                task = line.strip(" *\n")[len("TASK ["):-1]
            elif line.startswith(("ok:", "changed:", "fatal:")) and task:
                progress(start, f"bake: {task}: {line.split(':', 1)[0]}")
                task = ""
    if proc.wait() != 0:
        tail = Path(log_path).read_text().splitlines()[-30:]
        raise ImageBuildError(f"baking nested_xen into the image failed (rc={proc.returncode}), "
                              f"log {log_path}:\n" + "\n".join(tail))


def build_xen_image(base_image, project_dir, cache_dir, extra_vars):
    """Returns (path to the cached Xen-ready qcow2 image, whether it was built now)."""
    project, cache_dir = Path(project_dir), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    base_stem = Path(base_image).name.removesuffix(".qcow2")
    image = cache_dir / f"{base_stem}-xen-{xen_image_hash(base_image, project, extra_vars)}.qcow2"
    if image.exists():
        return image, False
    start = time.monotonic()
    progress(start, f"baking {image.name} from {Path(base_image).name} (cache miss)")
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="bake-") as work:
        work = Path(work)
        raw, root = work / "disk.raw", work / "root"
        root.mkdir()
        subprocess.run(["qemu-img", "convert", "-O", "raw", str(base_image), str(raw)], check=True)
        with loop_device(raw) as loop, mount_points() as mounts:
            mounts.mount(loop, root)
            mounts.bind_system(root)
            policy = root / "usr" / "sbin" / "policy-rc.d"
            policy.write_text(POLICY_RC_D)
            policy.chmod(0o755)
            try:
                _bake(root, project, extra_vars, cache_dir / "bake.log", start)
            finally:
                policy.unlink()
            progress(start, "bake: writing GRUB's menu with Xen first")
            script = project / "roles" / "lab_cloud" / "files" / "xen-image" / "write-grub-cfg.sh"
            shutil.copy(script, root / "tmp" / script.name)
            subprocess.run(["chroot", str(root), "/bin/sh", f"/tmp/{script.name}", filesystem_uuid(loop)],
                           check=True)
            (root / "tmp" / script.name).unlink()
        publish_image(raw, image, start)
    return image, True
