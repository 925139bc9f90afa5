#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Ansible module: one cloud VM through the provider interface (how consolidate.yml scales in and out)."""

DOCUMENTATION = r"""
---
module: cloud_vm
short_description: Provision or terminate one cloud VM through FlexCapsule's cloud provider interface
description:
  - Starts a cloud VM of a catalog instance type and waits until it accepts SSH, or terminates one.
  - The provider is chosen by I(provider); C(lab) emulates the cloud with QEMU on the control node. A real
    cloud's driver implements the same interface (C(flexcapsule.cloud.provider.CloudProvider)).
  - A running cloud VM is never resized: asking for another type of an existing name is an error.
options:
  name:
    description: Cloud VM name.
    type: str
    required: true
  instance_type:
    description: Instance type (for the lab, a C(lab_types) entry of the catalog). Required with I(state=present).
    type: str
  state:
    description: Whether the cloud VM should exist.
    type: str
    choices: [present, absent]
    default: present
  provider:
    description: Cloud provider driver.
    type: str
    choices: [lab]
    default: lab
  project_dir:
    description: The FlexCapsule checkout (catalog, lab image recipe, inventory).
    type: path
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: FlexCapsule
"""

EXAMPLES = r"""
- name: Scale out by one cloud VM
  cloud_vm:
    name: cloud3
    instance_type: lab.c8i.large
    project_dir: "{{ playbook_dir | dirname }}"
  delegate_to: localhost

- name: Terminate an emptied cloud VM
  cloud_vm:
    name: cloud3
    state: absent
    project_dir: "{{ playbook_dir | dirname }}"
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The cloud VM after the run (empty when absent).
  returned: always
  type: dict
connection:
  description: Ansible connection variables that reach the cloud VM.
  returned: when state is present
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule.cloud.lab import LabProvider
from ansible.module_utils.flexcapsule.cloud.provider import CloudError, validate_name
from ansible.module_utils.flexcapsule.planner.model import PlannerError

PROVIDERS = {"lab": LabProvider}


class CloudVMManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.actions = []
        self.provider = PROVIDERS[self.params["provider"]](project_dir=self.params["project_dir"])

    def run(self):
        name = validate_name(self.params["name"])
        vm = self.provider.get_vm(name)
        before = vm.to_dict() if vm else {}
        getattr(self, f"_{self.params['state']}")(name, vm)
        vm = before if self.module.check_mode else (self.provider.get_vm(name) or {})
        after = vm if isinstance(vm, dict) else vm.to_dict()
        result = {"changed": bool(self.actions), "actions": self.actions, "vm": after,
                  "diff": {"before": before, "after": after}}
        if after and not isinstance(vm, dict):
            result["connection"] = self.provider.connection_vars(vm)
        self.module.exit_json(**result)

    def _present(self, name, vm):
        itype = self.params["instance_type"]
        if not itype:
            raise CloudError("instance_type is required with state=present")
        self.provider.instance_type(itype)
        if vm and vm.instance_type != itype:
            raise CloudError(f"cloud VM {name} is a {vm.instance_type}; it cannot become a {itype} in place")
        if vm and vm.state == "running":
            return
        self.actions.append(f"{'restart' if vm else 'create'} {name} ({itype})")
        if not self.module.check_mode:
            self.provider.create_vm(name, itype)

    def _absent(self, name, vm):
        if vm is None:
            return
        self.actions.append(f"terminate {name}")
        if not self.module.check_mode:
            self.provider.delete_vm(name)


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "instance_type": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "provider": {"type": "str", "choices": list(PROVIDERS), "default": "lab"},
            "project_dir": {"type": "path", "required": True},
        },
        required_if=[("state", "present", ["instance_type"])],
        supports_check_mode=True,
    )
    try:
        CloudVMManager(module).run()
    except (CloudError, PlannerError) as err:
        module.fail_json(msg=str(err))


if __name__ == "__main__":
    main()
