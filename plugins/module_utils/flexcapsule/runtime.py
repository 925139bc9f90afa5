"""The app-VM runtime on one dom0: records, locks, exit statuses and the lifecycle, for both faces.

State lives under one directory (default /var/lib/flexcapsule/run) so it survives restarts of
`capsule` and is shared with the Ansible modules:
  apps/<name>/definition.json   what the app VM is (appvm.make_definition)
  apps/<name>/xl.cfg            the config it was last started from
  apps/<name>/status.json       console offset of the current run, last exit status
  locks/<name>.lock             held while one operation changes the app VM
  console/guest-<name>.log      xenconsoled's console log (the role points xenconsoled here)
Records are synced before they are renamed into place: a cloud VM that crashes comes back knowing its app VMs.
"""
import contextlib
import errno
import fcntl
import json
import os
import re
import time

from . import appvm
from .xl import INCOMING_SUFFIX, ToolstackError, Xl

STATE_DIR = "/var/lib/flexcapsule/run"
# Where Linux lists network interfaces; a bridge has a bridge/ directory there.
SYS_CLASS_NET = "/sys/class/net"
# The modules' options naming the runtime's directories (documented by the `runtime` doc fragment).
RUNTIME_ARGUMENT_SPEC = {
    "state_dir": {"type": "path", "default": STATE_DIR},
    "image_store": {"type": "path", "default": appvm.IMAGE_STORE},
}
EXIT_LINE = re.compile(r"\[flexcapsule\] exit status (-?\d+)")
ALIVE_STATES = ("running", "paused")


def cpu_percent(before, after, elapsed):
    """CPU % per domain between two `xl list` samples (100 = one CPU busy); restarted domains are skipped."""
    usage = {}
    for name, row in after.items():
        old = before.get(name)
        if old and old["domid"] == row["domid"] and elapsed > 0:
            usage[name] = round(100.0 * (row["cpu_time_s"] - old["cpu_time_s"]) / elapsed, 1)
    return usage


class AppVmBusy(appvm.AppVmError):
    """Another operation holds the app VM's lock."""


class AppVmRecordError(appvm.AppVmError):
    """An app VM's record on disk cannot be read."""


def _write_json(path, data):
    """Replace path atomically and durably. Without the fsyncs a cloud VM that dies soon after leaves the record
    empty (the rename reaches the disk before the data) or gone."""
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as exc:  # also an empty file, and bytes that are not UTF-8
        raise AppVmRecordError("record %s is unreadable (%s)" % (path, exc))


