"""Lab tier: the `capsule` command in a real dom0 (run/ps/logs/kill/wait/top/inspect, exit statuses)."""
import json
import re

import pytest

from test_app_vm_lifecycle import LIBOS_IMAGE, LINUX_IMAGE, PRIMARY, app_vms, capsule, cleanup, on  # noqa: F401
from test_app_vm_lifecycle import require_lab, runtime_installed  # noqa: F401  (autouse fixtures)

pytestmark = pytest.mark.lab
EXIT_LINE = re.compile(r"\[flexcapsule\] exit status (-?\d+)")


def test_foreground_run_streams_the_console_and_returns_the_exit_status():
    name = "m-hello"
    cleanup(name)
    try:
        proc = capsule(PRIMARY, "run", "--name", name, "hello", timeout=600)
        printed = EXIT_LINE.findall(proc.stdout)
        assert printed, "no exit-status line on the console: %r %r" % (proc.stdout[-2000:], proc.stderr)
        assert proc.returncode == int(printed[-1]) & 0xFF
        view = app_vms(PRIMARY)[name]
        assert view["state"] == "stopped" and view["exit_status"] == int(printed[-1])
        assert name not in on(PRIMARY, "xl", "list").stdout  # the finished domain was cleared
        # Exit status and console survive: a new capsule process still reports them.
        inspect = json.loads(capsule(PRIMARY, "inspect", name).stdout)
        assert inspect["status"]["exit_status"] == int(printed[-1])
        assert EXIT_LINE.search(capsule(PRIMARY, "logs", name).stdout)
    finally:
        cleanup(name)


def test_detached_linux_app_vm_like_a_process():
    name = "m-cap-linux"
    cleanup(name)
    try:
        started = capsule(PRIMARY, "run", "-d", "--name", name, "--memory", "128M", LINUX_IMAGE)
        assert started.returncode == 0 and started.stdout.strip() == name, started.stderr
        ps = capsule(PRIMARY, "ps").stdout
        assert re.search(r"^%s\s+%s\s+linux\s+running" % (name, LINUX_IMAGE), ps, re.M), ps
        top = capsule(PRIMARY, "top", "-n", "1", "--interval", "2")
        assert top.returncode == 0 and name in top.stdout and "MiB free" in top.stdout
        clash = capsule(PRIMARY, "run", "-d", "--name", name, LINUX_IMAGE)
        assert clash.returncode == 125 and "name clash" in clash.stderr
        on(PRIMARY, "sleep", "20")
        assert capsule(PRIMARY, "logs", name).stdout.strip(), "no console output logged"
        killed = capsule(PRIMARY, "kill", "--timeout", "240", name, timeout=400)
        assert killed.returncode == 0, killed.stderr
        waited = capsule(PRIMARY, "wait", name)
        assert waited.returncode == 0 and waited.stdout.strip() == "0"
        assert "exited (0)" in capsule(PRIMARY, "ps", "-a").stdout
        assert name not in capsule(PRIMARY, "ps").stdout
    finally:
        cleanup(name)


def test_bad_input_is_refused_and_nothing_is_left_behind():
    before = capsule(PRIMARY, "ps", "-a", "--json").stdout
    for argv, message in [(["run", "-d", "--name", "m-x", "no-such-image"], "unknown image"),
                          (["run", "-d", "--name", "m-x", "--memory", "8G", LINUX_IMAGE], "more than this cloud VM"),
                          (["run", "-d", "--name", "M x", LINUX_IMAGE], "invalid app VM name"),
                          (["run", "-d", "--name", "m-x", "--vcpus", "0", LINUX_IMAGE], "invalid vcpus"),
                          (["kill", "m-none"], "no app VM named 'm-none'")]:
        proc = capsule(PRIMARY, *argv)
        assert proc.returncode == 125 and message in proc.stderr, (argv, proc.stderr)
    assert capsule(PRIMARY, "ps", "-a", "--json").stdout == before
