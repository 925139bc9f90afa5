"""What an app VM is: validated name/size/args, its image from the image store, its xl config.

Pure logic shared by the `capsule` CLI and the Ansible modules; nothing here runs a command.
"""
import hashlib
import ipaddress
import json
import os
import re

IMAGE_STORE = "/var/lib/flexcapsule/images"
IMAGE_KINDS = ("flexcapsule", "linux")
NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$")
MAX_MEMORY_MIB = 1024 * 1024
MAX_VCPUS = 128
# xl.cfg strings are double-quoted; keep anything that could end or escape the quoting out.
UNSAFE_CFG_CHARS = re.compile(r'["\\\x00-\x1f\x7f]')
SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
SIZE_FACTORS_MIB = {"": 1, "m": 1, "g": 1024, "t": 1024 * 1024}
# Networking: the bridge roles/nested_xen creates in every cloud VM, Xen's own MAC prefix (OUI).
DEFAULT_BRIDGE = "xenbr0"
XEN_OUI = "00:16:3e"
NETWORK_KEYS = ("address", "gateway", "mac", "bridge", "script")
# The libxl hotplug script that plugs the NIC into its bridge, in /etc/xen/scripts of every cloud VM:
# vif-flexcapsule (roles/flexcapsule_runtime: attach, up, report; a few process spawns) or Xen's stock
# vif-bridge (Debian's: iptables anti-spoofing from ip=, seconds of shell work under TCG, inside the migration
# downtime). See docs/networking.md, "Migration cost of a NIC".
XEN_SCRIPTS_DIR = "/etc/xen/scripts"
DEFAULT_VIF_SCRIPT = "vif-flexcapsule"
VIF_SCRIPTS = ("vif-flexcapsule", "vif-bridge")
# A Linux interface name: at most 15 characters, none of them '/', ':', ',', '=' or space (xl's vif syntax uses
# ',' and '='); plain letters, digits, '_', '.', '-' are enough for a bridge.
BRIDGE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
MAC_PATTERN = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
# Kernel options the runtime puts in front of the cmdline; FlexCapsule OS strips leading fc.NAME=VALUE words.
KERNEL_OPTION = re.compile(r"^fc\.[A-Za-z0-9_.-]+=\S*$")


class AppVmError(Exception):
    """Bad input or a state that forbids the request; the message names the problem."""


def validate_name(name, what="app VM name"):
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise AppVmError("invalid %s %r: use 1-48 lowercase letters, digits and '-', starting and ending "
                         "with a letter or digit" % (what, name))
    return name


def parse_memory(value):
    """Memory in MiB from 64, "64", "64M", "64MiB", "1G", ...; KiB sizes must be whole MiB."""
    if isinstance(value, bool):
        raise AppVmError("invalid memory size %r" % (value,))
    if isinstance(value, int):
        mib = value
    else:
        match = SIZE_PATTERN.match(str(value))
        if not match:
            raise AppVmError("invalid memory size %r: expected a number of MiB or a size like 64M or 1G" % (value,))
        number, unit = int(match.group(1)), match.group(2).lower()
        if unit == "k":
            if number % 1024:
                raise AppVmError("invalid memory size %r: not a whole number of MiB" % (value,))
            mib = number // 1024
        else:
            mib = number * SIZE_FACTORS_MIB[unit]
    if not 1 <= mib <= MAX_MEMORY_MIB:
        raise AppVmError("invalid memory size %r: must be between 1 MiB and %d MiB" % (value, MAX_MEMORY_MIB))
    return mib


def parse_vcpus(value):
    try:
        vcpus = int(value)
    except (TypeError, ValueError):
        raise AppVmError("invalid vcpus %r: expected a whole number" % (value,))
    if isinstance(value, bool) or str(vcpus) != str(value).strip() or not 1 <= vcpus <= MAX_VCPUS:
        raise AppVmError("invalid vcpus %r: must be a whole number from 1 to %d" % (value, MAX_VCPUS))
    return vcpus


def join_args(args):
    """App arguments (a string or a list) as one kernel command-line string."""
    if args is None:
        return ""
    words = [args] if isinstance(args, str) else list(args)
    for word in words:
        if not isinstance(word, str) or UNSAFE_CFG_CHARS.search(word):
            raise AppVmError("invalid app argument %r: quotes, backslashes and control characters are not "
                             "allowed" % (word,))
    return " ".join(word for word in words if word)


# ---------------------------------------------------------------- network


def default_mac(name):
    """The MAC of an app VM that names none: Xen's OUI plus 24 bits of a hash of its name, so it is the same
    every time the app VM is created and wherever it runs."""
    digest = hashlib.sha256(("flexcapsule-app-vm:" + name).encode()).digest()
    return XEN_OUI + "".join(":%02x" % byte for byte in digest[:3])


