#!/usr/bin/python
"""Ansible module: live-migrate one app VM from this cloud VM to another."""

DOCUMENTATION = r"""
---
module: app_vm_migrate
short_description: Live-migrate a FlexCapsule app VM to another cloud VM
description:
  - Live-migrates the running app VM O(name) from the cloud VM the task runs on to O(destination) with
    C(xl migrate), and reports total time, downtime and bytes sent.
  - "Preflight before anything moves: the destination answers over ssh, runs Xen and the FlexCapsule runtime,
    has the app VM's image, has enough free memory, is not this cloud VM and has no domain of that name; for an
    app VM with a network, the destination has the bridge its NIC joins and no other app VM there uses its
    address or MAC."
  - The app VM keeps its MAC and IPv4 address (C(xl migrate) carries the NIC and the kernel command line); on a
    shared L2 network (see docs/networking.md) clients keep reaching it at the same address.
  - Idempotent - an app VM that is no longer here but runs on O(destination) has already moved, so the
    module reports ok (not changed) and does nothing. A O(destination) that is the cloud VM the app VM runs on
    is refused as bad input.
  - Only one operation may change an app VM at a time; a second migration of the same app VM fails at once.
  - If the migration fails at any point the module checks that the app VM still runs here (unpausing it if
    needed) and says so in the error.
version_added: "0.1.0"
author: FlexCapsule
options:
  name:
    description: The app VM to migrate; it must be running on this cloud VM (or already on O(destination)).
    type: str
    required: true
  destination:
    description: Address (IP or DNS name) of the destination cloud VM's dom0, reachable by root ssh from here.
    type: str
    required: true
  transport:
    description:
      - C(ssh) sends the migration stream through root ssh between the dom0s (authenticated, encrypted).
      - C(tcp) sends it over plain TCP to a one-shot receiver started on the destination over ssh that accepts
        only this cloud VM's address. Faster (no cipher work) but unencrypted, so use it only on trusted
        networks such as a private VPC subnet.
    type: str
    choices: [ssh, tcp]
    default: ssh
  tcp_port:
    description: Port of the C(tcp) receiver on the destination.
    type: int
    default: 8002
  timeout:
    description: Seconds the whole migration may take.
    type: int
    default: 900
attributes:
  check_mode:
    support: full
    details: Runs the preflight only and reports C(changed) when the migration would happen.
  diff_mode:
    support: full
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runtime
seealso:
  - module: app_vm
  - module: app_vm_info
"""

EXAMPLES = r"""
- name: Move counter-1 to cloud2
  app_vm_migrate:
    name: counter-1
    destination: 10.77.0.12
  register: moved

- name: Same inside a trusted VPC, without ssh encryption
  app_vm_migrate:
    name: counter-1
    destination: 10.77.0.11
    transport: tcp
"""

RETURN = r"""
migration:
  description: >-
    What happened; timings are seconds as seen by the source. rounds and pages_per_round are read from the
    migration stream (the last round is the stop-and-copy one; a lower bound, see migration_stream.py).
    frames_relayed (app VMs with a NIC, else null) says what the source held for the app VM while it was stopped
    and delivered after the move (captured, delivered, dropped, trigger, errors; docs/networking.md).
  returned: changed and not check mode
  type: dict
  sample: {name: counter-1, source: cloud1, destination: 10.77.0.12, destination_host: cloud2, transport: ssh,
           memory_mib: 32, total_time_s: 9.8, downtime_s: 0.41, bytes_sent: 34013184, rounds: 3,
           pages_per_round: [1310, 12, 4],
           frames_relayed: {captured: 12, delivered: 12, dropped: 0, trigger: app VM heard, errors: []},
           network: {address: 10.77.0.50/24, gateway: 10.77.0.1, mac: "00:16:3e:5a:01:c2", bridge: xenbr0}}
preflight:
  description: >-
    The destination's own report (Xen, free memory, image, name in use; missing_bridges and network_conflicts for
    an app VM with a network).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule import appvm, runtime_migrate
from ansible.module_utils.flexcapsule.runtime import RUNTIME_ARGUMENT_SPEC, Runtime
from ansible.module_utils.flexcapsule.xl import ToolstackError

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    destination=dict(type="str", required=True),
    transport=dict(type="str", default="ssh", choices=list(runtime_migrate.TRANSPORTS)),
    tcp_port=dict(type="int", default=runtime_migrate.DEFAULT_TCP_PORT),
    timeout=dict(type="int", default=900),
    **RUNTIME_ARGUMENT_SPEC,
)


class AppVmMigration:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.runtime = Runtime(state_dir=self.params["state_dir"], image_store=self.params["image_store"])
        self.actions = []

    def run(self):
        name, destination = self.params["name"], self.params["destination"]
        arrived = runtime_migrate.already_on(self.runtime, name, destination)
        if arrived is not None:
            where = {"name": name, "cloud_vm": arrived.get("host")}
            return dict(changed=False, actions=self.actions, preflight=arrived, diff=dict(before=where, after=where))
        before = {"name": name, "cloud_vm": self.runtime.capacity()["host"]}
        if self.module.check_mode:
            with self.runtime.lock(name, "app_vm_migrate preflight"):
                _domain, report = runtime_migrate.preflight(self.runtime, name, destination)
            self.actions.append("migrate")
            return dict(changed=True, actions=self.actions, preflight=report,
                        diff=dict(before=before, after=dict(before, cloud_vm=report.get("host"))))
        result = runtime_migrate.migrate(self.runtime, name, destination, transport=self.params["transport"],
                                         timeout=self.params["timeout"], tcp_port=self.params["tcp_port"])
        self.actions.append("migrate")
        return dict(changed=True, actions=self.actions, migration=result,
                    diff=dict(before=before, after=dict(before, cloud_vm=result["destination_host"])))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    migration = AppVmMigration(module)
    try:
        module.exit_json(**migration.run())
    except runtime_migrate.MigrationError as exc:
        module.fail_json(msg=str(exc), actions=migration.actions, **exc.details)
    except ToolstackError as exc:
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    except (appvm.AppVmError, ValueError) as exc:
        module.fail_json(msg=str(exc), actions=migration.actions)


if __name__ == "__main__":
    main()
