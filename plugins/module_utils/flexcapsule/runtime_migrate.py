"""Live migration of one app VM to another cloud VM: preflight, transport, measurement, rollback check.

Transports (both carry xl's own migration stream; `capsule transport` in between counts the bytes):
  ssh  (default) authenticated and encrypted dom0-to-dom0 ssh, as `xl migrate` does natively;
  tcp  for trusted networks only: a plain TCP stream to a one-shot `capsule receive` on the
       destination (started over ssh, accepts only the source's address). No encryption, no ssh
       cipher cost: faster on slow CPUs.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from . import appvm
from .frame_relay import FrameRelay
from .xl import (INCOMING_SUFFIX, MIGRATE_MARKERS, SSH_OPTIONS, SSH_UNREACHABLE_RC, ToolstackError, Xl,
                 parse_migrate_log, run, ssh_argv, validate_host)

TRANSPORTS = ("ssh", "tcp")
DEFAULT_TCP_PORT = 8002
CAPSULE = "capsule"
# One ssh connection per peer dom0, shared by the preflight, the migration stream and the rollback check: a new
# connection's key exchange costs seconds of CPU on a slow dom0 (2.5 s measured under TCG), a multiplexed
# session a few hundred ms. Same authentication and encryption; the master lingers MUX_PERSIST_S after use.
# Keepalives end a master (and a migration stream) whose peer vanished within 30 s, so a cloud VM that is
# terminated and whose address is reused is not reached through its predecessor's dead connection for long.
MUX_DIR = "/run/flexcapsule/ssh"
MUX_PERSIST_S = 60
MUX_OPTIONS = ("-o", "ControlMaster=auto", "-o", "ControlPath=%s/%%C" % MUX_DIR,
               "-o", "ControlPersist=%d" % MUX_PERSIST_S, "-o", "ServerAliveInterval=10",
               "-o", "ServerAliveCountMax=3")


def ensure_mux_dir():
    """ssh will not create the socket's directory, and fails rather than go on without it."""
    os.makedirs(MUX_DIR, mode=0o700, exist_ok=True)


class MigrationError(appvm.AppVmError):
    def __init__(self, message, details=None):
        super().__init__(message)
        self.details = details or {}


def capsule_path():
    return shutil.which(CAPSULE) or "/usr/local/bin/capsule"


def remote_capsule(host, args, timeout=120, what=None):
    """Run `capsule ARGS --json` on another dom0; returns its parsed JSON."""
    ensure_mux_dir()
    result = run(ssh_argv(host, [CAPSULE] + list(args), extra_options=MUX_OPTIONS), timeout=timeout, check=False,
                 what=what)
    if result.rc == SSH_UNREACHABLE_RC:
        raise MigrationError("destination %s is unreachable over ssh: %s"
                             % (host, (result.stderr.strip().splitlines() or ["no answer"])[-1]))
    if result.rc == 127:
        # No runtime there: tell apart a host without Xen from one that only lacks the role.
        try:
            Xl(remote=host).info()
        except ToolstackError:
            raise MigrationError("destination %s has no Xen: `xl info` does not work there" % host)
        raise MigrationError("destination %s runs Xen but not the FlexCapsule runtime (no `capsule`); "
                             "apply the flexcapsule_runtime role to it" % host)
    try:
        return json.loads(result.stdout)
    except ValueError:
        if "unrecognized arguments" in (result.stderr or ""):
            raise MigrationError("destination %s runs an older FlexCapsule runtime (`capsule %s` does not know %s); "
                                 "apply the flexcapsule_runtime role to it"
                                 % (host, args[0], result.stderr.strip().splitlines()[-1].split(":")[-1].strip()))
        raise MigrationError("destination %s: `capsule %s` failed (rc=%s): %s"
                             % (host, args[0], result.rc, (result.stderr or result.stdout).strip()[-400:]))


