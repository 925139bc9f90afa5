#!/usr/bin/python
"""Ansible module: what a cloud VM offers for nested Xen, read in one pass (role nested_xen's probe)."""

DOCUMENTATION = r"""
---
module: nested_xen_host_info
short_description: Read whether a cloud VM runs Xen and can host it
description:
  - Reads in one module run what role nested_xen checks before and after it acts, because every module run costs
    seconds in an emulated cloud VM. Whether Xen runs (C(xl info)) and its facts, and which xenstore daemon dom0
    runs; the machine's memory (Xen's total when it runs, since dom0 sees only its own share); whether the boot
    loader is GRUB; whether the CPU exposes hardware virtualization; which of O(packages) are not installed;
    whether systemd-networkd is enabled; the architecture and the NICs with their MAC and IPv4 address. The role
    needs no other facts, so plays that run it can skip fact gathering.
  - Read-only.
version_added: "0.1.0"
author: FlexCapsule
options:
  packages:
    description: Debian packages whose installation to check.
    type: list
    elements: str
    default: []
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
"""

EXAMPLES = r"""
- name: Read the cloud VM
  nested_xen_host_info:
    packages: [xen-system-amd64]
  register: host

- name: Say whether Xen runs
  ansible.builtin.debug:
    msg: "{{ 'Xen ' ~ host.xl_info.xen_version if host.xen_running else 'no Xen yet' }}"
"""

RETURN = r"""
xen_running:
  description: Whether C(xl info) answers, that is this is a running Xen's dom0.
  returned: always
  type: bool
xl_info:
  description: C(xl info) as key/value pairs (memory in MiB); empty when Xen does not run.
  returned: always
  type: dict
  sample: {xen_major: 4, xen_minor: 17, xen_extra: ".5", free_memory: 630, total_memory: 1023,
           xen_commandline: "placeholder dom0_mem=384M,max:384M dom0_max_vcpus=1"}
machine_memory_mb:
  description: The cloud VM's memory, Xen's total_memory when Xen runs, else the kernel's MemTotal.
  returned: always
  type: int
grub:
  description: Whether C(/usr/sbin/update-grub) and C(/boot/grub/grub.cfg) exist.
  returned: always
  type: dict
  sample: {update_grub: true, grub_cfg: true}
hvm:
  description: Whether the CPU exposes VT-x or AMD-V (PV app VMs need neither).
  returned: always
  type: bool
xenstored:
  description: The name of the running xenstore daemon (C(xenstored) or C(oxenstored)), from its pid file; null when
    none runs or it cannot be told.
  returned: always
  type: str
  sample: xenstored
missing_packages:
  description: Those of O(packages) that are not installed.
  returned: always
  type: list
  elements: str
networkd_enabled:
  description: Whether systemd-networkd is enabled (C(systemctl is-enabled)).
  returned: always
  type: bool
architecture:
  description: The machine's architecture, as C(uname -m) prints it.
  returned: always
  type: str
  sample: x86_64
nics:
  description: Network interfaces by name, with MAC address and first IPv4 address and prefix (from C(ip -j addr)).
  returned: always
  type: dict
  sample: {eth1: {macaddress: "52:54:00:77:00:0b", ipv4: {address: 10.77.0.11, prefix: 24}},
           xenbr0: {macaddress: "52:54:00:77:00:0b", ipv4: null}}
"""

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule.xl import ToolstackError, Xl


def _xl_info(module, settle_seconds=120):
    """`xl info` parsed, or {} when Xen does not run. Right after a boot into Xen, SSH can answer before the
    toolstack's init script (xen.service) has started xenstored: wait while that service is still starting."""
    if not os.path.exists("/usr/sbin/xl"):
        return {}
    deadline = time.monotonic() + settle_seconds
    while True:
        try:
            return Xl().info()  # finds xl in sbin without it on PATH, past Debian's version wrapper
        except ValueError:
            return {}
        except ToolstackError:
            pass
        _rc, state, _err = module.run_command(["systemctl", "is-active", "xen.service"])
        if state.strip() != "activating" or time.monotonic() > deadline:
            return {}
        time.sleep(1)


def _xenstored(pid_path="/run/xenstore.pid"):
    """The running xenstore daemon's name, from the pid file Xen's init script gives it, or None."""
    try:
        with open(pid_path) as pid_file:
            pid = int(pid_file.read().split()[0])
        with open("/proc/%d/comm" % pid) as comm:
            return comm.read().strip() or None
    except (OSError, ValueError, IndexError):
        return None


def _mem_total_mb():
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def _hvm():
    with open("/proc/cpuinfo") as cpuinfo:
        return any(re.search(r"\b(vmx|svm)\b", line) for line in cpuinfo if line.startswith("flags"))


def _missing_packages(module, packages):
    if not packages:
        return []
    _rc, out, _err = module.run_command(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\n"] + packages,
                                        environ_update={"LANG": "C"})
    installed = {line.split("\t")[0].split(":")[0] for line in out.splitlines() if line.endswith("\tinstalled")}
    return [name for name in packages if name not in installed]


def _nics(module):
    rc, out, err = module.run_command(["ip", "-j", "addr", "show"], environ_update={"LANG": "C"})
    if rc != 0:
        module.fail_json(msg="cannot list the network interfaces", cmd="ip -j addr show", rc=rc, stderr=err)
    nics = {}
    for link in json.loads(out):
        ipv4 = [a for a in link.get("addr_info", []) if a.get("family") == "inet"]
        nics[link["ifname"]] = {"macaddress": link.get("address"),
                                "ipv4": {"address": ipv4[0]["local"], "prefix": ipv4[0]["prefixlen"]} if ipv4 else None}
    return nics


def _enabled(module, unit):
    rc, out, _err = module.run_command(["systemctl", "is-enabled", unit], environ_update={"LANG": "C"})
    return rc == 0 and out.strip() == "enabled"


def main():
    module = AnsibleModule(argument_spec={"packages": {"type": "list", "elements": "str", "default": []}},
                           supports_check_mode=True)
    info = _xl_info(module)
    module.exit_json(
        changed=False,
        xen_running=bool(info),
        xl_info=info,
        xenstored=_xenstored() if info else None,
        machine_memory_mb=int(info["total_memory"]) if info else _mem_total_mb(),
        grub={"update_grub": os.path.exists("/usr/sbin/update-grub"),
              "grub_cfg": os.path.exists("/boot/grub/grub.cfg")},
        hvm=_hvm(),
        missing_packages=_missing_packages(module, module.params["packages"]),
        networkd_enabled=_enabled(module, "systemd-networkd"),
        architecture=os.uname().machine,
        nics=_nics(module),
    )


if __name__ == "__main__":
    main()
