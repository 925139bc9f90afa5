#!/usr/bin/python
"""Ansible module: one app VM on the cloud VM's Xen, from the local image store."""

DOCUMENTATION = r"""
---
module: app_vm
short_description: Manage a FlexCapsule app VM (a Xen PV guest) on a cloud VM
description:
  - Creates, starts, stops, restarts, pauses and removes one app VM in the dom0 of the cloud VM the task runs on.
  - The app VM boots an image from the cloud VM's image store (C(/var/lib/flexcapsule/images/<image>/)), either a
    FlexCapsule OS image or a Linux PV image.
  - Definitions and exit statuses are kept under O(state_dir), shared with the C(capsule) command.
  - An existing app VM with the same name but a different image, memory, vcpus, args or network is a name clash
    and is refused unless O(replace=true).
version_added: "0.1.0"
author: FlexCapsule
options:
  name:
    description: App VM name (and Xen domain name); 1-48 lowercase letters, digits and C(-).
    type: str
    required: true
  image:
    description:
      - Image in the image store. Required to create the app VM; defaults to the existing one's.
    type: str
  memory:
    description:
      - Memory in MiB, or a size such as C(64M) or C(1G). Defaults to the image's C(memory_mib), which is also the
        minimum. Must fit in the cloud VM's free memory when the app VM starts.
    type: raw
  vcpus:
    description: Number of virtual CPUs. Defaults to 1 (or the existing definition's).
    type: int
  args:
    description: Arguments for the app, appended to the image's kernel command line (a string or a list).
    type: raw
  network:
    description:
      - One PV NIC (a Xen vif) on a bridge of the cloud VM, with a static IPv4 address. Defaults to the existing
        app VM's network; without one the app VM has no NIC. An empty dict (C({})) removes the network.
      - The NIC is written to the xl config as C(vif = ["mac=M,bridge=B,ip=A,script=S"]); the address and gateway reach the
        guest as the leading kernel options C(fc.ip=A/N) and C(fc.gw=G), which FlexCapsule OS (and the Linux app
        VM's init) configure the NIC from.
      - Refused before anything changes when the bridge does not exist here or another app VM on this cloud VM
        already uses the address or the MAC. Live migration keeps the MAC and the address.
    type: dict
    suboptions:
      address:
        description: IPv4 address and prefix length, such as C(10.77.0.50/24). Required with a network.
        type: str
      gateway:
        description: Default gateway; must lie inside the address's prefix and differ from the address.
        type: str
      mac:
        description:
          - Unicast MAC address, such as C(00:16:3e:12:34:56).
          - Defaults to one derived from O(name) under Xen's OUI C(00:16:3e), the same every time the app VM is
            created and wherever it runs.
        type: str
      bridge:
        description: Bridge of the cloud VM the NIC joins (default C(xenbr0), the one role nested_xen creates).
        type: str
      script:
        description:
          - The libxl hotplug script that plugs the NIC into the bridge, written to the vif as C(script=S).
          - C(vif-flexcapsule) (the default, installed by role flexcapsule_runtime) attaches the vif to the bridge
            and brings it up with three process spawns; on the destination of a live migration it runs while the
            app VM is stopped, so it is part of the downtime (docs/networking.md, "Migration cost of a NIC"). It
            adds no anti-spoofing filter.
          - C(vif-bridge) is Xen's stock script, with iptables rules from the address (effective only where iptables
            and br_netfilter are set up), seconds slower per migration under TCG.
          - Not part of the app VM's identity, as Xen does not report it back. Changing it does not clash; it takes
            effect when the app VM is next created.
        type: str
        choices: [vif-flexcapsule, vif-bridge]
  state:
    description:
      - C(running) defines and boots it; C(stopped) defines it and makes sure it is not running;
        C(restarted) shuts it down (if running) and boots it again; C(paused) runs it paused;
        C(absent) stops and forgets it.
    type: str
    choices: [running, stopped, restarted, paused, absent]
    default: running
  replace:
    description: On a name clash, destroy the existing app VM and recreate it with the new definition.
    type: bool
    default: false
  force_stop:
    description: Destroy the app VM if it has not shut down O(timeout) seconds after the shutdown request.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for a graceful shutdown.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
    description: Runs in the dom0 of a cloud VM with Xen (C(xl)) and the flexcapsule_runtime role applied.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runtime
notes:
  - Finished app VMs keep their definition and exit status (state C(stopped)) until O(state=absent).
seealso:
  - module: app_vm_info
  - module: app_vm_migrate
"""

EXAMPLES = r"""
- name: Run the counter app with 32 MiB
  app_vm:
    name: counter-1
    image: counter
    memory: 32M
    args: [--interval, "1"]

- name: Run a Linux PV app VM, replacing an older definition of the same name
  app_vm:
    name: smoke
    image: linux-smoke
    memory: 128
    replace: true

- name: Run httpd with an address on the cloud VMs' shared app VM network
  app_vm:
    name: web-1
    image: httpd
    memory: 16M
    network:
      address: 10.77.0.50/24
      gateway: 10.77.0.1

- name: Same, with its own MAC on another bridge
  app_vm:
    name: web-2
    image: httpd
    network:
      address: 10.78.0.51/24
      mac: "02:00:0a:4e:00:33"
      bridge: xenbr1

- name: Stop it, destroying it if it ignores the shutdown request for 30 s
  app_vm:
    name: smoke
    state: stopped
    force_stop: true
    timeout: 30

- name: Remove it
  app_vm:
    name: smoke
    state: absent
"""

