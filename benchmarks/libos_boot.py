#!/usr/bin/env python3
"""FlexCapsule OS against a Linux PV app VM, side by side on the lab's nested Xen (needs .lab/READY).

The same kind of app (a counter printing a line every interval) runs in a FlexCapsule OS app VM and in a
Linux PV app VM (dom0's Debian kernel plus the busybox initramfs linux_appvm deploys), in the same run and
on the same cloud VMs, so the ratios hold even on a noisy machine. Per kind:

  image_size_bytes            FlexCapsule: the stripped kernel.elf; Linux: vmlinuz + initrd.img
  smallest_memory_mib         smallest xl.cfg `memory` in which the app prints two counter lines
  create_to_first_line_ms     `xl create` start -> first console line in dom0's console log (median)
  create_to_first_app_ms      `xl create` start -> the app's first counter line there (median)
  toolstack_build_ms          `xl create -p`: the toolstack builds the domain, paused (median)
  unpause_to_first_line_ms    `xl unpause` -> first console line: the guest's own boot (median)
  save_ms / save_bytes / restore_ms   xl save / restore at the kind's default memory
  migrate_ms                  live migration cloud1 <-> cloud2 at the kind's default memory (median)

FlexCapsule only:
  migrate_ms_<N>mib           memtouch (4 MiB touched) configured with 8 and 256 MiB
  consecutive_migrations      migrations the counter survived (counter strictly increasing)

Prints the table, writes results/libos_vs_linux.csv and results/libos_vs_linux.png.
Usage: .venv/bin/python benchmarks/libos_boot.py [--repeat 3] [--migrations 20] [--skip linux] ...
"""
import argparse
import csv
import json
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
sys.path.insert(0, os.path.join(ROOT, "plugins", "module_utils"))

import test_libos_boot as lab  # noqa: E402  (the lab helpers live with the lab test)
from flexcapsule import appvm, runtime  # noqa: E402

RESULTS = os.path.join(ROOT, "results")
LINUX_STORE = "/var/lib/flexcapsule/images/linux-smoke"  # where linux_appvm (smoke.yml) deployed it
CONSOLE_LOG_DIR = runtime.Runtime().console_dir  # where nested_xen has xenconsoled log each app VM

# Both probes run in dom0 and read the app VM's output where dom0 first has it: the console log xenconsoled writes
# as the guest's console ring fills (what `capsule logs` reads), woken by inotify rather than polling, which would
# take the one vCPU the guest shares with dom0. `xl create -c` is no probe: xl sleeps a fixed second before it
# starts the console client, and with -c it unpauses the guest only once the client is attached.
# Both kinds run the xl binary the runtime runs (flexcapsule.xl.resolve_binary: Debian's version wrapper skipped).
WATCH_LOG = r"""
import ctypes, os, re, select, subprocess, sys, time
sys.path.insert(0, "/usr/local/lib/flexcapsule")  # the runtime, as the flexcapsule_runtime role installs it
from flexcapsule.xl import resolve_binary
XL = resolve_binary("xl")
libc = ctypes.CDLL(None, use_errno=True)
IN_MODIFY, IN_CREATE = 0x2, 0x100


def watch(log_dir):
    # an inotify descriptor on the log directory, made before the domain exists so no write is missed
    fd = libc.inotify_init1(os.O_NONBLOCK)
    if fd < 0 or libc.inotify_add_watch(fd, log_dir.encode(), IN_MODIFY | IN_CREATE) < 0:
        sys.exit("inotify on %s failed: errno %d" % (log_dir, ctypes.get_errno()))
    return fd


def wait_output(fd, path, pattern, since, timeout=180):
    # ms from `since` to the first console line and to the first line matching pattern (-1: not seen)
    first_line = first_app = -1
    while first_app < 0 and time.monotonic() - since < timeout:
        select.select([fd], [], [], 1.0)
        try:
            os.read(fd, 65536)
        except BlockingIOError:
            pass
        now = int((time.monotonic() - since) * 1000)
        try:
            seen = open(path, "rb").read()
        except FileNotFoundError:
            continue
        if first_line < 0 and any(line.strip() for line in seen.split(b"\n")[:-1]):
            first_line = now
        if pattern.search(seen):
            first_app = now
    return first_line, first_app


log_dir, name, pattern, cfg = sys.argv[1], sys.argv[2], re.compile(sys.argv[3].encode()), sys.argv[4]
overrides = sys.argv[5:]
log = os.path.join(log_dir, "guest-%s.log" % name)
try:
    os.unlink(log)
except FileNotFoundError:
    pass
fd = watch(log_dir)
"""