def judge_preflight(local_capacity, domain, report, destination):
    """Problems that forbid the migration, from this host's view and the destination's report."""
    problems = []
    if not report.get("has_xen"):
        problems.append("destination %s has no Xen: %s" % (destination, report.get("xen_error") or "xl info failed"))
        return problems
    if report.get("host") and report.get("host") == local_capacity.get("host"):
        problems.append("app VM %r is already on %s (%s): choose another cloud VM"
                        % (domain["name"], destination, report["host"]))
        return problems
    if report.get("name_in_use"):
        problems.append("destination %s already has a domain named %r" % (destination, domain["name"]))
    if not report.get("has_image"):
        problems.append("destination %s does not have image %r in its image store"
                        % (destination, domain.get("image")))
    free = report.get("free_memory_mib") or 0
    if domain["memory_mib"] > free:
        problems.append("destination %s has %d MiB free, app VM %r needs %d MiB"
                        % (destination, free, domain["name"], domain["memory_mib"]))
    for bridge in report.get("missing_bridges") or []:
        problems.append("destination %s has no bridge %r for app VM %r's NIC (apply roles/nested_xen there with "
                        "nested_xen_bridge=%s)" % (destination, bridge, domain["name"], bridge))
    for script in report.get("missing_vif_scripts") or []:
        problems.append("destination %s has no hotplug script %s for app VM %r's NIC (apply roles/flexcapsule_runtime "
                        "there, which installs vif-flexcapsule; or start the app VM with network.script: vif-bridge)"
                        % (destination, appvm.script_path(script), domain["name"]))
    for conflict in report.get("network_conflicts") or []:
        problems.append("destination %s: %s" % (destination, conflict))
    return problems


def vif_scripts_of(runtime, domain):
    """The hotplug scripts of a running domain's NICs, as libxl wrote them in each vif's backend directory (the
    one the destination's libxl will run again, before it unpauses the app VM). A NIC whose backend does not say
    gets the script its recorded definition names, else the default."""
    scripts = set()
    for nic in domain.get("nics") or []:
        script = None
        try:
            script = runtime.xl.xenstore_read("/local/domain/0/backend/vif/%d/%d/script"
                                              % (domain["domid"], nic.get("devid") or 0))
        except ToolstackError:
            script = None
        if not script:
            script = appvm.vif_script_of((runtime.definition(domain["name"]) or {}).get("network"))
        if os.path.dirname(script) == appvm.XEN_SCRIPTS_DIR:
            script = os.path.basename(script)
        if not appvm.SCRIPT_PATTERN.match(script):
            raise MigrationError("app VM %r: unexpected NIC hotplug script %r" % (domain["name"], script))
        scripts.add(script)
    return sorted(scripts)


def network_of(domain):
    """(bridges, addresses, MACs) of a domain's NICs, as `xl list -l` reports them (xl migrate carries them)."""
    nics = domain.get("nics") or []
    bridges = sorted({nic["bridge"] for nic in nics if nic.get("bridge")})
    addresses = sorted({address for nic in nics for address in (nic.get("ip") or "").split()})
    macs = sorted({nic["mac"] for nic in nics if nic.get("mac")})
    return bridges, addresses, macs


def preflight_report(runtime, name, image, bridges=(), addresses=(), macs=(), vif_scripts=()):
    """What a destination says about itself (run there as `capsule preflight`): Xen, memory, the image, the
    bridges the app VM's NICs join, the hotplug scripts that plug them in, and whether another app VM here already
    uses its addresses or MACs."""
    report = {"has_xen": False, "name_in_use": None, "has_image": False}
    try:
        capacity = runtime.capacity()
        names = set(runtime.xl.list_table())
    except ToolstackError as exc:
        report["xen_error"] = str(exc)
        return report
    report.update(has_xen=True, host=capacity["host"], free_memory_mib=capacity["free_memory_mib"],
                  nr_cpus=capacity["nr_cpus"], name_in_use=name in names)
    if image:
        try:
            appvm.load_manifest(image, runtime.image_store)
            report["has_image"] = True
        except appvm.AppVmError as exc:
            report["image_error"] = str(exc)
    if bridges:
        report["missing_bridges"] = [bridge for bridge in bridges if not runtime.has_bridge(bridge)]
    if vif_scripts:
        report["missing_vif_scripts"] = [
            script for script in vif_scripts
            if not runtime.has_vif_script(script)]
    if addresses or macs:
        report["network_conflicts"] = appvm.address_mac_conflicts(name, list(addresses), [m.lower() for m in macs],
                                                                  runtime.app_vms(reap=False))
    return report


# The xl -vvv line that opens the relay's capture window (frame_relay: frames sent to the app VM while it is
# stopped are held in the source dom0 and delivered once it runs on the destination); the target reporting the
# app VM started (MIGRATE_MARKERS["sender_done"]) closes it.
SUSPEND_REQUESTED = "issuing PV suspend request"
RELAY_WAIT_S = 2.0


