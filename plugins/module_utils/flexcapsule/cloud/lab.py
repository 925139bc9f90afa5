"""The lab provider: cloud VMs are QEMU VMs on this machine, booted from the lab's cloud image.

Everything the lab creates is recorded in its state directory (lab.json) and carries the marker
`flexcapsule-lab:<netns>:` in the QEMU process name, so a killed or crashed lab is found and cleaned
by the next run instead of leaving it stuck.
"""
import fcntl
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..planner.catalog import load_catalog
from .lab_image import build_image
from .lab_xen_image import build_xen_image
from .lab_network import LabNetwork
from .provider import CloudError, CloudProvider, CloudVM, validate_name

REPO = Path(__file__).resolve().parents[4]
QEMU_OVERHEAD_MIB = 256      # QEMU's own memory per cloud VM, on top of the guest's
HOST_RESERVE_MIB = 2048      # left to the host and the control node
FIRST_HOST_INDEX = 11
VPC_PREFIX = "10.77.0."
# What cloud VMs boot from: "xen", the cloud image with nested_xen's install baked in (a custom cloud image), or
# "plain", the cloud image without Xen (the Molecule scenario takes nested_xen through its whole path on it).
IMAGE_KINDS = ("xen", "plain")
SSH_WAIT_SECONDS = 420


def _log(message):
    print(f"[lab] {message}", file=sys.stderr, flush=True)


def _pid_alive(pid, marker):
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return marker in cmdline


def _host_memory_mib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise CloudError("cannot read MemTotal from /proc/meminfo")


