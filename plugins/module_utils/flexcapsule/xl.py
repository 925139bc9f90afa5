"""The Xen toolstack wrapper: the only code that runs or parses `xl` and xenstore commands.

Commands are argv lists run with LANG=C and a timeout; failures become ToolstackError carrying the
command, exit code and stderr. Parsers are pure functions so the fast tier can feed them recorded
real output (tests/fixtures/xl/). `Xl(remote=...)` runs the same commands on another dom0 over ssh.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import time

DEFAULT_TIMEOUT = 120
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}
# Options for every dom0-to-dom0 ssh: never prompt, fail fast on an unreachable host.
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=accept-new")
SSH_UNREACHABLE_RC = 255
# What xl calls a domain a migration is still receiving (renamed to its own name once it completes).
INCOMING_SUFFIX = "--incoming"


class ToolstackError(Exception):
    """A toolstack command failed; carries what an operator needs to see why."""

    def __init__(self, message, cmd=None, rc=None, stdout="", stderr=""):
        super().__init__(message)
        self.message = message
        self.cmd = list(cmd) if cmd else None
        self.rc = rc
        self.stdout = stdout or ""
        self.stderr = stderr or ""

    def as_dict(self):
        return {"cmd": self.cmd, "rc": self.rc, "stdout": self.stdout, "stderr": self.stderr}

    def __str__(self):
        detail = self.stderr.strip().splitlines()[-1:] if self.stderr.strip() else []
        return self.message + (": " + detail[0] if detail and detail[0] not in self.message else "")


class CommandResult:
    def __init__(self, cmd, rc, stdout, stderr):
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr


def run(argv, timeout=DEFAULT_TIMEOUT, input_text=None, check=True, what=None):
    """Run argv (never a shell string) in the C locale; raise ToolstackError unless check is False."""
    if isinstance(argv, str):
        raise TypeError("commands are argv lists, not shell strings")
    argv = [str(arg) for arg in argv]
    argv[0] = resolve_binary(argv[0])
    env = dict(os.environ, **C_LOCALE)
    try:
        proc = subprocess.run(argv, input=input_text, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=None if input_text is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise ToolstackError("%s not found: is Xen installed here?" % argv[0], cmd=argv, rc=127)
    except subprocess.TimeoutExpired as exc:
        raise ToolstackError("%s timed out after %ss" % (what or argv[0], timeout), cmd=argv, rc=None,
                             stdout=_text(exc.stdout), stderr=_text(exc.stderr))
    result = CommandResult(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise ToolstackError("%s failed (rc=%d)" % (what or " ".join(argv[:3]), proc.returncode),
                             cmd=argv, rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
    return result


# Non-login ssh sessions (how Ansible runs modules) often lack the sbin directories where xl lives.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


# Debian installs xl (and most Xen tools) as a symlink to a shell script that reads the running hypervisor's
# version and execs /usr/lib/xen-<major>.<minor>/bin/<tool>. In a dom0 under TCG that script costs ~40 ms a
# call (a third of `xl list`), so we resolve it the same way and run the versioned binary directly.
DEBIAN_VERSION_WRAPPER = "xen-utils-wrapper"
HYPERVISOR_VERSION_DIR = "/sys/hypervisor/version"
VERSIONED_BIN = "/usr/lib/xen-%s/bin"


def resolve_binary(name):
    """Absolute path of a bare command name, also searching the sbin directories."""
    if os.sep in name:
        return name
    search = os.pathsep.join([os.environ.get("PATH", os.defpath)] + list(SBIN_DIRS))
    found = shutil.which(name, path=search)
    return versioned_binary(found) if found else name


def _read_line(path):
    with open(path) as handle:
        return handle.read().strip()


def versioned_binary(path, version_dir=HYPERVISOR_VERSION_DIR, versioned_bin=VERSIONED_BIN):
    """The binary Debian's version wrapper would exec for path, or path itself when it is no such wrapper (or the
    versioned binary is missing: the wrapper then reports why)."""
    if os.path.basename(os.path.realpath(path)) != DEBIAN_VERSION_WRAPPER:
        return path
    try:
        version = ".".join(_read_line(os.path.join(version_dir, part)) for part in ("major", "minor"))
    except OSError:
        return path
    target = os.path.join(versioned_bin % version, os.path.basename(path))
    return target if os.access(target, os.X_OK) else path


def _text(data):
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


# Host names reach a shell on the far side (ssh, and xl's own migrate rune), so allow only plain
# DNS names and IP addresses.
HOST_PATTERN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9-]{1,63})*$"
                          r"|^[0-9a-fA-F:]+$")


def validate_host(host):
    if not isinstance(host, str) or not HOST_PATTERN.match(host) or len(host) > 253:
        raise ValueError("invalid host %r: expected a DNS name or an IP address" % (host,))
    return host


def ssh_argv(host, remote_argv, user="root", port=None, extra_options=()):
    """argv that runs remote_argv on host; each remote word is quoted for the remote shell."""
    validate_host(host)
    argv = ["ssh"] + list(SSH_OPTIONS) + list(extra_options)
    if port:
        argv += ["-p", str(int(port))]
    argv += ["-l", user, host, "--", shlex.join(str(a) for a in remote_argv)]
    return argv


# ---------------------------------------------------------------- parsers (pure)

STATE_FLAGS = "rbpscd"


def domain_state(flags):
    """Collapse xl's six state flags (r b p s c d) into one word."""
    flags = flags.strip()
    if len(flags) != 6:
        raise ValueError("unexpected xl state flags %r" % flags)
    if "d" in flags:
        return "dying"
    if "c" in flags:
        return "crashed"
    if "s" in flags:
        return "shutdown"
    if "p" in flags:
        return "paused"
    return "running"  # r, b or idle (all dashes): it is alive and schedulable