class Runtime:
    def __init__(self, state_dir=STATE_DIR, image_store=appvm.IMAGE_STORE, xl=None, sys_class_net=SYS_CLASS_NET,
                 xen_scripts_dir=appvm.XEN_SCRIPTS_DIR):
        self.state_dir = state_dir
        self.image_store = image_store
        self.xl = xl or Xl()
        self.sys_class_net = sys_class_net
        self.xen_scripts_dir = xen_scripts_dir  # NIC hotplug scripts (vif-flexcapsule) live here
        self.console_dir = os.path.join(state_dir, "console")

    # ------------------------------------------------------------ records

    def app_dir(self, name):
        return os.path.join(self.state_dir, "apps", appvm.validate_name(name))

    def definition(self, name):
        """The recorded definition, None when there is none; AppVmRecordError when it cannot be read."""
        try:
            return _read_json(os.path.join(self.app_dir(name), "definition.json"))
        except AppVmRecordError as exc:
            raise AppVmRecordError("app VM %r: %s; `capsule rm %s` forgets it" % (name, exc, name))

    def readable_definition(self, name):
        """The recorded definition, or None when there is none or it cannot be read (callers that can rebuild it
        from the live domain)."""
        try:
            return self.definition(name)
        except AppVmRecordError:
            return None

    def status(self, name):
        """Console offset and last exit; {} when unrecorded, or unreadable (bookkeeping a crash made stale)."""
        try:
            return _read_json(os.path.join(self.app_dir(name), "status.json")) or {}
        except AppVmRecordError:
            return {}

    def save_definition(self, definition):
        directory = self.app_dir(definition["name"])
        os.makedirs(directory, exist_ok=True)
        _write_json(os.path.join(directory, "definition.json"), definition)

    def update_status(self, name, **changes):
        directory = self.app_dir(name)
        os.makedirs(directory, exist_ok=True)
        status = self.status(name)
        status.update(changes)
        _write_json(os.path.join(directory, "status.json"), status)
        return status

    def forget(self, name):
        directory = self.app_dir(name)
        for file_name in ("definition.json", "status.json", "xl.cfg"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, file_name))
        with contextlib.suppress(OSError):
            os.rmdir(directory)

    def recorded_names(self):
        try:
            return sorted(os.listdir(os.path.join(self.state_dir, "apps")))
        except FileNotFoundError:
            return []

    def console_log(self, name):
        """xenconsoled names a log after the domain as it first saw it: one that migrated in was still called
        `<name>--incoming`. The newer of the two files is the current incarnation's."""
        own = os.path.join(self.console_dir, "guest-%s.log" % name)
        incoming = os.path.join(self.console_dir, "guest-%s%s.log" % (name, INCOMING_SUFFIX))
        existing = [path for path in (own, incoming) if os.path.exists(path)]
        return max(existing, key=os.path.getmtime) if existing else own

    def console_size(self, name):
        try:
            return os.path.getsize(self.console_log(name))
        except FileNotFoundError:
            return 0

    # ------------------------------------------------------------ locking

    @contextlib.contextmanager
    def lock(self, name, purpose):
        """Exclusive per-app-VM lock; a second operation fails at once saying who holds it."""
        lock_dir = os.path.join(self.state_dir, "locks")
        os.makedirs(lock_dir, exist_ok=True)
        path = os.path.join(lock_dir, appvm.validate_name(name) + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
                raise AppVmBusy("app VM %r is busy: another operation holds its lock (%s)" % (name, holder))
            os.ftruncate(fd, 0)
            os.pwrite(fd, ("%s by pid %d since %s" % (purpose, os.getpid(), time.strftime("%H:%M:%S"))).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing drops the flock

    # ------------------------------------------------------------ reading the host

    def capacity(self):
        info = self.xl.info()
        return {"host": info.get("host"), "nr_cpus": info["nr_cpus"], "total_memory_mib": info.get("total_memory"),
                "free_memory_mib": info["free_memory"], "xen_version": "%s.%s" % (info.get("xen_major"),
                                                                                   info.get("xen_minor"))}

    def domains(self):
        """Domains other than dom0, keyed by name, with the image they were booted from."""
        domains = self.xl.domains()
        domains.pop("Domain-0", None)
        # xl shows "(null)" for a domain being built or torn down (its name is not in xenstore): not an app VM yet.
        domains.pop("(null)", None)
        for domain in domains.values():
            domain["image"] = appvm.image_of_kernel_path(domain.get("kernel"), self.image_store)
        return domains

    def definition_from_domain(self, domain):
        """Best reconstruction of a running domain's definition (e.g. one that migrated in): the network from its
        NIC and the leading fc.* kernel options, the args from what follows them and the image's cmdline."""
        image = domain.get("image")
        _options, args = appvm.split_kernel_options(domain.get("cmdline"))
        kind = None
        if image:
            try:
                manifest = appvm.load_manifest(image, self.image_store)
                kind = manifest["kind"]
                base = manifest.get("cmdline") or ""
                if base and args.startswith(base):
                    args = args[len(base):].strip()
            except appvm.AppVmError:
                pass
        return {"name": domain["name"], "image": image, "kind": kind, "memory_mib": domain.get("memory_mib"),
                "vcpus": domain.get("vcpus"), "args": args,
                "network": appvm.network_from_domain(domain.get("nics"), domain.get("cmdline"))}

    def exit_status_of(self, domain):
        """(status, reason) of a finished domain: xenstore first, then the console's last word."""
        value = None
        try:
            value = self.xl.xenstore_read("/local/domain/%d/data/exit-status" % domain["domid"])
        except ToolstackError:
            value = None
        crashed = domain["state"] == "crashed"
        if value is not None and re.fullmatch(r"-?\d+", value):
            return int(value), "crashed" if crashed else "exit"
        matches = EXIT_LINE.findall(self.console_tail(domain["name"]))
        if matches:
            return int(matches[-1]), "crashed" if crashed else "exit"
        if crashed:
            return None, "crashed"
        return 0, "poweroff"  # an OS without the exit-status contract (Linux) powered off cleanly

    def console_tail(self, name, size=4096):
        path = self.console_log(name)
        try:
            with open(path, "rb") as handle:
                start = max(self.status(name).get("console_offset", 0), os.path.getsize(path) - size)
                handle.seek(start)
                return handle.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def reap(self, domains=None):
        """Record the exit status of every finished app VM and clear its preserved domain."""
        domains = self.domains() if domains is None else domains
        reaped = []
        for name, domain in list(domains.items()):
            if domain["state"] not in ("shutdown", "crashed") or not appvm.NAME_PATTERN.match(name):
                continue
            defined = self.readable_definition(name)
            if domain.get("image") is None and defined is None:
                continue  # not booted from our image store nor defined here: someone else's domain
            status, reason = self.exit_status_of(domain)
            if defined is None:
                self.save_definition(self.definition_from_domain(domain))
            self.update_status(name, exit_status=status, exit_reason=reason,
                               finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            try:
                self.xl.destroy(name)
            except ToolstackError:
                if name in self.domains():
                    raise
            domains.pop(name)
            reaped.append(name)
        return reaped

    def app_vms(self, include_stopped=True, reap=True):
        """Every app VM here: live domains plus stopped ones we hold a definition for.

        With reap=False (read-only callers) finished domains are reported as stopped, not cleared.
        """
        domains = self.domains()
        views = []
        finished = set()
        if reap:
            self.reap(domains)
        else:
            for name, domain in list(domains.items()):
                if domain["state"] in ("shutdown", "crashed"):
                    status, reason = self.exit_status_of(domain)
                    definition = self.readable_definition(name) or self.definition_from_domain(domain)
                    views.append(dict(definition, name=name, state="stopped", domid=domain["domid"],
                                      cpu_time_s=domain["cpu_time_s"], exit_status=status, exit_reason=reason))
                    finished.add(name)
                    del domains[name]
        for name, domain in sorted(domains.items()):
            definition = self.readable_definition(name) or self.definition_from_domain(domain)
            # A live domain's network is what Xen holds (`xl list -l`), not what was asked for.
            network = appvm.network_from_domain(domain.get("nics"), domain.get("cmdline")) or definition.get("network")
            views.append(dict(definition, name=name, state=domain["state"], domid=domain["domid"],
                              memory_mib=domain["memory_mib"], vcpus=domain["vcpus"], cpu_time_s=domain["cpu_time_s"],
                              exit_status=None, exit_reason=None, network=network))
        if include_stopped:
            views += self.recorded_views(exclude=set(domains) | finished)
        return views

    def recorded_views(self, exclude=()):
        """Stopped app VMs from their records. One whose definition cannot be read (a cloud VM that crashed while
        writing it, before records were synced) is listed with record_error, so it can be seen and removed."""
        views = []
        for name in self.recorded_names():
            if name in exclude:
                continue
            try:
                definition = self.definition(name)
            except AppVmRecordError as exc:
                definition = dict(dict.fromkeys(("kind",) + appvm.IDENTITY_KEYS), name=name, record_error=str(exc))
            if definition is None:
                continue
            status = self.status(name)
            views.append(dict(definition, state="stopped", domid=None, cpu_time_s=None,
                              exit_status=status.get("exit_status"), exit_reason=status.get("exit_reason"),
                              finished_at=status.get("finished_at")))
        return views

    def usage(self, name=None, interval=1.0, include_stopped=True, reap=True):
        """App VMs with CPU % over interval seconds and uptime, plus this cloud VM's capacity."""
        cpu = {}
        if interval > 0:
            first = self.xl.list_table()
            started = time.monotonic()
            time.sleep(interval)
            cpu = cpu_percent(first, self.xl.list_table(), time.monotonic() - started)
        uptimes = self.xl.uptime()
        views = self.app_vms(include_stopped=include_stopped, reap=reap)
        for view in views:
            alive = view["state"] in ALIVE_STATES
            view["cpu_percent"] = cpu.get(view["name"]) if alive else None
            view["uptime_s"] = uptimes.get(view["name"]) if alive else None
        capacity = self.capacity()
        capacity["app_vm_memory_mib"] = sum(view["memory_mib"] or 0 for view in views if view["state"] in ALIVE_STATES)
        capacity["cpu_percent_used"] = round(sum(value for key, value in cpu.items() if key != "Domain-0"), 1)
        # Every domain, dom0 included: near nr_cpus x 100 the cloud VM is saturated and its app VMs
        # get less than they ask for (the planner infers their demand then). None: not measured.
        capacity["cpu_percent_dom0"] = cpu.get("Domain-0")
        capacity["cpu_percent_busy"] = round(sum(cpu.values()), 1) if cpu else None
        if name:
            views = [view for view in views if view["name"] == name]
        return views, capacity

    def app_vm(self, name, reap=True):
        """Current view of one app VM, or None when it does not exist here."""
        for view in self.app_vms(reap=reap):
            if view["name"] == name:
                return view
        return None

    # ------------------------------------------------------------ changing the host

    def build_definition(self, name, image, memory=None, vcpus=1, args=None, network=None):
        appvm.validate_name(name)
        manifest = appvm.load_manifest(image, self.image_store)
        return appvm.make_definition(name, image, manifest, memory, vcpus, args, network)

    def has_bridge(self, bridge):
        return os.path.isdir(os.path.join(self.sys_class_net, appvm.parse_bridge(bridge), "bridge"))

    def check_network(self, definition, views=None):
        """Refuse a network this cloud VM cannot give: a missing bridge, or an address or MAC another app VM here
        already uses (running, paused or stopped: a stopped one gets its address back when it starts)."""
        network = definition.get("network")
        if not network:
            return
        problems = []
        if not self.has_bridge(network["bridge"]):
            problems.append("bridge %r does not exist on this cloud VM (roles/nested_xen creates %s; or set "
                            "network.bridge)" % (network["bridge"], appvm.DEFAULT_BRIDGE))
        script = appvm.vif_script_of(network)
        if not self.has_vif_script(script):
            problems.append("NIC hotplug script %s is not installed on this cloud VM (roles/flexcapsule_runtime "
                            "installs vif-flexcapsule; or set network.script: vif-bridge)"
                            % appvm.script_path(script, self.xen_scripts_dir))
        views = self.app_vms(reap=False) if views is None else views
        problems += appvm.network_conflicts(definition, views)
        if problems:
            raise appvm.AppVmError("app VM %r: %s" % (definition["name"], "; ".join(problems)))

    def has_vif_script(self, script):
        """libxl can run this NIC hotplug script here (a well-formed name, executable in place)."""
        return bool(appvm.SCRIPT_PATTERN.match(script)) and os.access(
            appvm.script_path(script, self.xen_scripts_dir), os.X_OK)

    def check_memory(self, memory_mib):
        capacity = self.capacity()
        if memory_mib > capacity["free_memory_mib"]:
            raise appvm.AppVmError("memory %d MiB is more than this cloud VM can give: %d MiB free of %s MiB"
                                   % (memory_mib, capacity["free_memory_mib"], capacity["total_memory_mib"]))

    def define(self, definition):
        self.save_definition(definition)

    def start(self, name):
        """Boot a defined app VM; checks the image and free memory before anything changes."""
        definition = self.definition(name)
        if definition is None:
            raise appvm.AppVmError("no app VM named %r is defined here" % name)
        manifest = appvm.load_manifest(definition["image"], self.image_store)
        self.check_memory(definition["memory_mib"])
        self.check_network(definition)
        config_path = os.path.join(self.app_dir(name), "xl.cfg")
        with open(config_path, "w") as handle:
            handle.write(appvm.render_xl_config(definition, manifest))
        self.update_status(name, console_offset=self.console_size(name), exit_status=None, exit_reason=None,
                           finished_at=None, started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.xl.create(config_path)

    def wait_until_finished(self, name, timeout=None, poll=1.0):
        """Wait for the app VM to finish; returns its view (stopped, with exit status) or None on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            domains = self.domains()
            domain = domains.get(name)
            if domain is None or domain["state"] not in ALIVE_STATES:
                self.reap(domains)
                return self.app_vm(name)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(poll)

    def stop(self, name, force=False, timeout=60):
        """Ask the app VM to shut down; destroy it after timeout only when force is set."""
        domains = self.domains()
        domain = domains.get(name)
        if domain is None:
            return
        if domain["state"] in ALIVE_STATES:
            if domain["state"] == "paused":
                self.xl.unpause(name)
            try:
                self.xl.shutdown(name)
            except ToolstackError:
                if not force:
                    raise
            if self.wait_until_finished(name, timeout=timeout) is not None:
                return
            if not force:
                raise appvm.AppVmError("app VM %r did not shut down within %ss after a shutdown request; "
                                       "use force to destroy it" % (name, timeout))
            self.xl.destroy(name)
            self.update_status(name, exit_status=None, exit_reason="destroyed",
                               finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            if self.readable_definition(name) is None:
                self.save_definition(self.definition_from_domain(domain))
        else:
            self.reap(domains)

    def remove(self, name, force=True, timeout=60):
        self.stop(name, force=force, timeout=timeout)
        self.forget(name)