def parse_mac(value):
    """A unicast MAC as six lowercase colon-separated octets ('-' separators and upper case accepted)."""
    text = value.strip().lower().replace("-", ":") if isinstance(value, str) else None
    if text is None or not MAC_PATTERN.match(text):
        raise AppVmError("invalid network mac %r: expected six hex octets such as 00:16:3e:12:34:56" % (value,))
    first = int(text[:2], 16)
    if first & 1:
        raise AppVmError("invalid network mac %r: a multicast/broadcast address (lowest bit of the first octet "
                         "set) cannot be a NIC's address" % (value,))
    if text == "00:00:00:00:00:00":
        raise AppVmError("invalid network mac %r: all zeros" % (value,))
    return text


def parse_bridge(value):
    if not isinstance(value, str) or not BRIDGE_PATTERN.match(value):
        raise AppVmError("invalid network bridge %r: use 1-15 letters, digits, '_', '.' or '-' (a Linux "
                         "interface name such as xenbr0)" % (value,))
    return value


def parse_address(value):
    """An IPv4 host address with its prefix (10.77.0.50/24) -> ipaddress.IPv4Interface."""
    if not isinstance(value, str) or "/" not in value:
        raise AppVmError("invalid network address %r: expected IPv4 address/prefix such as 10.77.0.50/24"
                         % (value,))
    try:
        interface = ipaddress.IPv4Interface(value.strip())
    except ValueError as exc:
        raise AppVmError("invalid network address %r: %s" % (value, exc))
    ip = interface.ip
    if ip.is_multicast or ip.is_loopback or ip.is_unspecified or ip.is_reserved:
        raise AppVmError("invalid network address %r: %s is not a unicast host address" % (value, ip))
    network = interface.network
    if network.prefixlen <= 30 and ip in (network.network_address, network.broadcast_address):
        raise AppVmError("invalid network address %r: %s is the %s address of %s" % (
            value, ip, "network" if ip == network.network_address else "broadcast", network))
    return interface


def parse_gateway(value, interface):
    try:
        gateway = ipaddress.IPv4Address(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError) as exc:
        raise AppVmError("invalid network gateway %r: %s" % (value, exc))
    network = interface.network
    if gateway not in network:
        raise AppVmError("invalid network gateway %s: not inside the app VM's network %s" % (gateway, network))
    if gateway == interface.ip:
        raise AppVmError("invalid network gateway %s: it is the app VM's own address" % gateway)
    if network.prefixlen <= 30 and gateway in (network.network_address, network.broadcast_address):
        raise AppVmError("invalid network gateway %s: it is the network or broadcast address of %s"
                         % (gateway, network))
    return gateway


def make_network(name, network):
    """The normalised network of app VM `name` from user options, or None without one.

    network: None, or a dict of address (required), gateway, mac, bridge; an empty dict (every value None) is
    no network.
    """
    if network is None:
        return None
    if not isinstance(network, dict):
        raise AppVmError("invalid network %r: expected a dict with address, gateway, mac, bridge" % (network,))
    unknown = sorted(set(network) - set(NETWORK_KEYS))
    if unknown:
        raise AppVmError("invalid network option %s: use %s" % (", ".join(unknown), ", ".join(NETWORK_KEYS)))
    if all(network.get(key) in (None, "") for key in NETWORK_KEYS):
        return None
    if network.get("address") in (None, ""):
        raise AppVmError("network needs an address (IPv4 address/prefix such as 10.77.0.50/24)")
    interface = parse_address(network["address"])
    gateway = network.get("gateway")
    normalised = {
        "address": interface.with_prefixlen,
        "gateway": str(parse_gateway(gateway, interface)) if gateway not in (None, "") else None,
        "mac": parse_mac(network["mac"]) if network.get("mac") not in (None, "") else default_mac(name),
        "bridge": parse_bridge(network["bridge"]) if network.get("bridge") not in (None, "") else DEFAULT_BRIDGE,
    }
    script = parse_vif_script(network.get("script"))
    if script != DEFAULT_VIF_SCRIPT:
        normalised["script"] = script  # only a non-default script is spelled out
    return normalised


def parse_vif_script(value):
    """The hotplug script of a NIC: one of VIF_SCRIPTS (a bare name under /etc/xen/scripts); None is the default."""
    if value in (None, ""):
        return DEFAULT_VIF_SCRIPT
    if value not in VIF_SCRIPTS:
        raise AppVmError("invalid network script %r: use one of %s" % (value, ", ".join(VIF_SCRIPTS)))
    return value