class LabProvider(CloudProvider):
    def __init__(self, project_dir=None, netns=None, accel="auto", cache_dir=None, state_dir=None,
                 inventory_dir=None, image=None):
        project = Path(project_dir or REPO)
        self.project_dir = project
        self.image_kind = image or os.environ.get("FLEXCAPSULE_LAB_IMAGE", "xen")
        if self.image_kind not in IMAGE_KINDS:
            raise CloudError(f"unknown lab image {self.image_kind!r}: choose one of {', '.join(IMAGE_KINDS)}")
        self.state_dir = Path(state_dir or os.environ.get("FLEXCAPSULE_LAB_DIR", project / ".lab"))
        self.inventory_dir = Path(inventory_dir or os.environ.get("FLEXCAPSULE_LAB_INVENTORY",
                                                                 project / "inventory" / "lab"))
        self.catalog = load_catalog(project / "catalog" / "instance_types.yml", kind="lab")
        self.cache_dir = Path(cache_dir or os.environ.get("FLEXCAPSULE_CACHE", "/var/cache/flexcapsule"))
        self.recipe_dir = project / "roles" / "lab_cloud" / "files" / "image"
        netns = netns or os.environ.get("FLEXCAPSULE_LAB_NETNS", "flexlab")
        self.network = LabNetwork(netns=netns)
        self.accel = accel
        self.marker = f"flexcapsule-lab:{netns}:"

    # --- state -------------------------------------------------------------------------------------
    @property
    def state_file(self):
        return self.state_dir / "lab.json"

    @property
    def key_file(self):
        return self.state_dir / "id_ed25519"

    def _load(self):
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {"vms": {}}

    def _save(self, state):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self.state_file)
        self._write_inventory(state)

    @contextmanager
    def _locked(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    # --- provider interface --------------------------------------------------------------------------
    def instance_types(self):
        return dict(self.catalog.types)

    def list_vms(self):
        state = self._load()
        return [self._vm(name, rec) for name, rec in sorted(state["vms"].items())]

    def _vm(self, name, rec):
        itype = self.catalog.types[rec["type"]]
        running = _pid_alive(rec.get("pid", -1), self.marker + name)
        return CloudVM(name=name, instance_type=rec["type"], address=rec["address"],
                       state="running" if running else "crashed", vcpus=itype.vcpus,
                       memory_mib=itype.memory_mib, price_per_hour=itype.price_per_hour,
                       extra={"maps_to": itype.maps_to, "mac": rec["vpc_mac"], "pid": rec.get("pid"),
                              "console_log": rec["console_log"],
                              "boot_to_ssh_seconds": rec.get("boot_to_ssh_seconds")})

    def connection_vars(self, vm):
        return {
            "ansible_host": vm.address,
            "ansible_user": "root",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(self.key_file),
            "ansible_ssh_common_args": " ".join(shlex.quote(a) for a in self._ssh_options()),
        }

    def validate_request(self, vms):
        """Checks a list of {name, type} against the catalog, each other and host memory; raises early."""
        state = self._load()
        seen = set()
        new_mib = 0
        for spec in vms:
            name = validate_name(spec.get("name"))
            if name in seen:
                raise CloudError(f"duplicate cloud VM name {name!r}")
            seen.add(name)
            itype = self.instance_type(spec.get("type"))
            current = state["vms"].get(name)
            if current and current["type"] != itype.name:
                raise CloudError(f"cloud VM {name} exists as {current['type']}; a cloud VM cannot be resized "
                                 f"in place: add a new one of type {itype.name} and move the app VMs")
            if not current:
                new_mib += itype.memory_mib + QEMU_OVERHEAD_MIB
        used = sum(self.catalog.types[rec["type"]].memory_mib + QEMU_OVERHEAD_MIB
                   for rec in state["vms"].values())
        budget = _host_memory_mib() - HOST_RESERVE_MIB
        if used + new_mib > budget:
            raise CloudError(f"not enough host memory: the lab would need {used + new_mib} MiB "
                             f"(guests + {QEMU_OVERHEAD_MIB} MiB QEMU overhead each), the host can give {budget} MiB")

    def create_vm(self, name, instance_type):
        return self.create_vms([{"name": name, "type": instance_type}])[0]

    def create_vms(self, specs):
        """Boots every missing or crashed cloud VM of specs at once, then waits for all of them."""
        self.validate_request(specs)
        booted = []
        with self._locked():
            image = self.ensure_image()
            self.ensure_network()
            state = self._load()
            for spec in specs:
                name = spec["name"]
                rec = state["vms"].get(name)
                if rec and _pid_alive(rec.get("pid", -1), self.marker + name):
                    continue
                if rec and rec.get("image") != str(image):
                    _log(f"{name}: its base image changed; starting it afresh")
                    self._discard(name, rec)
                    rec = None
                if rec:
                    _log(f"{name}: QEMU is gone (killed or crashed); booting it again from its disk")
                else:
                    rec = self._allocate(state, name, spec["type"], image)
                state["vms"][name] = rec
                self._launch(name, rec)
                self._save(state)
                booted.append((name, rec))
        for name, rec in booted:
            self._wait_ssh(name, rec)
        with self._locked():
            state = self._load()
            for name, rec in booted:
                if name in state["vms"]:
                    state["vms"][name]["boot_to_ssh_seconds"] = rec.get("boot_to_ssh_seconds")
            self._save(state)
        return [self._vm(spec["name"], state["vms"][spec["name"]]) for spec in specs]

    def delete_vm(self, name):
        validate_name(name)
        with self._locked():
            state = self._load()
            rec = state["vms"].pop(name, None)
            if rec is None:
                return False
            self._discard(name, rec)
            self._save(state)
        return True

    # --- lab-wide operations ---------------------------------------------------------------------------
    def ensure_image(self):
        image, built = build_image(self.recipe_dir, self.cache_dir / "lab-images")
        if built:
            _log(f"built cloud image {image}")
        if self.image_kind == "xen":
            image, built = build_xen_image(image, self.project_dir, self.cache_dir / "lab-images",
                                           self.group_vars())
            if built:
                _log(f"baked Xen-ready cloud image {image}")
        return image

    def group_vars(self):
        """Variables every lab cloud VM gets (the inventory's, and the Xen-ready image's bake)."""
        return {"flexcapsule_provider": "lab", "flexcapsule_dom0_memory_mib": self.catalog.dom0_memory_mib,
                "nested_xen_bridge_uplink": "eth1"}

    def ensure_network(self):
        changes = self.network.ensure()
        if not self.key_file.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flexcapsule-lab",
                            "-f", str(self.key_file)], check=True)
            changes.append("lab ssh key")
        return changes

    def cleanup_stale(self):
        """Removes what a killed lab left: dead VMs' records and taps, orphan QEMU processes."""
        cleaned = []
        with self._locked():
            state = self._load()
            known_pids = set()
            for name, rec in list(state["vms"].items()):
                if _pid_alive(rec.get("pid", -1), self.marker + name):
                    known_pids.add(rec["pid"])
            for pid in self._marked_pids():
                if pid not in known_pids:
                    os.kill(pid, signal.SIGKILL)
                    cleaned.append(f"orphan QEMU pid {pid}")
            tracked = {rec["tap"] for rec in state["vms"].values()}
            for tap in self.network.list_taps():
                if tap.startswith("flt") and tap not in tracked:
                    self.network.delete_tap(tap)
                    cleaned.append(f"tap {tap}")
        return cleaned

    def destroy(self):
        """lab_state=absent: no QEMU process, tap, bridge, netns, disk or inventory is left."""
        removed = []
        with self._locked():
            state = self._load()
            for name, rec in sorted(state["vms"].items()):
                self._discard(name, rec)
                removed.append(f"cloud VM {name}")
            for pid in self._marked_pids():
                os.kill(pid, signal.SIGKILL)
                removed.append(f"orphan QEMU pid {pid}")
            if self.network.destroy():
                removed.append(f"netns {self.network.netns}")
            inventory = self.inventory_dir / "hosts.yml"
            if inventory.exists():
                inventory.unlink()
                removed.append(str(inventory))
        if self.state_dir.exists():
            for path in sorted(self.state_dir.rglob("*"), reverse=True):
                path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()
            self.state_dir.rmdir()
            removed.append(str(self.state_dir))
        return removed

    # --- SSH -------------------------------------------------------------------------------------------
    def _ssh_options(self):
        proxy = " ".join(self.network.exec_argv(["nc", "%h", "%p"]))
        return ["-o", f"ProxyCommand={proxy}", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30",
                "-o", "IdentitiesOnly=yes", "-o", "ServerAliveInterval=15"]

    def ssh_argv(self, name, remote_argv, tty=False):
        vm = self._require(name)
        remote = " ".join(shlex.quote(a) for a in remote_argv)
        return ["ssh", *(["-t"] if tty else []), "-i", str(self.key_file), *self._ssh_options(),
                *self._multiplex_options(), f"root@{vm.address}", remote]

    def scp_argv(self, name, local, remote):
        vm = self._require(name)
        return ["scp", "-r", "-q", "-i", str(self.key_file), *self._ssh_options(), *self._multiplex_options(),
                str(local), f"root@{vm.address}:{remote}"]

    def _control_path(self):
        # Per netns: two labs may both have a VM at 10.77.0.11. Under /tmp: a socket path must stay short.
        return os.path.join(tempfile.gettempdir(), f"flexcapsule-{self.network.netns}-%C")

    def _multiplex_options(self):
        """labctl's many short commands share one SSH connection per VM: a new key exchange costs the
        emulated dom0 about 4 s, a multiplexed session 0.5 s. (Ansible multiplexes on its own.)"""
        return ["-o", "ControlMaster=auto", "-o", f"ControlPath={self._control_path()}",
                "-o", "ControlPersist=120"]

    def _close_master(self, rec):
        """A VM that goes away must not leave a master a new VM at its address would be reached through."""
        subprocess.run(["ssh", "-o", f"ControlPath={self._control_path()}", "-O", "exit", f"root@{rec['address']}"],
                       capture_output=True, timeout=30, check=False, stdin=subprocess.DEVNULL)

    def _require(self, name):
        vm = self.get_vm(name)
        if vm is None:
            raise CloudError(f"no cloud VM named {name!r} in the lab")
        return vm

    # --- internals -------------------------------------------------------------------------------------
    def _marked_pids(self):
        pids = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and _pid_alive(int(proc.name), self.marker):
                pids.append(int(proc.name))
        return pids

    def _allocate(self, state, name, instance_type, image):
        used = {rec["index"] for rec in state["vms"].values()}
        index = next(i for i in range(FIRST_HOST_INDEX, 250) if i not in used)
        vm_dir = self.state_dir / "vms" / name
        vm_dir.mkdir(parents=True, exist_ok=True)
        overlay = vm_dir / "disk.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image),
                        str(overlay)], check=True)
        rec = {"type": instance_type, "index": index, "address": f"{VPC_PREFIX}{index}",
               "vpc_mac": f"52:54:00:77:00:{index:02x}", "uplink_mac": f"52:54:00:ff:00:{index:02x}",
               "tap": f"flt{index}", "dir": str(vm_dir), "disk": str(overlay), "image": str(image),
               "seed": str(vm_dir / "seed.img"), "console_log": str(vm_dir / "console.log")}
        self._write_seed(name, rec)
        return rec

    def _write_seed(self, name, rec):
        with tempfile.TemporaryDirectory() as seed:
            seed = Path(seed)
            (seed / "hostname").write_text(name + "\n")
            (seed / "authorized_keys").write_text(Path(f"{self.key_file}.pub").read_text())
            # Lab only: every dom0 may ssh to every other (xl migrate's default transport).
            (seed / "id_ed25519").write_text(self.key_file.read_text())
            (seed / "vpc_mac").write_text(rec["vpc_mac"] + "\n")
            # The VM's SSH host key, made here as a cloud's metadata service hands one over: generating keys
            # inside the VM costs seconds of its first boot under TCG.
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}",
                            "-f", str(seed / "ssh_host_ed25519_key")], check=True)
            (seed / "vpc_address").write_text(f"{rec['address']}/{self.network.prefix_len}\n")
            Path(rec["seed"]).unlink(missing_ok=True)
            subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "FLEXSEED", "-d", str(seed), rec["seed"], "4M"],
                           check=True, capture_output=True)

    def _accel(self):
        if self.accel != "auto":
            return self.accel
        cached = self.state_dir / "accel"
        if not cached.exists():
            from .accel_probe import choose_accel
            cached.write_text(choose_accel())
        return cached.read_text().strip()

    def _launch(self, name, rec):
        itype = self.catalog.types[rec["type"]]
        self.network.ensure_tap(rec["tap"])
        tap_fd = self.network.open_tap(rec["tap"])
        accel = self._accel()
        vm_dir = Path(rec["dir"])
        argv = [
            # -nodefaults: a cloud VM's hardware, no VGA, parallel port, floppy or CD-ROM; under TCG each of them
            # costs the boot firmware probing and a kernel module load.
            "qemu-system-x86_64", "-name", f"{self.marker}{name}", "-nodefaults",
            "-machine", "pc", "-accel", "tcg,thread=multi,tb-size=256" if accel == "tcg" else accel,
            "-cpu", "qemu64" if accel == "tcg" else "host", "-smp", str(itype.vcpus), "-m", str(itype.memory_mib),
            "-drive", f"file={rec['disk']},if=virtio,format=qcow2,cache=unsafe,discard=unmap",
            "-drive", f"file={rec['seed']},if=virtio,format=raw,readonly=on",
            "-netdev", "user,id=uplink", "-device", f"virtio-net-pci,netdev=uplink,mac={rec['uplink_mac']}",
            "-netdev", f"tap,id=vpc,fd={tap_fd}",
            "-device", f"virtio-net-pci,netdev=vpc,mac={rec['vpc_mac']}",
            "-display", "none", "-serial", f"file:{rec['console_log']}",
            "-qmp", f"unix:{vm_dir / 'qmp.sock'},server=on,wait=off",
            "-pidfile", str(vm_dir / "qemu.pid"), "-daemonize",
        ]
        _log(f"{name}: booting {rec['type']} ({itype.vcpus} vCPU, {itype.memory_mib} MiB, accel {accel}) "
             f"at {rec['address']}")
        try:
            proc = subprocess.run(argv, pass_fds=(tap_fd,), capture_output=True, text=True, timeout=60)
        finally:
            os.close(tap_fd)
        if proc.returncode != 0:
            raise CloudError(f"QEMU failed to start {name} (rc={proc.returncode}): {proc.stderr.strip()}")
        rec["pid"] = int((vm_dir / "qemu.pid").read_text())
        rec["started"] = time.time()

    def _wait_ssh(self, name, rec):
        deadline = time.monotonic() + SSH_WAIT_SECONDS
        started = time.monotonic()
        while time.monotonic() < deadline:
            if not _pid_alive(rec["pid"], self.marker + name):
                raise CloudError(f"{name}: QEMU exited during boot; console tail:\n{self._console_tail(rec)}")
            probe = subprocess.run(self.ssh_argv(name, ["true"]), capture_output=True, timeout=60,
                                   stdin=subprocess.DEVNULL)
            if probe.returncode == 0:
                _log(f"{name}: SSH up after {time.monotonic() - started:.0f}s")
                rec["boot_to_ssh_seconds"] = round(time.time() - rec["started"], 1)
                return
            time.sleep(3)
        raise CloudError(f"{name}: no SSH after {SSH_WAIT_SECONDS}s; console tail:\n{self._console_tail(rec)}")

    @staticmethod
    def _console_tail(rec, lines=15):
        try:
            return "\n".join(Path(rec["console_log"]).read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no console log)"

    def _discard(self, name, rec):
        self._close_master(rec)
        pid = rec.get("pid", -1)
        if _pid_alive(pid, self.marker + name):
            os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                if not _pid_alive(pid, self.marker + name):
                    break
                time.sleep(0.1)
        self.network.delete_tap(rec["tap"])
        vm_dir = Path(rec["dir"])
        if vm_dir.exists():
            for path in sorted(vm_dir.rglob("*"), reverse=True):
                path.unlink() if not path.is_dir() else path.rmdir()
            vm_dir.rmdir()

    def _write_inventory(self, state):
        """inventory/lab/hosts.yml: every cloud VM with its address, type, capacity and price."""
        import yaml

        hosts = {}
        for name, rec in sorted(state["vms"].items()):
            vm = self._vm(name, rec)
            hosts[name] = {**self.connection_vars(vm),
                           "flexcapsule_instance_type": vm.instance_type,
                           "flexcapsule_maps_to": vm.extra["maps_to"],
                           "flexcapsule_price_per_hour": vm.price_per_hour,
                           "flexcapsule_vcpus": vm.vcpus,
                           "flexcapsule_memory_mib": vm.memory_mib,
                           "flexcapsule_vpc_address": vm.address}
        inventory = {"all": {"vars": self.group_vars(),
                             "children": {"cloud_vms": {"hosts": hosts}}}}
        self.inventory_dir.mkdir(parents=True, exist_ok=True)
        target = self.inventory_dir / "hosts.yml"
        tmp = target.with_suffix(".tmp")
        tmp.write_text("# Generated by the lab provider (playbooks/lab.yml); do not edit.\n"
                       + yaml.safe_dump(inventory, sort_keys=True))
        os.replace(tmp, target)