# Prints: `xl create` start -> first console line, -> first app line (ms).
FIRST_LINE_PROBE = WATCH_LOG + r"""
start = time.monotonic()
subprocess.Popen([XL, "create", cfg] + overrides, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(*wait_output(fd, log, pattern, start))
"""

# The same boot split in two: `xl create -p` builds the domain paused (the toolstack alone), then `xl unpause` ->
# first console line (the guest's own boot, plus the unpause command, which counts against us). Prints both (ms).
SPLIT_PROBE = WATCH_LOG + r"""
start = time.monotonic()
subprocess.run([XL, "create", "-p", cfg] + overrides, check=True, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
built = time.monotonic()
subprocess.Popen([XL, "unpause", name])
print(int((built - start) * 1000), wait_output(fd, log, pattern, built)[0])
"""

class FlexCapsuleKind:
    name = "flexcapsule"
    app = "counter"
    default_memory = 8
    memory_steps = (8, 6, 5, 4, 3, 2)
    app_pattern = r"counter \d+"

    own_kernel = True  # the image's kernel.elf, pushed to the dom0 next to its xl.cfg

    def cmdline(self):
        return "--interval-ms 200"

    def image_size(self):
        return os.path.getsize(os.path.join(lab.IMAGES, self.app, "kernel.elf"))

    def cfg(self):
        return "%s/%s/xl.cfg" % (lab.REMOTE, self.app)

    def overrides(self, name, memory=None):
        return lab.xl_overrides(name, self.app, memory, self.cmdline(), self.own_kernel)

    def create(self, vm, name, memory=None):
        lab.create(vm, name, self.app, memory=memory or self.default_memory, cmdline=self.cmdline(),
                   own_kernel=self.own_kernel)


class LinuxKind(FlexCapsuleKind):
    name = "linux"
    app = "linux-smoke"
    default_memory = 96  # linux_appvm's default, what the smoke app VM runs in
    memory_steps = (96, 64, 48, 40, 32, 24)
    own_kernel = False  # the Debian kernel and initramfs the xl.cfg names

    def cmdline(self):
        return None  # the manifest's (console=hvc0 quiet)

    def image_size(self):
        out = lab.on("cloud1", "stat", "-c", "%s", LINUX_STORE + "/vmlinuz", LINUX_STORE + "/initrd.img",
                     check=True).stdout.split()
        return sum(int(size) for size in out)

    def prepare(self, vm):
        """The xl.cfg the runtime would write for this image, from the manifest linux_appvm deployed."""
        manifest = json.loads(lab.on(vm, "cat", LINUX_STORE + "/manifest.json", check=True).stdout)
        manifest["directory"] = LINUX_STORE
        definition = appvm.make_definition(self.app, self.app, manifest, memory=self.default_memory)
        lab.on(vm, "mkdir", "-p", "%s/%s" % (lab.REMOTE, self.app), check=True)
        lab.on(vm, "sh", "-c", 'cat > "$1"', "-", self.cfg(), check=True,
               input_text=appvm.render_xl_config(definition, manifest))


FLEXCAPSULE, LINUX = FlexCapsuleKind(), LinuxKind()


def runs_in(kind, memory, timeout=180):
    """True when the app prints two lines in `memory` MiB; False as soon as the domain dies or times out."""
    name = "k-bench-mem"
    try:
        kind.create("cloud1", name, memory)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(re.findall(kind.app_pattern, lab.console("cloud1", name))) >= 2:
                return True
            state = lab.domain_state("cloud1", name)
            if state is None or "c" in state or "s" in state:
                return False
            time.sleep(2)
        return False
    except AssertionError:
        return False
    finally:
        lab.destroy("cloud1", name)


def smallest_memory(kind):
    smallest = None
    for memory in kind.memory_steps:
        if not runs_in(kind, memory):
            break
        smallest = memory
    return smallest


def probe_samples(kind, probe, name, repeat):
    """Runs a boot probe in cloud1's dom0 `repeat` times; returns its (ms, ms) pairs that saw a line."""
    samples = []
    for _ in range(repeat):
        lab.destroy("cloud1", name)
        out = lab.on("cloud1", "python3", "-c", probe, CONSOLE_LOG_DIR, name, kind.app_pattern, kind.cfg(),
                     *kind.overrides(name), timeout=300, check=True).stdout.split()
        lab.destroy("cloud1", name)
        if len(out) == 2 and int(out[1]) >= 0:
            samples.append((int(out[0]), int(out[1])))
    return samples