def relay_step(line):
    """What a line of xl -vvv migrate means for the frame relay: "capture", "deliver" or None."""
    if SUSPEND_REQUESTED in line:
        return "capture"
    if MIGRATE_MARKERS["sender_done"] in line:
        return "deliver"
    return None


def frame_relay_for(domain):
    """A FrameRelay for the domain's NICs (vif<domid>.<devid> on their bridges), or None without NICs."""
    nics = [nic for nic in domain.get("nics") or [] if nic.get("bridge") and nic.get("mac")]
    if not nics or domain.get("domid") is None:
        return None
    return FrameRelay({"vif%d.%d" % (domain["domid"], nic.get("devid") or 0): appvm.parse_bridge(nic["bridge"])
                       for nic in nics}, [nic["mac"] for nic in nics])


class RelayDriver:
    """Feeds xl's output lines to a FrameRelay: capture from the suspend request, delivery (in a thread, so xl's
    output keeps flowing while the source domain is torn down) once the target reports the app VM started."""

    def __init__(self, relay):
        self.relay, self.thread = relay, None

    def on_line(self, _stamp, line):
        step = relay_step(line)
        if step == "capture":
            self.relay.start_capture()
        elif step == "deliver" and self.thread is None:
            self.thread = threading.Thread(target=self.relay.deliver, args=(RELAY_WAIT_S,), daemon=True)
            self.thread.start()

    def finish(self):
        """The relay's figures; waits for a delivery under way. Safe after a failure (nothing is delivered)."""
        if self.thread is not None:
            self.thread.join(timeout=RELAY_WAIT_S + 5)
        self.relay.close()
        return self.relay.stats()


def validate_request(name, destination):
    """A well-formed app VM name and destination host, before anything is asked of either."""
    appvm.validate_name(name)
    try:
        validate_host(destination)
    except ValueError as exc:
        raise MigrationError(str(exc))


def already_on(runtime, name, destination):
    """The destination's report when the app VM is not on this cloud VM but is on the destination: the migration
    a playbook asks for has already happened (what makes app_vm_migrate idempotent). None otherwise."""
    validate_request(name, destination)
    if name in runtime.domains():
        return None
    report = remote_capsule(destination, ["preflight", "--json", "--name", name])
    return report if report.get("name_in_use") else None


def preflight(runtime, name, destination):
    """Check the app VM and the destination; returns (domain, report) or raises MigrationError."""
    validate_request(name, destination)
    domain = runtime.domains().get(name)
    if domain is None:
        raise MigrationError("no app VM named %r runs on this cloud VM" % name)
    if domain["state"] != "running":
        raise MigrationError("app VM %r is %s; only a running app VM can be live-migrated" % (name, domain["state"]))
    bridges, addresses, macs = network_of(domain)
    report = remote_capsule(destination, ["preflight", "--json", "--name", name] +
                            (["--image", domain["image"]] if domain.get("image") else []) +
                            [word for bridge in bridges for word in ("--bridge", appvm.parse_bridge(bridge))] +
                            [word for address in addresses for word in ("--address", address)] +
                            [word for mac in macs for word in ("--mac", mac)] +
                            [word for script in vif_scripts_of(runtime, domain) for word in ("--vif-script", script)])
    problems = judge_preflight(runtime.capacity(), domain, report, destination)
    if problems:
        raise MigrationError("; ".join(problems), {"preflight": report})
    return domain, report


def transport_command(transport, stats_path, tcp_port=DEFAULT_TCP_PORT):
    """xl's -s value. xl runs it through /bin/sh, so it holds only our own fixed words and paths.
    The ssh one shares the connection the preflight opened (remote_capsule made MUX_DIR)."""
    wrapper = [capsule_path(), "transport", "--stats", stats_path]
    if transport == "tcp":
        return " ".join(wrapper + ["--tcp-port", str(int(tcp_port))])
    return " ".join(wrapper + ["--", "ssh"] + list(SSH_OPTIONS + MUX_OPTIONS))