def parse_list_table(text):
    """`xl list` -> {name: {domid, memory_mib, vcpus, state, flags, cpu_time_s}}."""
    domains = {}
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("Name"):
        raise ValueError("not `xl list` output: missing header")
    for line in lines[1:]:
        # The name may contain spaces; the five columns after it never do.
        parts = line.rsplit(None, 5)
        if len(parts) != 6:
            raise ValueError("unparseable `xl list` line %r" % line)
        name, domid, mem, vcpus, flags, cpu = parts
        domains[name] = {"name": name, "domid": int(domid), "memory_mib": int(mem), "vcpus": int(vcpus),
                         "flags": flags, "state": domain_state(flags), "cpu_time_s": float(cpu)}
    return domains


def parse_list_long(text):
    """`xl list -l` (JSON) -> {name: {domid, uuid, type, kernel, ramdisk, cmdline, memory_mib, ...}}."""
    try:
        entries = json.loads(text) if text.strip() else []
    except ValueError as exc:
        raise ValueError("`xl list -l` did not print JSON: %s" % exc)
    domains = {}
    for entry in entries:
        config = entry.get("config", {})
        c_info, b_info = config.get("c_info", {}), config.get("b_info", {})
        name = c_info.get("name", "Domain-0" if entry.get("domid") == 0 else None)
        on_poweroff = config.get("on_poweroff")
        domains[name] = {
            "name": name,
            "domid": entry.get("domid"),
            "uuid": c_info.get("uuid"),
            "type": c_info.get("type"),
            "kernel": b_info.get("kernel"),
            "ramdisk": b_info.get("ramdisk"),
            "cmdline": b_info.get("cmdline"),
            "memory_mib": _kib_to_mib(b_info.get("target_memkb")),
            "max_memory_mib": _kib_to_mib(b_info.get("max_memkb")),
            "vcpus": b_info.get("max_vcpus"),
            "on_poweroff": on_poweroff,
            "on_crash": config.get("on_crash"),
            "nics": parse_nics(config),
        }
    return domains


def parse_nics(config):
    """The PV NICs of one domain's libxl config (`xl list -l`'s d_config.nics[], libxl_device_nic):
    [{devid, mac, ip, bridge, mtu, model}], by devid. libxl leaves out fields at their default, so any may be None;
    the MAC is printed as six lowercase hex octets, ip as xl.cfg gave it (may hold several, space-separated)."""
    nics = []
    for index, nic in enumerate(config.get("nics") or []):
        if not isinstance(nic, dict):
            raise ValueError("unexpected `xl list -l` nics entry %r" % (nic,))
        mac = nic.get("mac")
        nics.append({"devid": nic.get("devid", index), "mac": mac.lower() if isinstance(mac, str) else None,
                     "ip": nic.get("ip"), "bridge": nic.get("bridge"), "mtu": nic.get("mtu"),
                     "model": nic.get("model")})
    return sorted(nics, key=lambda nic: nic["devid"] if isinstance(nic["devid"], int) else 0)


