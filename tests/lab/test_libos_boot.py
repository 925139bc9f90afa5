"""Lab tier: FlexCapsule OS images on real Xen (boot, exit status, faults, save/restore, migration).

Drives cloud1/cloud2 through tools/labctl with plain `xl`. Every domain is named k-* and destroyed
afterwards. Images come from `make -C libos-build` and are pushed to /root/fck/<app>/ in each dom0.
Console output is captured with `xl console` under `script` into /root/fck/<domain>.console
(started while the domain is still paused, so nothing is missed).
Run: .venv/bin/pytest -m lab tests/lab/test_libos_boot.py
The helpers are shared with benchmarks/libos_boot.py.
"""
import os
import re
import subprocess
import time

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABCTL = os.path.join(ROOT, "tools", "labctl")
IMAGES = os.path.join(ROOT, "libos-build", "out", "images")
REMOTE = "/root/fck"
ADDRESS = {"cloud1": "10.77.0.11", "cloud2": "10.77.0.12"}
MIGRATIONS = int(os.environ.get("FC_LIBOS_MIGRATIONS", "20"))
COUNTER_LINE = re.compile(r"counter (\d+)")
EXIT_LINE = re.compile(r"\[flexcapsule\] exit status (-?\d+)")
MEMTOUCH_OK = r"memtouch pass \d+ ok checksum=0x"


SSH_FLAKES = ("kex_exchange_identification", "Connection timed out during banner exchange",
              "Connection closed by remote host", "Connection reset by peer")


def on(vm, *argv, timeout=600, check=False, input_text=None):
    """Run argv as root in a cloud VM's dom0 (retrying when a loaded dom0 drops the ssh handshake)."""
    for attempt in range(5):
        proc = subprocess.run([LABCTL, "ssh", vm, "--"] + [str(a) for a in argv], capture_output=True,
                              text=True, timeout=timeout, input=input_text,
                              stdin=None if input_text is not None else subprocess.DEVNULL)
        if proc.returncode != 255 or not any(flake in proc.stderr for flake in SSH_FLAKES):
            break
        time.sleep(5 * (attempt + 1))
    if check and proc.returncode != 0:
        raise AssertionError("%s on %s failed (rc=%d): %s %s" % (argv, vm, proc.returncode, proc.stdout,
                                                                 proc.stderr))
    return proc


def without_runtime():
    """The cloud VMs whose dom0 has no `capsule` (role flexcapsule_runtime not applied there)."""
    return [vm for vm in ADDRESS if on(vm, "sh", "-c", "command -v capsule").returncode != 0]


def sh(vm, script, timeout=600, check=True):
    return on(vm, "sh", "-c", script, timeout=timeout, check=check)