RETURN = r"""
app_vm:
  description: The app VM after the task (or as it would be, in check mode); absent when removed.
  returned: success
  type: dict
  sample: {name: counter-1, image: counter, kind: flexcapsule, state: running, memory_mib: 32, vcpus: 1,
           args: "", domid: 7, exit_status: null,
           network: {address: 10.77.0.50/24, gateway: 10.77.0.1, mac: "00:16:3e:5a:01:c2", bridge: xenbr0}}
actions:
  description: Lifecycle actions taken, in order (or that would be taken, in check mode).
  returned: always
  type: list
  elements: str
  sample: [define, start]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule import appvm, appvm_state
from ansible.module_utils.flexcapsule.runtime import RUNTIME_ARGUMENT_SPEC, Runtime
from ansible.module_utils.flexcapsule.xl import ToolstackError

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    image=dict(type="str"),
    memory=dict(type="raw"),
    vcpus=dict(type="int"),
    args=dict(type="raw"),
    network=dict(type="dict", options=dict(
        address=dict(type="str"),
        gateway=dict(type="str"),
        mac=dict(type="str"),
        bridge=dict(type="str"),
        script=dict(type="str", choices=list(appvm.VIF_SCRIPTS)),
    )),
    state=dict(type="str", default="running", choices=list(appvm_state.DESIRED_STATES)),
    replace=dict(type="bool", default=False),
    force_stop=dict(type="bool", default=False),
    timeout=dict(type="int", default=60),
    **RUNTIME_ARGUMENT_SPEC,
)


SUMMARY_KEYS = ("name", "image", "kind", "memory_mib", "vcpus", "args", "network")


def summary(view):
    """The part of an app VM shown in diff and results."""
    if view is None:
        return {"state": "absent"}
    return dict({key: view.get(key) for key in SUMMARY_KEYS}, state=appvm_state.observed_state(view))


def predicted(before, desired, actions, state):
    """What check mode says the app VM would look like."""
    if state == "absent":
        return {"state": "absent"}
    after = {key: desired.get(key) for key in SUMMARY_KEYS} if desired else dict(before)
    after["state"] = appvm_state.state_after(before["state"], actions, state)
    return after


class AppVmManagement:
    def __init__(self, module, runtime=None):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.runtime = runtime or Runtime(state_dir=self.params["state_dir"], image_store=self.params["image_store"])
        self.actions = []
        self.current = None
        self.desired = None

    # one method per state, as lxd_container does
    def _running(self):
        self._converge("running")

    def _stopped(self):
        self._converge("stopped")

    def _restarted(self):
        self._converge("restarted")

    def _paused(self):
        self._converge("paused")

    def _absent(self):
        for action in appvm_state.plan(self.current, None, "absent"):
            self._do(action)

    def _converge(self, state):
        options = appvm_state.merged_options(self.name, self.current, self.params["image"], self.params["memory"],
                                             self.params["vcpus"], self.params["args"], self.params["network"])
        self.desired = self.runtime.build_definition(**options)
        actions = appvm_state.plan(self.current, self.desired, state, self.params["replace"])
        if "define" in actions or "start" in actions:
            # Refuse before changing anything (even in check mode) when the bridge is missing or another app VM
            # here holds the address or MAC.
            self.runtime.check_network(self.desired)
        if "start" in actions:
            # Refuse before changing anything (even in check mode) when the memory is not there.
            self.runtime.check_memory(self.desired["memory_mib"])
        for action in actions:
            self._do(action)

    def _do(self, action):
        if not self.module.check_mode:
            if action == "stop":
                self.runtime.stop(self.name, force=self.params["force_stop"], timeout=self.params["timeout"])
            elif action == "remove":
                self.runtime.remove(self.name, force=self.params["force_stop"], timeout=self.params["timeout"])
            elif action == "define":
                self.runtime.define(self.desired)
            elif action == "start":
                self.runtime.start(self.name)
            elif action == "pause":
                self.runtime.xl.pause(self.name)
            elif action == "unpause":
                self.runtime.xl.unpause(self.name)
        self.actions.append(action)

    def validate_inputs(self):
        """Refuse malformed options before the toolstack is touched."""
        appvm.validate_name(self.name)
        if self.params["image"] is not None:
            appvm.validate_name(self.params["image"], "image name")
        if self.params["memory"] is not None:
            appvm.parse_memory(self.params["memory"])
        if self.params["vcpus"] is not None:
            appvm.parse_vcpus(self.params["vcpus"])
        appvm.join_args(self.params["args"])
        appvm.make_network(self.name, self.params["network"])
        if self.params["timeout"] < 0:
            raise appvm.AppVmError("invalid timeout %r: must be 0 or more seconds" % self.params["timeout"])

    def run(self):
        state = self.params["state"]
        self.validate_inputs()
        with self.runtime.lock(self.name, "app_vm state=%s" % state):
            # Check mode must not even clear finished domains.
            self.current = self.runtime.app_vm(self.name, reap=not self.module.check_mode)
            getattr(self, "_" + state)()
            before = summary(self.current)
            if self.module.check_mode:
                after = predicted(before, self.desired, self.actions, state)
                result_view = after if state != "absent" else None
            else:
                result_view = self.runtime.app_vm(self.name)
                after = summary(result_view)
        return dict(changed=bool(self.actions), actions=self.actions, app_vm=result_view,
                    diff=dict(before=before, after=after))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    manager = AppVmManagement(module)
    try:
        module.exit_json(**manager.run())
    except ToolstackError as exc:
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr,
                         actions=manager.actions)
    except (appvm.AppVmError, ValueError) as exc:
        module.fail_json(msg=str(exc), actions=manager.actions)


if __name__ == "__main__":
    main()
