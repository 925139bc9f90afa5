"""What an app VM is: validated name/size/args, its image from the image store, its xl config.

Pure logic shared by the `capsule` CLI and the Ansible modules; nothing here runs a command.
"""
import hashlib
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


def make_definition(name, image, manifest, memory=None, vcpus=1, args=None):
    """The normalised definition of an app VM; two definitions are the same app VM iff they are equal."""
    validate_name(name)
    memory_mib = parse_memory(memory) if memory is not None else manifest["memory_mib"]
    if memory_mib < manifest["memory_mib"]:
        raise AppVmError("memory %d MiB is below image %r's minimum of %d MiB"
                         % (memory_mib, image, manifest["memory_mib"]))
    return {"name": name, "image": image, "kind": manifest["kind"], "memory_mib": memory_mib,
            "vcpus": parse_vcpus(vcpus), "args": join_args(args)}


IDENTITY_KEYS = ("image", "memory_mib", "vcpus", "args")


def definition_differences(old, new):
    """Keys whose values differ between two definitions (what a name clash is about)."""
    return [key for key in IDENTITY_KEYS if old.get(key) != new.get(key)]


def kernel_cmdline(manifest, definition):
    return " ".join(part for part in (manifest.get("cmdline") or "", definition["args"]) if part)


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