def build_images():
    proc = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "libos-build")], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def push_images(vm, apps):
    on(vm, "mkdir", "-p", REMOTE, check=True)
    for app in apps:
        proc = subprocess.run([LABCTL, "push", vm, os.path.join(IMAGES, app), REMOTE + "/"],
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr


def start_capture(vm, name):
    """Background `xl console` into a file; survives until the domain goes away."""
    sh(vm, "rm -f {r}/{n}.console; nohup script -qfc 'xl console {n}' {r}/{n}.console "
           ">/dev/null 2>&1 </dev/null &".format(r=REMOTE, n=name))


def xl_overrides(name, app, memory=None, cmdline=None, own_kernel=True):
    """`xl create` key=value arguments over the app's xl.cfg. own_kernel=False keeps the kernel the xl.cfg
    names (a Linux PV app VM); memory sets maxmem too, so the guest cannot balloon past it."""
    overrides = ['name="%s"' % name]
    if own_kernel:
        overrides.append('kernel="%s/%s/kernel.elf"' % (REMOTE, app))
    if memory is not None:
        overrides += ["memory=%d" % memory, "maxmem=%d" % memory]
    if cmdline is not None:
        overrides.append('cmdline="%s"' % cmdline)
    return overrides


def create(vm, name, app, memory=None, cmdline=None, capture=True, own_kernel=True):
    """xl create paused, attach the console capture, unpause. Returns seconds spent in xl create."""
    destroy(vm, name)
    overrides = xl_overrides(name, app, memory, cmdline, own_kernel)
    quoted = " ".join("'%s'" % o for o in overrides)
    sh(vm, "xl create -p %s/%s/xl.cfg %s" % (REMOTE, app, quoted), timeout=300)
    if capture:
        start_capture(vm, name)
        time.sleep(1)
    on(vm, "xl", "unpause", name, check=True)


def console(vm, name):
    proc = on(vm, "cat", "%s/%s.console" % (REMOTE, name))
    return proc.stdout.replace("\r", "")


def wait_console(vm, name, pattern, timeout=300, count=1):
    """Waits until `pattern` matched `count` times; returns the console text."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = console(vm, name)
        if len(re.findall(pattern, text)) >= count:
            return text
        time.sleep(2)
    raise AssertionError("no %r (x%d) on %s's console within %ds:\n%s" % (pattern, count, name, timeout,
                                                                         text[-3000:]))


def domain_state(vm, name):
    """The xl list state letters (e.g. 'r-----', '---s--'), or None if there is no such domain."""
    proc = on(vm, "xl", "list", name)
    if proc.returncode != 0:
        return None
    return proc.stdout.splitlines()[-1].split()[4]


def wait_shutdown(vm, name, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = domain_state(vm, name)
        if state is not None and ("s" in state or "c" in state):
            return state
        time.sleep(2)
    raise AssertionError("%s did not shut down within %ds: %s" % (name, timeout, console(vm, name)[-2000:]))


def exit_status(vm, name):
    domid = on(vm, "xl", "domid", name, check=True).stdout.strip()
    proc = on(vm, "xenstore-read", "/local/domain/%s/data/exit-status" % domid)
    return int(proc.stdout.strip()) if proc.returncode == 0 else None


def destroy(vm, name):
    on(vm, "xl", "destroy", name)
    sh(vm, "pkill -f 'xl console %s$' || true" % name, check=False)


def migrate(src, name, dst):
    """Live-migrates and returns the seconds `xl migrate` took (measured inside dom0)."""
    proc = sh(src, "s=$(date +%%s%%N); xl migrate %s %s >%s/migrate.log 2>&1; rc=$?; e=$(date +%%s%%N); "
                   "echo $rc $(( (e - s) / 1000000 ))" % (name, ADDRESS[dst], REMOTE), timeout=900)
    out = proc.stdout.split()
    if out[0] != "0":
        log = on(src, "tail", "-25", REMOTE + "/migrate.log").stdout
        raise AssertionError("xl migrate %s %s -> %s failed:\n%s" % (name, src, dst, log))
    return int(out[1]) / 1000.0


def counters(text):
    return [int(n) for n in COUNTER_LINE.findall(text)]


@pytest.fixture(scope="module")
def lab():
    assert os.path.exists(os.path.join(ROOT, ".lab", "READY")), "the lab is not up (.lab/READY missing)"
    build_images()
    apps = sorted(os.listdir(IMAGES))
    if os.environ.get("FC_LIBOS_PUSH", "1") != "0":  # 0: the dom0s already hold these images
        for vm in ADDRESS:
            push_images(vm, apps)
    yield apps
    for vm in ADDRESS:
        sh(vm, "for d in $(xl list | awk '/^k-/ {print $1}'); do xl destroy $d; done; "
               "pkill -f 'xl console k-' || true", check=False)


def test_every_image_boots_and_prints(lab):
    for app in lab:
        name = "k-boot-" + app
        create("cloud1", name, app, cmdline="hello" if app == "fc-selftest" else None)
        try:
            wait_console("cloud1", name, r"\[flexcapsule\] ready: domain \d+")
        finally:
            destroy("cloud1", name)


def test_hello_exit_status_is_readable_after_poweroff(lab):
    cases = [("hello", None, 0), ("hello", "--status 5", 5), ("fc-selftest", "exit 7", 7)]
    for index, (app, cmdline, expected) in enumerate(cases):
        assert app in lab, "no %s image" % app
        name = "k-exit-%d" % index
        create("cloud1", name, app, cmdline=cmdline)
        try:
            state = wait_shutdown("cloud1", name)
            assert "s" in state, state
            assert exit_status("cloud1", name) == expected
            assert "[flexcapsule] exit status %d" % expected in console("cloud1", name)
        finally:
            destroy("cloud1", name)


@pytest.mark.parametrize("cmdline, message", [
    ("fault", r"vector 14 \(page fault\) at rip=0x[0-9a-f]+, address 0x8 \(NULL pointer dereference\)"),
    ("panic", r"panic: selftest asked for a panic"),
])
def test_faults_end_the_domain_with_a_message_and_status(lab, cmdline, message):
    name = "k-fault-" + cmdline
    create("cloud1", name, "fc-selftest", cmdline=cmdline)
    try:
        state = wait_shutdown("cloud1", name)
        assert "c" in state, state
        text = console("cloud1", name)
        assert re.search(message, text), text
        assert exit_status("cloud1", name) == 255
    finally:
        destroy("cloud1", name)


def test_kernel_services_on_real_xen(lab):
    """xenstore (read/write/transaction/watch) and page alloc/free balance, run inside the guest."""
    for cmdline, expect in [("xs", "xs ok"), ("alloc", "alloc pages in use")]:
        name = "k-svc-" + cmdline
        create("cloud1", name, "fc-selftest", cmdline=cmdline)
        try:
            wait_shutdown("cloud1", name)
            assert expect in console("cloud1", name)
            assert exit_status("cloud1", name) == 0, console("cloud1", name)
        finally:
            destroy("cloud1", name)


def test_counter_survives_save_and_restore(lab):
    name = "k-save"
    create("cloud1", name, "counter", cmdline="--interval-ms 200")
    try:
        before = counters(wait_console("cloud1", name, COUNTER_LINE.pattern, count=3))[-1]
        sh("cloud1", "xl save %s %s/%s.save" % (name, REMOTE, name), timeout=600)
        assert domain_state("cloud1", name) is None
        sh("cloud1", "xl restore -p %s/%s.save" % (REMOTE, name), timeout=600)
        start_capture("cloud1", name)
        time.sleep(1)
        on("cloud1", "xl", "unpause", name, check=True)
        text = wait_console("cloud1", name, COUNTER_LINE.pattern, count=3)
        after = counters(text)
        assert after[0] > before and after == sorted(set(after)), (before, after)
    finally:
        destroy("cloud1", name)
        on("cloud1", "rm", "-f", "%s/%s.save" % (REMOTE, name))


def test_counter_survives_repeated_live_migration(lab):
    """FC_LIBOS_MIGRATIONS (default 20) consecutive migrations cloud1 <-> cloud2: the counter keeps
    strictly increasing on every host (the p2m frame list is rebuilt after every resume)."""
    name = "k-mig-counter"
    create("cloud1", name, "counter", memory=8, cmdline="--interval-ms 200")
    try:
        wait_console("cloud1", name, COUNTER_LINE.pattern, count=2)
        last = -1
        here, there = "cloud1", "cloud2"
        for i in range(MIGRATIONS):
            migrate(here, name, there)
            start_capture(there, name)
            values = counters(wait_console(there, name, COUNTER_LINE.pattern, count=2))
            assert values == sorted(set(values)) and values[0] > last, (i, last, values)
            last = values[-1]
            here, there = there, here
    finally:
        for vm in ADDRESS:
            destroy(vm, name)


def test_memtouch_checksum_holds_across_migration(lab):
    """memtouch configured with 256 MiB but touching 4 MiB, dirtying memory while it migrates there
    and back: every pass keeps its checksum."""
    name = "k-mig-mem"
    create("cloud1", name, "memtouch", memory=256, cmdline="--mib 4 --rate 2")
    try:
        wait_console("cloud1", name, MEMTOUCH_OK)
        here, there = "cloud1", "cloud2"
        for _ in range(2):
            migrate(here, name, there)
            start_capture(there, name)
            text = wait_console(there, name, MEMTOUCH_OK)
            assert "MISMATCH" not in text, text[-1000:]
            here, there = there, here
    finally:
        for vm in ADDRESS:
            destroy(vm, name)
