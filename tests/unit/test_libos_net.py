"""Host tests of FlexCapsule OS's TCP/IP stack (libos-build/net/), run from the fast tier.

`make -C libos-build/tests/host/net build` compiles the stack with the host gcc under ASan and
UBSan; each test binary is then one pytest test (the same binaries `make -C libos-build check`
runs). Every binary ends with "N passed, N failed" and exits non-zero on any failure.
test_net_tap talks to Linux's own stack over a tap device in a network namespace it creates;
it needs root and /dev/net/tun and reports "SKIP: <reason>" without them.
"""
import fcntl
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NET_TESTS = ROOT / "libos-build" / "tests" / "host" / "net"
BUILD_DIR = ROOT / "libos-build" / "out" / "host-net-tests"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
BINARIES = ["test_net_unit", "test_net_pair", "test_net_fuzz", "test_net_tap"]


@pytest.fixture(scope="session")
def net_test_build():
    """Builds the net host tests once; a lock keeps pytest-xdist workers from building at once."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            ["make", "-C", str(NET_TESTS), "build"],
            capture_output=True, text=True, timeout=600, check=False,
        )
    assert result.returncode == 0, f"net host test build failed:\n{result.stdout}\n{result.stderr}"
    return BUILD_DIR


def test_every_net_test_source_is_run():
    assert {p.stem for p in NET_TESTS.glob("test_*.c")} == set(BINARIES)


@pytest.mark.parametrize("binary", BINARIES)
def test_net_host_binary(net_test_build, binary):
    result = subprocess.run(
        [str(net_test_build / binary)], capture_output=True, text=True, timeout=300, check=False,
    )
    output = f"{result.stdout}\n{result.stderr}"
    skip = re.search(r"^SKIP: (.*)$", result.stdout, re.M)
    if skip and result.returncode == 0:
        pytest.skip(skip.group(1))
    lines = result.stdout.strip().splitlines()
    summary = SUMMARY.match(lines[-1]) if lines else None
    assert result.returncode == 0, f"exit status {result.returncode}:\n{output}"
    assert summary, f"no final 'N passed, N failed' line:\n{output}"
    assert int(summary.group(2)) == 0 and int(summary.group(1)) > 0, output
