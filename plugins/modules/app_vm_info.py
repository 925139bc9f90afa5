#!/usr/bin/python
"""Ansible module: every app VM on a cloud VM, with usage, plus the cloud VM's spare capacity."""

DOCUMENTATION = r"""
---
module: app_vm_info
short_description: List the app VMs of a cloud VM with their state and usage
description:
  - Lists every app VM (every Xen domain except dom0, plus stopped app VMs the runtime remembers) with state,
    memory, vCPUs, CPU usage measured over O(cpu_interval) seconds, uptime, image and the exit status of finished
    ones, and its network (address, gateway, MAC, bridge; for a live app VM as Xen holds it, read from
    C(xl list -l)).
  - Also returns the cloud VM's CPU count and free memory, which the placement planner consumes.
  - Read-only; finished app VMs are reported, not cleaned up.
version_added: "0.1.0"
author: FlexCapsule
options:
  name:
    description: Only report this app VM.
    type: str
  cpu_interval:
    description: Seconds between the two CPU-time samples; 0 skips CPU measurement.
    type: float
    default: 1.0
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runtime
seealso:
  - module: app_vm
"""

EXAMPLES = r"""
- name: Read app VMs and capacity
  app_vm_info:
    cpu_interval: 2
  register: app_vms

- name: Show the busy ones
  ansible.builtin.debug:
    msg: "{{ app_vms.app_vms | selectattr('cpu_percent', 'gt', 50) | map(attribute='name') }}"
"""

RETURN = r"""
app_vms:
  description: App VMs on this cloud VM.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: counter-1, image: counter, kind: flexcapsule, state: running, domid: 7, memory_mib: 32, vcpus: 1,
       cpu_percent: 3.1, uptime_s: 120, args: "", exit_status: null, exit_reason: null,
       network: {address: 10.77.0.50/24, gateway: 10.77.0.1, mac: "00:16:3e:5a:01:c2", bridge: xenbr0}}
    - {name: hello, image: hello, kind: flexcapsule, state: stopped, domid: null, memory_mib: 16, vcpus: 1,
       cpu_percent: null, uptime_s: null, args: "", exit_status: 0, exit_reason: exit, network: null}
cloud_vm:
  description:
    - Capacity of this cloud VM for the planner.
    - C(cpu_percent_used) is the app VMs' CPU % (100 = one vCPU), C(cpu_percent_dom0) dom0's and
      C(cpu_percent_busy) every domain's, dom0 included (null when O(cpu_interval) is 0); the planner
      counts a cloud VM whose busy % nears C(nr_cpus) x 100 as saturated.
  returned: always
  type: dict
  sample: {host: cloud1, nr_cpus: 1, total_memory_mib: 1023, free_memory_mib: 500, app_vm_memory_mib: 64,
           cpu_percent_used: 4.2, cpu_percent_dom0: 3.1, cpu_percent_busy: 7.3, xen_version: "4.17"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule import appvm
from ansible.module_utils.flexcapsule.runtime import RUNTIME_ARGUMENT_SPEC, Runtime
from ansible.module_utils.flexcapsule.xl import ToolstackError

ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    cpu_interval=dict(type="float", default=1.0),
    **RUNTIME_ARGUMENT_SPEC,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    runtime = Runtime(state_dir=module.params["state_dir"], image_store=module.params["image_store"])
    try:
        views, capacity = runtime.usage(module.params["name"], module.params["cpu_interval"], reap=False)
    except ToolstackError as exc:
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    except (appvm.AppVmError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, app_vms=views, cloud_vm=capacity)


if __name__ == "__main__":
    main()
