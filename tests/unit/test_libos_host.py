"""Host tests of FlexCapsule OS, run from the fast tier: the C library and apps (tests/host, against a fake
kernel), the kernel's pure parts (tests/host/kernel) and the TCP/IP stack (tests/host/net, with ASan and UBSan;
test_net_tap talks to Linux's own stack over a tap device in a network namespace it creates, and fails
without root or /dev/net/tun).

Each suite is built once with `make -C <dir> build` (the same binaries `make -C libos-build check` runs); each
test binary is then one pytest test. Every binary ends with "[name: ]N passed, N failed" and exits non-zero on
any failure.
"""
import fcntl
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "libos-build" / "tests" / "host"
OUT = ROOT / "libos-build" / "out"
SUITES = {"libc": (HOST, OUT / "host-tests"),
          "kernel": (HOST / "kernel", OUT / "host-kernel-tests"),
          "net": (HOST / "net", OUT / "host-net-tests")}
SUMMARY = re.compile(r"(?:^|: )(\d+) passed, (\d+) failed$")
BINARIES = [(suite, path.stem) for suite, (source, _out) in SUITES.items() for path in sorted(source.glob("test_*.c"))]


def build(suite):
    """Builds a suite once; a lock keeps pytest-xdist workers from building it at the same time."""
    source, out = SUITES[suite]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(["make", "-C", str(source), "build"], capture_output=True, text=True, timeout=600,
                                check=False)
    assert result.returncode == 0, f"{suite} host test build failed:\n{result.stdout}\n{result.stderr}"
    return out


def assert_all_passed(result):
    output = f"{result.stdout}\n{result.stderr}"
    lines = result.stdout.strip().splitlines()
    summary = SUMMARY.search(lines[-1]) if lines else None
    assert result.returncode == 0, f"exit status {result.returncode}:\n{output}"
    assert summary, f"no final 'N passed, N failed' line:\n{output}"
    assert int(summary.group(2)) == 0 and int(summary.group(1)) > 0, output


def test_every_suite_has_its_known_binaries():
    names = {name for _suite, name in BINARIES}
    assert {"test_printf", "test_malloc", "test_app_protocols", "test_monoclock", "test_kopts", "test_net_unit",
            "test_net_pair", "test_net_fuzz", "test_net_tap"} <= names


@pytest.mark.parametrize("suite, binary", BINARIES)
def test_host_binary(suite, binary):
    out = build(suite)
    result = subprocess.run([str(out / binary)], capture_output=True, text=True, timeout=300, check=False)
    assert_all_passed(result)


def test_apps_on_fake_kernel():
    out = build("libc")
    result = subprocess.run([str(HOST / "run_apps.sh")], env={"OUT": str(out), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=300, check=False)
    assert_all_passed(result)