def migrate(runtime, name, destination, transport="ssh", timeout=900, tcp_port=DEFAULT_TCP_PORT, verbosity=3):
    """Live-migrate; returns timings and bytes. On failure the app VM is checked to be running here."""
    if transport not in TRANSPORTS:
        raise MigrationError("unknown transport %r: use one of %s" % (transport, ", ".join(TRANSPORTS)))
    with runtime.lock(name, "migrate to %s" % destination):
        domain, report = preflight(runtime, name, destination)
        receiver = None
        stats_fd, stats_path = tempfile.mkstemp(prefix="flexcapsule-migrate-", suffix=".json")
        os.close(stats_fd)
        relay = frame_relay_for(domain)
        driver = RelayDriver(relay) if relay is not None else None
        started = time.monotonic()
        try:
            if transport == "tcp":
                receiver = start_tcp_receiver(destination, tcp_port, timeout, local_address_towards(destination))
            lines = runtime.xl.migrate(name, destination, transport_command(transport, stats_path, tcp_port),
                                       timeout=timeout, verbosity=verbosity,
                                       on_line=driver.on_line if driver is not None else None)
        except ToolstackError as exc:
            message = failure_message(runtime, name, destination, exc)
            clear_half_received(destination, name)
            raise MigrationError(message, dict(exc.as_dict(), preflight=report))
        finally:
            if receiver is not None:
                stop_process(receiver)
            stats = _read_stats(stats_path)
            relayed = driver.finish() if driver is not None else None
        total = time.monotonic() - started
        phases = parse_migrate_log(lines)
        runtime.forget(name)  # the definition now lives with the domain on the destination
        # xl migrate sends the domain's libxl config (NICs with their MAC, bridge and ip; the cmdline with fc.ip)
        # in the stream, so the app VM keeps its MAC and address; the destination reads them back from Xen.
        return {"name": name, "source": runtime.capacity()["host"], "destination": destination,
                "network": appvm.network_from_domain(domain.get("nics"), domain.get("cmdline")),
                "destination_host": report.get("host"), "transport": transport, "memory_mib": domain["memory_mib"],
                "total_time_s": round(total, 3), "downtime_s": downtime(phases), "bytes_sent": stats.get("bytes_sent"),
                "rounds": stats.get("rounds"), "pages_per_round": stats.get("pages_per_round"),
                "frames_relayed": relayed, "phases": phases, "log": [line for _, line in lines][-40:]}


def downtime(phases):
    """From the guest's suspend to the target reporting it started, as xl saw them."""
    end = phases.get("target_started", phases.get("sender_done"))
    begin = phases.get("suspended")
    if begin is None or end is None or end < begin:
        return None
    return round(end - begin, 3)


def failure_message(runtime, name, destination, exc):
    try:
        domain = runtime.domains().get(name)
    except ToolstackError:
        domain = None
    if domain is not None and domain["state"] == "paused":
        runtime.xl.unpause(name)
        domain["state"] = "running"
    where = ("it is still running on this cloud VM" if domain is not None and domain["state"] == "running"
             else "WARNING: it is not running on this cloud VM (state %s)" % (domain or {}).get("state", "gone"))
    # xl -vvv output is mostly debug chatter; the errors say why.
    detail = [line for line in (exc.stderr or "").splitlines()
              if "debug:" not in line and re.search(r"error|fail", line, re.IGNORECASE)][-3:]
    return "migration of %r to %s failed, %s: %s%s" % (name, destination, where, exc.message,
                                                       (" | " + " | ".join(detail)) if detail else "")


def clear_half_received(destination, name):
    """Best effort: a receiver that died leaves a paused `<name>--incoming` domain holding memory."""
    remote = Xl(remote=destination, timeout=60)
    try:
        if name + INCOMING_SUFFIX in remote.list_table():
            remote.destroy(name + INCOMING_SUFFIX)
    except ToolstackError:
        pass  # the destination may be gone altogether


def _read_stats(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def local_address_towards(destination):
    """The source address the destination will see (to restrict the tcp receiver to it)."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((destination, 9))  # UDP connect sends nothing; it only picks the route
        return probe.getsockname()[0]


def start_tcp_receiver(destination, port, timeout, allowed_peer):
    argv = ssh_argv(destination, [CAPSULE, "receive", "--port", str(int(port)), "--timeout", str(int(timeout)),
                                  "--allow", allowed_peer])
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()  # the receiver prints one line once it listens
    if not line.startswith("listening"):
        err = proc.stderr.read() if proc.poll() is not None else ""
        stop_process(proc)
        raise ToolstackError("tcp receiver on %s did not start: %s" % (destination, (line + err).strip()),
                             cmd=argv, rc=proc.returncode, stderr=err)
    return proc


def stop_process(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
