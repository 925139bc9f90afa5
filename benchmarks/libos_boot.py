#!/usr/bin/env python3
"""FlexCapsule OS figures on the lab's nested Xen (needs .lab/READY).

Prints and writes results/libos_boot.csv:
  image_size_bytes            per image (stripped kernel.elf)
  smallest_memory_mib         smallest xl.cfg `memory` that boots fc-selftest and exits 0
  create_to_first_line_ms     `xl create -c` start -> first console line, measured in dom0 (median)
  save_ms / save_bytes / restore_ms   xl save / restore of a counter app, 8 MiB configured
  migrate_ms_<N>mib           live migration of memtouch (4 MiB touched) configured with N MiB
  consecutive_migrations      migrations the counter app survived (counter strictly increasing)

Usage: .venv/bin/python benchmarks/libos_boot.py [--repeat 3] [--migrations 20]
"""
import argparse
import csv
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))

import test_libos_boot as lab  # noqa: E402  (the lab helpers live with the lab test)

RESULTS = os.path.join(ROOT, "results")

# Runs in dom0: time from starting `xl create -c` to the first console line of the guest.
FIRST_LINE_PROBE = r"""
import os, pty, subprocess, sys, time
argv = ["xl", "create", "-c"] + sys.argv[1:]
start = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
seen = b""
while b"[flexcapsule]" not in seen and time.monotonic() - start < 120:
    try:
        seen += os.read(fd, 4096)
    except OSError:
        break
print(int((time.monotonic() - start) * 1000) if b"[flexcapsule]" in seen else -1)
"""


def boots_with(memory):
    name = "k-bench-mem"
    try:
        lab.create("cloud1", name, "fc-selftest", memory=memory, cmdline="hello")
        lab.wait_shutdown("cloud1", name, timeout=120)
        return lab.exit_status("cloud1", name) == 0
    except AssertionError:
        return False
    finally:
        lab.destroy("cloud1", name)


def first_line_ms(repeat):
    name = "k-bench-boot"
    samples = []
    for _ in range(repeat):
        lab.destroy("cloud1", name)
        out = lab.on("cloud1", "python3", "-c", FIRST_LINE_PROBE, "%s/fc-selftest/xl.cfg" % lab.REMOTE,
                     'name="%s"' % name, 'kernel="%s/fc-selftest/kernel.elf"' % lab.REMOTE, 'cmdline="hello"',
                     timeout=300).stdout.strip()
        lab.destroy("cloud1", name)
        if out.lstrip("-").isdigit() and int(out) >= 0:
            samples.append(int(out))
    return samples


def save_restore():
    name = "k-bench-save"
    path = "%s/%s.save" % (lab.REMOTE, name)
    lab.create("cloud1", name, "fc-selftest", memory=8, cmdline="counter 500")
    try:
        lab.wait_console("cloud1", name, lab.COUNTER_LINE.pattern, count=2)
        out = lab.sh("cloud1", "s=$(date +%%s%%N); xl save %s %s >/dev/null; m=$(date +%%s%%N); "
                               "xl restore %s >/dev/null; e=$(date +%%s%%N); "
                               "echo $(( (m-s)/1000000 )) $(( (e-m)/1000000 )) $(stat -c %%s %s)"
                     % (name, path, path, path), timeout=600).stdout.split()
        return int(out[0]), int(out[1]), int(out[2])
    finally:
        lab.destroy("cloud1", name)
        lab.on("cloud1", "rm", "-f", path)


def migration_ms(memory, repeat):
    name = "k-bench-mig%d" % memory
    lab.create("cloud1", name, "fc-selftest", memory=memory, cmdline="memtouch 4 1000")
    samples = []
    here, there = "cloud1", "cloud2"
    try:
        lab.wait_console("cloud1", name, r"memtouch ok")
        for _ in range(repeat * 2):
            samples.append(lab.migrate(here, name, there) * 1000)
            here, there = there, here
        lab.start_capture(here, name)
        assert "CORRUPT" not in lab.wait_console(here, name, r"memtouch ok", timeout=120)
    finally:
        for vm in lab.ADDRESS:
            lab.destroy(vm, name)
    return samples


def consecutive_migrations(limit):
    name = "k-bench-chain"
    lab.create("cloud1", name, "fc-selftest", cmdline="counter 200")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--migrations", type=int, default=20)
    parser.add_argument("--no-push", action="store_true", help="images are already in the dom0s")
    parser.add_argument("--skip", action="append", default=[],
                        help="skip a part: sizes, memory, boot, save, migrate, chain")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(ROOT, ".lab", "READY")):
        sys.exit("the lab is not up (.lab/READY missing)")
    lab.build_images()
    apps = sorted(os.listdir(lab.IMAGES))
    if not args.no_push:
        for vm in lab.ADDRESS:
            lab.push_images(vm, apps)
    rows = []

    def record(metric, value, unit=""):
        rows.append({"metric": metric, "value": value, "unit": unit, "time": int(time.time())})
        print("%-34s %s %s" % (metric, value, unit), flush=True)

    if "sizes" not in args.skip:
        for app in apps:
            record("image_size_bytes[%s]" % app, os.path.getsize(os.path.join(lab.IMAGES, app, "kernel.elf")), "B")
    if "memory" not in args.skip:
        smallest = None
        for memory in (8, 6, 5, 4, 3, 2):
            if not boots_with(memory):
                break
            smallest = memory
        record("smallest_memory_mib", smallest, "MiB")
    if "boot" not in args.skip:
        samples = first_line_ms(args.repeat)
        record("create_to_first_line_ms_median", statistics.median(samples) if samples else None, "ms")
        record("create_to_first_line_ms_samples", " ".join(map(str, samples)), "ms")
    if "save" not in args.skip:
        save, restore, size = save_restore()
        record("save_ms", save, "ms")
        record("restore_ms", restore, "ms")
        record("save_bytes", size, "B")
    if "migrate" not in args.skip:
        for memory in (8, 256):
            samples = migration_ms(memory, args.repeat)
            record("migrate_ms_median_%dmib" % memory, round(statistics.median(samples)), "ms")
            record("migrate_ms_samples_%dmib" % memory, " ".join("%d" % s for s in samples), "ms")
    if "chain" not in args.skip:
        record("consecutive_migrations", consecutive_migrations(args.migrations), "")

    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, "libos_boot%s.csv" % ("-" + "-".join(args.skip) if args.skip else ""))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["metric", "value", "unit", "time"])
        writer.writeheader()
        writer.writerows(rows)
    print("wrote", path)


if __name__ == "__main__":
    main()