# A NIC hotplug script as libxl takes it: an absolute path, or a bare name in Xen's scripts directory.
SCRIPT_PATTERN = re.compile(r"^(?:/[A-Za-z0-9_.+-]+)+$|^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def script_path(script, scripts_dir=XEN_SCRIPTS_DIR):
    """Where libxl looks for a NIC's script: a bare name is relative to the Xen scripts directory."""
    return script if script.startswith("/") else os.path.join(scripts_dir, script)


def vif_script_of(network):
    """The hotplug script a network's NIC is plugged in with (the default when the network does not say)."""
    return (network or {}).get("script") or DEFAULT_VIF_SCRIPT


def network_kernel_options(network):
    """Leading kernel options FlexCapsule OS (and the Linux app VM's /init) configure their NIC from."""
    if not network:
        return []
    options = ["fc.ip=%s" % network["address"]]
    if network.get("gateway"):
        options.append("fc.gw=%s" % network["gateway"])
    return options


def vif_spec(network):
    """xl.cfg vif entry: the MAC, the bridge, the address (vif-bridge's anti-spoofing rules use ip=; `xl list -l`
    reports it back) and the hotplug script libxl runs to plug the NIC in (vif-flexcapsule unless the network
    names vif-bridge)."""
    return "mac=%s,bridge=%s,ip=%s,script=%s" % (network["mac"], network["bridge"], network["address"].split("/")[0],
                                                 vif_script_of(network))


def split_kernel_options(cmdline):
    """(leading fc.NAME=VALUE options as a dict, the rest of the command line)."""
    words = (cmdline or "").split(" ")
    options = {}
    while words and KERNEL_OPTION.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        options[key] = value
    return options, " ".join(words).strip()


def network_from_domain(nics, cmdline):
    """An app VM's network read back from its domain: the first NIC (mac, bridge, ip from `xl list -l`) and the
    fc.ip / fc.gw kernel options (the prefix and the gateway, which the NIC does not carry)."""
    if not nics:
        return None
    nic = nics[0]
    options, _rest = split_kernel_options(cmdline)
    address = options.get("fc.ip")
    if not address and nic.get("ip"):
        address = nic["ip"].split()[0] + "/32"  # not started by this runtime: the prefix is unknown
    return {"address": address, "gateway": options.get("fc.gw") or None,
            "mac": (nic.get("mac") or "").lower() or None, "bridge": nic.get("bridge")}


def address_mac_conflicts(name, addresses, macs, views):
    """Other app VMs among views (any but `name`) that use one of these IPv4 addresses (without prefix) or MACs
    (lower case)."""
    problems = []
    for view in views:
        other = view.get("network")
        if view.get("name") == name or not other:
            continue
        ip = (other.get("address") or "").split("/")[0]
        if ip and ip in addresses:
            problems.append("address %s is already used by app VM %r" % (ip, view["name"]))
        mac = (other.get("mac") or "").lower()
        if mac and mac in macs:
            problems.append("MAC %s is already used by app VM %r" % (mac, view["name"]))
    return problems


def network_conflicts(definition, views):
    """Problems with another app VM on the same cloud VM using this one's address or MAC."""
    network = definition.get("network")
    if not network:
        return []
    default = network["mac"] == default_mac(definition["name"])
    return ["%s on this cloud VM%s" % (problem, " (set network.mac: the default MAC derived from the name collides)"
                                       if default and problem.startswith("MAC") else "")
            for problem in address_mac_conflicts(definition["name"], [network["address"].split("/")[0]],
                                                 [network["mac"]], views)]


# ---------------------------------------------------------------- image store


def image_dir(image, store=IMAGE_STORE):
    return os.path.join(store, validate_name(image, "image name"))


def list_images(store=IMAGE_STORE):
    try:
        return sorted(entry for entry in os.listdir(store) if os.path.isfile(os.path.join(store, entry, "manifest.json")))
    except FileNotFoundError:
        return []


def load_manifest(image, store=IMAGE_STORE, verify_sha256=False):
    """The image's manifest, checked against the image-store contract."""
    directory = image_dir(image, store)
    path = os.path.join(directory, "manifest.json")
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        known = ", ".join(list_images(store)) or "none"
        raise AppVmError("unknown image %r: no %s (images here: %s)" % (image, path, known))
    except ValueError as exc:
        raise AppVmError("image %r: manifest %s is not valid JSON: %s" % (image, path, exc))
    return check_manifest(manifest, image, directory, verify_sha256)


def check_manifest(manifest, image, directory, verify_sha256=False):
    problems = []
    for key in ("name", "kind", "kernel", "memory_mib"):
        if key not in manifest:
            problems.append("missing %r" % key)
    if manifest.get("kind") not in IMAGE_KINDS:
        problems.append("kind %r is not one of %s" % (manifest.get("kind"), "/".join(IMAGE_KINDS)))
    for key in ("kernel", "ramdisk"):
        file_name = manifest.get(key)
        if file_name is None:
            continue
        if not isinstance(file_name, str) or os.sep in file_name or file_name.startswith("."):
            problems.append("%s %r must be a plain file name" % (key, file_name))
        elif not os.path.isfile(os.path.join(directory, file_name)):
            problems.append("%s file %s is missing" % (key, os.path.join(directory, file_name)))
    cmdline = manifest.get("cmdline") or ""
    if not isinstance(cmdline, str) or UNSAFE_CFG_CHARS.search(cmdline):
        problems.append("cmdline %r has quotes, backslashes or control characters" % (cmdline,))
    if isinstance(manifest.get("memory_mib"), str) and manifest["memory_mib"].isdigit():
        manifest = dict(manifest, memory_mib=int(manifest["memory_mib"]))  # linux_appvm writes "96"
    if not isinstance(manifest.get("memory_mib"), int) or manifest.get("memory_mib", 0) < 1:
        problems.append("memory_mib %r must be a positive integer" % (manifest.get("memory_mib"),))
    if problems:
        raise AppVmError("image %r has a broken manifest: %s" % (image, "; ".join(problems)))
    if verify_sha256 and manifest.get("sha256"):
        with open(os.path.join(directory, manifest["kernel"]), "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        if digest != manifest["sha256"]:
            raise AppVmError("image %r: kernel sha256 %s does not match the manifest's %s"
                             % (image, digest, manifest["sha256"]))
    return dict(manifest, directory=directory)


# ---------------------------------------------------------------- definitions


def make_definition(name, image, manifest, memory=None, vcpus=1, args=None, network=None):
    """The normalised definition of an app VM; two definitions are the same app VM iff they are equal."""
    validate_name(name)
    memory_mib = parse_memory(memory) if memory is not None else manifest["memory_mib"]
    if memory_mib < manifest["memory_mib"]:
        raise AppVmError("memory %d MiB is below image %r's minimum of %d MiB"
                         % (memory_mib, image, manifest["memory_mib"]))
    return {"name": name, "image": image, "kind": manifest["kind"], "memory_mib": memory_mib,
            "vcpus": parse_vcpus(vcpus), "args": join_args(args), "network": make_network(name, network)}


IDENTITY_KEYS = ("image", "memory_mib", "vcpus", "args", "network")


def _identity_value(definition, key):
    value = definition.get(key)
    if key == "network" and value:
        # The hotplug script is how this cloud VM plugs the NIC in, not what the app VM is: Xen does not report it
        # back (`xl list -l` as parsed), so a live app VM's network never carries it. A new script takes effect
        # when the app VM is next created from scratch (after state: absent / `capsule rm`).
        value = {name: item for name, item in value.items() if name != "script"}
    return value


def definition_differences(old, new):
    """Keys whose values differ between two definitions (what a name clash is about)."""
    return [key for key in IDENTITY_KEYS if _identity_value(old, key) != _identity_value(new, key)]


def kernel_cmdline(manifest, definition):
    """fc.ip/fc.gw first (FlexCapsule OS strips leading fc.NAME=VALUE words before building argv; Linux ignores
    dotted options it does not know), then the image's command line, then the app's arguments."""
    parts = network_kernel_options(definition.get("network")) + [manifest.get("cmdline") or "", definition["args"]]
    return " ".join(part for part in parts if part)


def render_xl_config(definition, manifest):
    """xl.cfg text. Finished domains are preserved so the runtime can read their exit status."""
    directory = manifest["directory"]
    lines = [
        'name = "%s"' % definition["name"],
        'type = "pv"',
        'kernel = "%s"' % os.path.join(directory, manifest["kernel"]),
    ]
    if manifest.get("ramdisk"):
        lines.append('ramdisk = "%s"' % os.path.join(directory, manifest["ramdisk"]))
    lines += [
        'cmdline = "%s"' % kernel_cmdline(manifest, definition),
        "memory = %d" % definition["memory_mib"],
        "maxmem = %d" % definition["memory_mib"],
        "vcpus = %d" % definition["vcpus"],
        'on_poweroff = "preserve"',
        'on_crash = "preserve"',
        'on_reboot = "restart"',
    ]
    if definition.get("network"):
        lines.append('vif = ["%s"]' % vif_spec(definition["network"]))
    for line in lines:
        if "\n" in line:
            raise AppVmError("refusing to write a multi-line xl.cfg entry: %r" % line)
    return "\n".join(lines) + "\n"


def image_of_kernel_path(kernel_path, store=IMAGE_STORE):
    """Which image a running domain was booted from, read back from its kernel path."""
    if not kernel_path:
        return None
    prefix = store.rstrip("/") + "/"
    if not kernel_path.startswith(prefix):
        return None
    return kernel_path[len(prefix):].split("/", 1)[0] or None