def _kib_to_mib(value):
    return None if value in (None, -1) else int(value) // 1024


INFO_INTEGER_KEYS = ("nr_cpus", "max_cpu_id", "nr_nodes", "cores_per_socket", "threads_per_core", "cpu_mhz",
                     "total_memory", "free_memory", "sharing_freed_memory", "sharing_used_memory",
                     "outstanding_claims", "xen_major", "xen_minor")


def parse_info(text):
    """`xl info` (key : value lines) -> dict; memory keys are MiB, as xl prints them."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key in info:  # continuation lines never repeat a key; keep the first
            continue
        info[key] = int(value) if key in INFO_INTEGER_KEYS and re.fullmatch(r"-?\d+", value) else value
    if "free_memory" not in info or "nr_cpus" not in info:
        raise ValueError("not `xl info` output: free_memory/nr_cpus missing")
    return info


UPTIME_PATTERN = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d\d):(\d\d)$")


def parse_uptime_value(text):
    match = UPTIME_PATTERN.match(text.strip())
    if not match:
        raise ValueError("unparseable uptime %r" % text)
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_uptime(text):
    """`xl uptime` -> {name: seconds}."""
    uptimes = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("Name"):
            continue
        # "Name  ID  Uptime" where the uptime itself may read "1 day,  2:03:04".
        match = re.match(r"^(.*?)\s+(\d+)\s+((?:\d+ days?,\s+)?\d+:\d\d:\d\d)\s*$", line)
        if not match:
            raise ValueError("unparseable `xl uptime` line %r" % line)
        uptimes[match.group(1)] = parse_uptime_value(re.sub(r",\s+", ", ", match.group(3)))
    return uptimes


def parse_vcpu_list(text):
    """`xl vcpu-list` -> {name: [{vcpu, cpu, state, cpu_time_s}]}."""
    vcpus = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("Name"):
            continue
        # Name may contain spaces: read the fixed columns from the left of the ID column.
        match = re.match(r"^(.*?)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+([\d.]+)\s+", line)
        if not match:
            raise ValueError("unparseable `xl vcpu-list` line %r" % line)
        name, _domid, vcpu, cpu, state, cpu_time = match.groups()
        vcpus.setdefault(name, []).append({"vcpu": int(vcpu), "cpu": None if cpu == "-" else int(cpu),
                                           "state": state, "cpu_time_s": float(cpu_time)})
    return vcpus


# Lines of `xl migrate` (sender and target report through the same stderr) that mark its phases.
MIGRATE_MARKERS = {
    "target_ready": "migration target: Ready to receive domain",
    "transfer_complete": "migration target: Transfer complete",
    "permission_given": "migration sender: Giving target permission to start",
    "target_started": "migration target: Domain started successsfully",  # sic: xl spells it so
    "target_started_alt": "migration target: Domain started successfully",
    "sender_done": "migration sender: Target reports successful startup",
    "success": "Migration successful",
}


def parse_migrate_log(timed_lines):
    """[(seconds, line)] from `xl migrate` -> {phase: first time seen}; also the suspend instant."""
    phases = {}
    for stamp, line in timed_lines:
        for phase, marker in MIGRATE_MARKERS.items():
            if marker in line and phase not in phases:
                phases[phase] = stamp
        # libxl says this when the guest acknowledged the suspend request: the app stops here.
        if "suspend" in line.lower() and "suspended" not in phases and (
                "has suspended" in line or "domain has suspended" in line.lower()):
            phases["suspended"] = stamp
    if "target_started_alt" in phases:
        phases.setdefault("target_started", phases.pop("target_started_alt"))
    return phases


# ---------------------------------------------------------------- the wrapper


class Xl:
    """Runs xl / xenstore on this dom0, or on another one over ssh when remote is a host name."""

    def __init__(self, remote=None, timeout=DEFAULT_TIMEOUT, xl_path="xl"):
        self.remote = validate_host(remote) if remote else None
        self.timeout = timeout
        self.xl_path = xl_path

    def argv(self, args):
        if self.remote:
            return ssh_argv(self.remote, args)
        return list(args)

    def _run(self, args, timeout=None, check=True, what=None):
        return run(self.argv(args), timeout=timeout or self.timeout, check=check, what=what)

    def xl(self, *args, timeout=None, what=None):
        return self._run([self.xl_path] + list(args), timeout=timeout, what=what or "xl " + args[0])

    # reads
    def info(self):
        return parse_info(self.xl("info").stdout)

    def list_table(self):
        return parse_list_table(self.xl("list").stdout)

    def list_long(self):
        return parse_list_long(self.xl("list", "-l").stdout)

    def domains(self):
        """Every domain with both its state (table) and its configuration (JSON), keyed by name."""
        table = self.list_table()
        configs = self.list_long()
        merged = {}
        for name, row in table.items():
            domain = dict(configs.get(name, {}), **row)
            # The table shows what the domain holds now (a library OS returns unused pages to Xen);
            # its configured size is the target from the JSON.
            domain["memory_actual_mib"] = row["memory_mib"]
            domain["memory_mib"] = configs.get(name, {}).get("memory_mib") or row["memory_mib"]
            merged[name] = domain
        return merged

    def uptime(self):
        return parse_uptime(self.xl("uptime").stdout)

    def vcpu_list(self):
        return parse_vcpu_list(self.xl("vcpu-list").stdout)

    def xenstore_read(self, path):
        """Value at path, or None when the node does not exist."""
        result = self._run(["xenstore-read", path], check=False)
        if result.rc != 0:
            if "couldn't read path" in result.stderr or "No such file" in result.stderr:
                return None
            raise ToolstackError("xenstore-read %s failed" % path, cmd=result.cmd, rc=result.rc,
                                 stdout=result.stdout, stderr=result.stderr)
        return result.stdout.strip()

    # changes
    def create(self, config_path, paused=False):
        args = ["create", "-q"] + (["-p"] if paused else []) + [config_path]
        return self.xl(*args, timeout=max(self.timeout, 300))

    def shutdown(self, name, wait=False, timeout=None):
        args = ["shutdown"] + (["-w"] if wait else []) + [name]
        return self.xl(*args, timeout=timeout)

    def destroy(self, name):
        return self.xl("destroy", name)

    def pause(self, name):
        return self.xl("pause", name)

    def unpause(self, name):
        return self.xl("unpause", name)

    def migrate(self, name, host, ssh_command, timeout, on_line=None, verbosity=1):
        """Live-migrate; returns [(seconds since start, line)] of xl's output. Raises on failure.

        ssh_command is xl's -s option: xl runs `exec <ssh_command> <host> xl migrate-receive` through
        /bin/sh, so host is validated and ssh_command must come from trusted code, never from users.
        """
        validate_host(host)
        argv = self.argv([self.xl_path] + ["-v"] * verbosity + ["migrate", "-s", ssh_command, name, host])
        argv[0] = resolve_binary(argv[0])
        start = time.monotonic()
        timed_lines = []
        env = dict(os.environ, **C_LOCALE)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=env, text=True, bufsize=1)
        except FileNotFoundError:
            raise ToolstackError("xl not found: is Xen installed here?", cmd=argv, rc=127)
        deadline = start + timeout
        try:
            for line in proc.stdout:
                stamp = time.monotonic() - start
                timed_lines.append((round(stamp, 4), line.rstrip("\n")))
                if on_line:
                    on_line(stamp, line)
                if time.monotonic() > deadline:
                    proc.kill()
                    break
            rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        output = "\n".join(line for _, line in timed_lines)
        if time.monotonic() > deadline:
            raise ToolstackError("xl migrate timed out after %ss" % timeout, cmd=argv, rc=rc, stderr=output)
        if rc != 0:
            raise ToolstackError("xl migrate of %s to %s failed (rc=%d)" % (name, host, rc), cmd=argv, rc=rc,
                                 stderr=output)
        return timed_lines
