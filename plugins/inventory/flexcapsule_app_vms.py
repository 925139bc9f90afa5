"""Inventory plugin: every app VM on every cloud VM, as hosts grouped by cloud VM and by image."""

DOCUMENTATION = r"""
---
name: flexcapsule_app_vms
short_description: App VMs across all FlexCapsule cloud VMs
description:
  - Asks every cloud VM of an existing inventory (through Ansible's own connection settings) for its app VMs
    with the C(app_vm_info) module and adds each app VM as a host.
  - Groups are C(app_vms), C(cloud_vm_<cloud VM>), C(image_<image>) and C(app_vm_state_<state>); host
    variables carry the app VM's details and C(flexcapsule_cloud_vm), the cloud VM it runs on, so tasks for an
    app VM can be delegated to its cloud VM.
  - An app VM with a network also gets C(flexcapsule_address), its IPv4 address without the prefix (the same
    wherever it runs), and C(flexcapsule_network) (address, gateway, mac, bridge).
  - The configuration file name must end in C(flexcapsule_app_vms.yml) or C(flexcapsule_app_vms.yaml).
options:
  plugin:
    description: Marks the file as this plugin's configuration.
    required: true
    choices: [flexcapsule_app_vms]
  cloud_vm_inventory:
    description: Inventory source describing the cloud VMs (relative paths are relative to this file).
    type: path
    required: true
  cloud_vm_group:
    description: Group of the cloud VMs in that inventory.
    type: str
    default: cloud_vms
  include_stopped:
    description: Also list app VMs that are defined but not running.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for all cloud VMs to answer.
    type: int
    default: 300
"""

EXAMPLES = r"""
# inventory/lab/app_vms.flexcapsule_app_vms.yml
plugin: flexcapsule_app_vms
cloud_vm_inventory: hosts.yml
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def group_name(prefix, value):
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def app_vm_hosts(answers):
    """{cloud VM: app_vm_info result} -> [(host, vars, groups)]; failed cloud VMs raise."""
    hosts = []
    for cloud_vm, answer in sorted(answers.items()):
        if answer.get("failed") or answer.get("unreachable") or "app_vms" not in answer:
            raise AnsibleParserError("cloud VM %s did not list its app VMs: %s" % (cloud_vm, answer.get("msg", answer)))
        for app in answer["app_vms"]:
            network = app.get("network") or {}
            host_vars = {"flexcapsule_cloud_vm": cloud_vm, "flexcapsule_app_vm": app,
                         "flexcapsule_image": app.get("image"), "flexcapsule_state": app.get("state"),
                         "flexcapsule_network": network or None,
                         "flexcapsule_address": network["address"].split("/")[0] if network.get("address") else None}
            groups = ["app_vms", group_name("cloud_vm_", cloud_vm), group_name("app_vm_state_", app.get("state"))]
            if app.get("image"):
                groups.append(group_name("image_", app["image"]))
            hosts.append((app["name"], host_vars, groups))
    return hosts


class InventoryModule(BaseInventoryPlugin):
    NAME = "flexcapsule_app_vms"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("flexcapsule_app_vms.yml", "flexcapsule_app_vms.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        source = self.get_option("cloud_vm_inventory")
        if not os.path.isabs(source):
            source = os.path.join(os.path.dirname(path), source)
        answers = self.ask_cloud_vms(source, self.get_option("cloud_vm_group"), self.get_option("timeout"))
        seen = {}
        for host, host_vars, groups in app_vm_hosts(answers):
            if not self.get_option("include_stopped") and host_vars["flexcapsule_state"] == "stopped":
                continue
            if host in seen:
                # The same name on two cloud VMs: keep both visible rather than silently merging them.
                host = "%s@%s" % (host, host_vars["flexcapsule_cloud_vm"])
            seen[host] = True
            self.inventory.add_host(host)
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            for key, value in host_vars.items():
                self.inventory.set_variable(host, key, value)

    def ask_cloud_vms(self, source, group, timeout):
        """Run app_vm_info on every cloud VM with the `ansible` CLI and collect per-host JSON."""
        with tempfile.TemporaryDirectory(prefix="flexcapsule-inv-") as tree:
            argv = ["ansible", group, "-i", source, "-m", "app_vm_info", "-a", "cpu_interval=0", "--tree", tree,
                    "-o"]
            env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_INVENTORY_ENABLED="yaml,ini",
                       ANSIBLE_LIBRARY=os.path.join(ROOT, "plugins", "modules"),
                       ANSIBLE_MODULE_UTILS=os.path.join(ROOT, "plugins", "module_utils"))
            # The `ansible` next to this Python (a virtualenv's bin/), else the one on PATH.
            beside = os.path.join(os.path.dirname(sys.executable), "ansible")
            argv[0] = beside if os.path.exists(beside) else (shutil.which("ansible") or "ansible")
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise AnsibleParserError("cloud VMs did not answer within %ss" % timeout)
            answers = {}
            for host in os.listdir(tree):
                with open(os.path.join(tree, host)) as handle:
                    answers[host] = json.load(handle)
        if not answers:
            raise AnsibleParserError("no cloud VM in group %r of %s answered (rc=%s): %s"
                                     % (group, source, proc.returncode, (proc.stderr or proc.stdout)[-600:]))
        return answers
