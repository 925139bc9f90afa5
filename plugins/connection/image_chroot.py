# -*- coding: utf-8 -*-
# FlexCapsule: run tasks inside a disk image mounted on the control node, through chroot.
from __future__ import annotations

DOCUMENTATION = r"""
name: image_chroot
short_description: Run tasks inside a mounted disk image through chroot
description:
  - Runs each task inside a root filesystem mounted on the control node (a cloud image being baked), as
    C(chroot ROOT /bin/sh -c ...). The image needs C(/bin/sh) and Python; the control node runs as root.
  - The lab provider bakes its Xen-ready cloud image with it, the way an image builder bakes a custom cloud
    image with Ansible before any VM boots from it.
author: FlexCapsule
options:
  remote_addr:
    description: The mounted root directory (by default the inventory host name).
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
"""

import os
import shutil
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection import ConnectionBase


class Connection(ConnectionBase):
    transport = "image_chroot"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.root = None

    def _connect(self):
        root = os.path.abspath(self.get_option("remote_addr"))
        if not os.path.isfile(os.path.join(root, "bin", "sh")):
            raise AnsibleConnectionFailure(f"{root} is not a mounted root filesystem (no bin/sh in it)")
        if os.geteuid() != 0:
            raise AnsibleConnectionFailure("image_chroot needs root on the control node (chroot)")
        self.root = root
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        argv = ["chroot", self.root, "/bin/sh", "-c", cmd]
        self._display.vvv(f"EXEC {argv}", host=self.root)
        proc = subprocess.run(argv, input=to_bytes(in_data) if in_data else None, capture_output=True,
                              check=False, env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
        return proc.returncode, proc.stdout, proc.stderr

    def _inside(self, path):
        # a path as the chroot sees it, on the control node
        return os.path.join(self.root, os.path.normpath(path).lstrip("/"))

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        if not os.path.exists(in_path):
            raise AnsibleFileNotFound(f"file to put does not exist: {in_path}")
        shutil.copyfile(in_path, self._inside(out_path))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        source = self._inside(in_path)
        if not os.path.exists(source):
            raise AnsibleFileNotFound(f"file to fetch does not exist in the image: {in_path}")
        shutil.copyfile(source, out_path)

    def close(self):
        self._connected = False
