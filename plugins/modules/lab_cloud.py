#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Ansible module: the lab's emulated cloud (QEMU cloud VMs on a private bridge in a netns)."""

DOCUMENTATION = r"""
---
module: lab_cloud
short_description: Bring the FlexCapsule lab cloud up or tear it down
description:
  - Emulates a small cloud on the control node. Each cloud VM is a QEMU VM (TCG unless a probe proves KVM fast)
    booted from the lab's Debian cloud image through a copy-on-write overlay, sized by a lab instance type from
    C(catalog/instance_types.yml), on a private "VPC" bridge inside a network namespace the lab creates.
  - Writes C(inventory/lab/hosts.yml) with each cloud VM's address, type, capacity and price.
  - Detects and cleans what a killed lab left behind (dead QEMU records, orphan processes, taps).
  - With I(state=absent) removes every QEMU process, tap, bridge, netns, disk and the generated inventory.
options:
  state:
    description: Whether the lab should exist.
    type: str
    choices: [present, absent]
    default: present
  vms:
    description: Cloud VMs that must run. Others already in the lab are kept unless I(exclusive=true).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Cloud VM name (a-z, 0-9, '-'; starts with a letter).
        type: str
        required: true
      type:
        description: Lab instance type from the catalog's C(lab_types).
        type: str
        required: true
  exclusive:
    description: Remove cloud VMs not listed in I(vms).
    type: bool
    default: false
  project_dir:
    description: The FlexCapsule checkout (catalog, image recipe, inventory/lab).
    type: path
    required: true
  netns:
    description: Name of the network namespace holding the lab's VPC (default C(FLEXCAPSULE_LAB_NETNS) or C(flexlab)).
    type: str
  image:
    description:
      - What new cloud VMs boot from (default C(FLEXCAPSULE_LAB_IMAGE) or C(xen)).
      - C(xen) is the cloud image with nested_xen's install baked in (as a custom cloud image is), so the VMs boot
        Xen at once; C(plain) is the cloud image without Xen.
    type: str
    choices: [xen, plain]
  accel:
    description: QEMU accelerator; C(auto) probes whether KVM is really faster than TCG here.
    type: str
    choices: [auto, tcg, kvm]
    default: auto
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: FlexCapsule
"""

EXAMPLES = r"""
- name: Two cloud VMs of the smallest lab type
  lab_cloud:
    project_dir: "{{ playbook_dir | dirname }}"
    vms:
      - {name: cloud1, type: lab.c8i.large}
      - {name: cloud2, type: lab.c8i.large}

- name: Tear the lab down
  lab_cloud:
    project_dir: "{{ playbook_dir | dirname }}"
    state: absent
"""

RETURN = r"""
vms:
  description: The lab's cloud VMs after the run.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "cloud1", "instance_type": "lab.c8i.large", "address": "10.77.0.11", "state": "running",
            "vcpus": 1, "memory_mib": 1024, "price_per_hour": 0.09371}]
actions:
  description: What the run did (or would do in check mode).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule.cloud.lab import LabProvider
from ansible.module_utils.flexcapsule.cloud.provider import CloudError
from ansible.module_utils.flexcapsule.planner.model import PlannerError


class LabCloud:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.actions = []
        self.lab = LabProvider(project_dir=self.params["project_dir"], netns=self.params["netns"],
                               accel=self.params["accel"], image=self.params["image"])

    def _snapshot(self):
        return {vm.name: {"type": vm.instance_type, "state": vm.state, "address": vm.address}
                for vm in self.lab.list_vms()}

    def run(self):
        before = self._snapshot()
        getattr(self, f"_{self.params['state']}")(before)
        after = before if self.module.check_mode else self._snapshot()
        self.module.exit_json(changed=bool(self.actions), actions=self.actions,
                              vms=[vm.to_dict() for vm in self.lab.list_vms()],
                              diff={"before": {"vms": before}, "after": {"vms": after}})

    def _present(self, before):
        wanted = self.params["vms"]
        self.lab.validate_request(wanted)
        names = {spec["name"] for spec in wanted}
        extra = sorted(set(before) - names) if self.params["exclusive"] else []
        # Wanted VMs not running, and crashed VMs the lab keeps: both are (re)booted from their disks.
        boot = [spec for spec in wanted if before.get(spec["name"], {}).get("state") != "running"]
        boot += [{"name": n, "type": vm["type"]} for n, vm in sorted(before.items())
                 if vm["state"] != "running" and n not in names and n not in extra]
        self.actions += [f"remove {name}" for name in extra]
        self.actions += [f"{'restart' if s['name'] in before else 'create'} {s['name']} ({s['type']})" for s in boot]
        if self.module.check_mode:
            return
        for name in extra:
            self.lab.delete_vm(name)
        self.actions += [f"clean {item}" for item in self.lab.cleanup_stale()]
        if boot:
            self.lab.create_vms(boot)

    def _absent(self, before):
        if not before and not self.lab.network.exists() and not self.lab.state_dir.exists():
            return
        self.actions.append("destroy the lab")
        if not self.module.check_mode:
            self.actions += self.lab.destroy()


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "vms": {"type": "list", "elements": "dict", "default": [],
                    "options": {"name": {"type": "str", "required": True},
                                "type": {"type": "str", "required": True}}},
            "exclusive": {"type": "bool", "default": False},
            "project_dir": {"type": "path", "required": True},
            "netns": {"type": "str"},
            "accel": {"type": "str", "choices": ["auto", "tcg", "kvm"], "default": "auto"},
            "image": {"type": "str", "choices": ["xen", "plain"]},
        },
        supports_check_mode=True,
    )
    try:
        LabCloud(module).run()
    except (CloudError, PlannerError) as err:
        module.fail_json(msg=str(err))


if __name__ == "__main__":
    main()
