#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Ansible module: build the busybox initramfs of a Linux PV app VM on the control node."""

DOCUMENTATION = r"""
---
module: linux_appvm_initramfs
short_description: Build the tiny initramfs of a Linux PV app VM
description:
  - Packs a static busybox and an init script into a gzipped newc cpio archive, reproducibly (fixed times,
    sorted entries), and writes it only when its content changes.
options:
  busybox:
    description: Path of a statically linked busybox binary.
    type: path
    default: /bin/busybox
  init:
    description: Text of the C(/init) script.
    type: str
    required: true
  dest:
    description: Where to write the archive.
    type: path
    required: true
  files:
    description:
      - More files to pack (mode 0644), e.g. kernel modules the app VM's kernel needs; parent directories are made.
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description: File on the control node.
        type: path
        required: true
      dest:
        description: Path inside the initramfs.
        type: str
        required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: partial
    details: reports the archive's checksum before and after.
author: FlexCapsule
"""

EXAMPLES = r"""
- name: Build the smoke app VM's initramfs
  linux_appvm_initramfs:
    init: "{{ lookup('ansible.builtin.file', 'init.sh') }}"
    dest: /tmp/initrd.img
  delegate_to: localhost

- name: The same, with the Xen network driver of the kernel it boots
  linux_appvm_initramfs:
    init: "{{ lookup('ansible.builtin.file', 'init.sh') }}"
    dest: /tmp/initrd-6.1.0-50-amd64.img
    files:
      - src: /tmp/modules/6.1.0-50-amd64/xen-netfront.ko
        dest: lib/modules/6.1.0-50-amd64/kernel/drivers/net/xen-netfront.ko
  delegate_to: localhost
"""

RETURN = r"""
sha256:
  description: Checksum of the archive.
  returned: always
  type: str
size:
  description: Size of the archive in bytes.
  returned: always
  type: int
"""

import errno
import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule.initramfs import busybox_initramfs


def _sha256(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def main():
    module = AnsibleModule(
        argument_spec={"busybox": {"type": "path", "default": "/bin/busybox"},
                       "init": {"type": "str", "required": True},
                       "dest": {"type": "path", "required": True},
                       "files": {"type": "list", "elements": "dict", "default": [],
                                 "options": {"src": {"type": "path", "required": True},
                                             "dest": {"type": "str", "required": True}}}},
        supports_check_mode=True,
    )
    busybox, dest = module.params["busybox"], module.params["dest"]
    try:
        with open(busybox, "rb") as handle:
            busybox_bytes = handle.read()
    except OSError as err:
        module.fail_json(msg=f"cannot read busybox at {busybox}: {err.strerror} (install busybox-static)")
    if b"\x7fELF" != busybox_bytes[:4]:
        module.fail_json(msg=f"{busybox} is not an ELF binary")
    files = {}
    for item in module.params["files"]:
        inside = item["dest"].strip("/")
        if not inside or ".." in inside.split("/"):
            module.fail_json(msg=f"files: dest {item['dest']!r} must be a path inside the initramfs")
        try:
            with open(item["src"], "rb") as handle:
                files[inside] = handle.read()
        except OSError as err:
            if module.check_mode and err.errno == errno.ENOENT:  # fetched by an earlier task, skipped in check mode
                module.exit_json(changed=True, msg=f"{item['src']} is not there yet: the archive would be built")
            module.fail_json(msg=f"cannot read {item['src']} for the initramfs: {err.strerror}")
    archive = busybox_initramfs(busybox_bytes, module.params["init"], files)
    after = hashlib.sha256(archive).hexdigest()
    before = _sha256(dest)
    changed = before != after
    if changed and not module.check_mode:
        tmp = f"{dest}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(archive)
        os.replace(tmp, dest)
    module.exit_json(changed=changed, sha256=after, size=len(archive),
                     diff={"before": {"sha256": before}, "after": {"sha256": after}})


if __name__ == "__main__":
    main()