def first_line_ms(kind, repeat):
    """Samples of (create -> first console line, create -> first app line) in ms."""
    return probe_samples(kind, FIRST_LINE_PROBE, "k-bench-boot", repeat)


def split_boot_ms(kind, repeat):
    """Samples of (xl create -p, xl unpause -> first console line) in ms."""
    return probe_samples(kind, SPLIT_PROBE, "k-bench-split", repeat)


def save_restore(kind):
    name = "k-bench-save"
    path = "%s/%s.save" % (lab.REMOTE, name)
    kind.create("cloud1", name)
    try:
        lab.wait_console("cloud1", name, kind.app_pattern, count=2)
        out = lab.sh("cloud1", "s=$(date +%%s%%N); xl save %s %s >/dev/null; m=$(date +%%s%%N); "
                               "xl restore %s >/dev/null; e=$(date +%%s%%N); "
                               "echo $(( (m-s)/1000000 )) $(( (e-m)/1000000 )) $(stat -c %%s %s)"
                     % (name, path, path, path), timeout=600).stdout.split()
        return int(out[0]), int(out[1]), int(out[2])
    finally:
        lab.destroy("cloud1", name)
        lab.on("cloud1", "rm", "-f", path)


def migrate_there_and_back(kind, repeat, memory=None, app_check=None):
    """Migration times in ms; the app must keep printing on every host it lands on."""
    name = "k-bench-mig-%s" % kind.name
    kind.create("cloud1", name, memory)
    samples = []
    here, there = "cloud1", "cloud2"
    try:
        lab.wait_console("cloud1", name, app_check or kind.app_pattern, count=2)
        for _ in range(repeat):
            samples.append(lab.migrate(here, name, there) * 1000)
            lab.start_capture(there, name)
            text = lab.wait_console(there, name, app_check or kind.app_pattern, count=2, timeout=180)
            assert "MISMATCH" not in text, text[-1000:]
            here, there = there, here
    finally:
        for vm in lab.ADDRESS:
            lab.destroy(vm, name)
    return samples


class MemtouchKind(FlexCapsuleKind):
    """4 MiB touched and dirtied at 2 MiB/s whatever the configured memory."""
    name = "memtouch"
    app = "memtouch"
    app_pattern = lab.MEMTOUCH_OK

    def cmdline(self):
        return "--mib 4 --rate 2"


def consecutive_migrations(limit):
    name = "k-bench-chain"
    FLEXCAPSULE.create("cloud1", name)
    here, there = "cloud1", "cloud2"
    done, last = 0, -1
    try:
        lab.wait_console("cloud1", name, lab.COUNTER_LINE.pattern, count=2)
        for _ in range(limit):
            try:
                lab.migrate(here, name, there)
                lab.start_capture(there, name)
                values = lab.counters(lab.wait_console(there, name, lab.COUNTER_LINE.pattern, count=2,
                                                       timeout=120))
            except AssertionError as error:
                print("migration %d failed: %s" % (done + 1, str(error)[:300]))
                break
            if values[0] <= last:
                print("counter went backwards after migration %d" % (done + 1))
                break
            last = values[-1]
            done += 1
            here, there = there, here
    finally:
        for vm in lab.ADDRESS:
            lab.destroy(vm, name)
    return done


def median(values):
    return round(statistics.median(values)) if values else None


def measure(kind, args, record):
    record(kind, "image_size_bytes", kind.image_size(), "B")
    if "memory" not in args.skip:
        record(kind, "smallest_memory_mib", smallest_memory(kind), "MiB")
    if "boot" not in args.skip:
        samples = first_line_ms(kind, args.repeat)
        record(kind, "create_to_first_line_ms", median([s[0] for s in samples]), "ms")
        record(kind, "create_to_first_app_ms", median([s[1] for s in samples]), "ms")
        record(kind, "boot_samples_ms", " ".join("%d/%d" % s for s in samples), "ms")
        split = split_boot_ms(kind, args.repeat)
        record(kind, "toolstack_build_ms", median([s[0] for s in split]), "ms")
        record(kind, "unpause_to_first_line_ms", median([s[1] for s in split]), "ms")
        record(kind, "split_samples_ms", " ".join("%d/%d" % s for s in split), "ms")
    if "save" not in args.skip:
        save, restore, size = save_restore(kind)
        record(kind, "save_ms", save, "ms")
        record(kind, "restore_ms", restore, "ms")
        record(kind, "save_bytes", size, "B")
    if "migrate" not in args.skip:
        samples = migrate_there_and_back(kind, 2 * args.repeat)
        record(kind, "migrate_ms", median(samples), "ms")
        record(kind, "migrate_samples_ms", " ".join("%d" % s for s in samples), "ms")


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["image_size_bytes", "smallest_memory_mib", "create_to_first_app_ms", "save_bytes", "save_ms",
               "migrate_ms"]
    value = {(r["kind"], r["metric"]): r["value"] for r in rows}
    shown = [m for m in metrics if isinstance(value.get(("linux", m)), (int, float))
             and isinstance(value.get(("flexcapsule", m)), (int, float)) and value[("flexcapsule", m)] > 0]
    if not shown:
        return None
    ratios = [value[("linux", m)] / value[("flexcapsule", m)] for m in shown]
    fig, axis = plt.subplots(figsize=(8, 4))
    axis.barh(shown, ratios, color="#3b7dd8")
    axis.set_xscale("log")
    axis.set_xlabel("Linux PV app VM / FlexCapsule OS app VM (log scale; > 1: FlexCapsule is smaller or faster)")
    for y, ratio in enumerate(ratios):
        axis.text(ratio, y, " %.1fx" % ratio, va="center")
    axis.axvline(1, color="grey", linewidth=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--migrations", type=int, default=20)
    parser.add_argument("--no-push", action="store_true", help="images are already in the dom0s")
    parser.add_argument("--skip", action="append", default=[],
                        help="skip a part: linux, memory, boot, save, migrate, memtouch, chain")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(ROOT, ".lab", "READY")):
        sys.exit("the lab is not up (.lab/READY missing)")
    missing = lab.without_runtime()  # the probes run the xl the runtime resolves
    if missing:
        sys.exit("%s: no FlexCapsule runtime: run playbooks/deploy.yml --tags runtime" % ", ".join(missing))
    lab.build_images()
    apps = sorted(os.listdir(lab.IMAGES))
    if not args.no_push:
        for vm in lab.ADDRESS:
            lab.push_images(vm, apps)
    kinds = [FLEXCAPSULE] + ([] if "linux" in args.skip else [LINUX])
    for vm in lab.ADDRESS:
        if LINUX in kinds:
            LINUX.prepare(vm)
    rows = []

    def record(kind, metric, value, unit=""):
        rows.append({"kind": kind.name, "metric": metric, "value": value, "unit": unit, "time": int(time.time())})
        print("%-12s %-30s %s %s" % (kind.name, metric, value, unit), flush=True)

    for kind in kinds:
        measure(kind, args, record)
    if "memtouch" not in args.skip:
        memtouch = MemtouchKind()
        for memory in (8, 256):
            samples = migrate_there_and_back(memtouch, args.repeat, memory=memory)
            record(memtouch, "migrate_ms_%dmib" % memory, median(samples), "ms")
            record(memtouch, "migrate_samples_ms_%dmib" % memory, " ".join("%d" % s for s in samples), "ms")
    if "chain" not in args.skip:
        record(FLEXCAPSULE, "consecutive_migrations", consecutive_migrations(args.migrations), "")

    value = {(r["kind"], r["metric"]): r["value"] for r in rows}
    print("\n%-26s %14s %14s %8s" % ("side by side", "flexcapsule", "linux", "ratio"))
    for metric in ("image_size_bytes", "smallest_memory_mib", "create_to_first_line_ms", "create_to_first_app_ms",
                   "toolstack_build_ms", "unpause_to_first_line_ms", "save_bytes", "save_ms", "restore_ms", "migrate_ms"):
        ours, theirs = value.get(("flexcapsule", metric)), value.get(("linux", metric))
        ratio = "%.1fx" % (theirs / ours) if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) \
            and ours else "-"
        print("%-26s %14s %14s %8s" % (metric, ours, theirs, ratio))
    m8, m256 = value.get(("memtouch", "migrate_ms_8mib")), value.get(("memtouch", "migrate_ms_256mib"))
    if m8 and m256:
        print("memtouch migration 256 MiB / 8 MiB configured: %.2f (must be <= 1.5)" % (m256 / m8))

    os.makedirs(RESULTS, exist_ok=True)
    suffix = "-skip-" + "-".join(args.skip) if args.skip else ""
    path = os.path.join(RESULTS, "libos_vs_linux%s.csv" % suffix)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["kind", "metric", "value", "unit", "time"])
        writer.writeheader()
        writer.writerows(rows)
    print("wrote", path)
    png = plot(rows, os.path.join(RESULTS, "libos_vs_linux%s.png" % suffix))
    if png:
        print("wrote", png)


if __name__ == "__main__":
    main()
