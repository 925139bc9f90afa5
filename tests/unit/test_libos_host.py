"""Host tests of FlexCapsule OS's C library and apps, run from the fast tier.

`make -C libos-build/tests/host build` compiles the library and the apps with the host gcc
against a fake kernel; each test binary (and the app runner) is then one pytest test. Every
binary ends with "N passed, N failed" and exits non-zero on any failure.
"""
import fcntl
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST_TESTS = ROOT / "libos-build" / "tests" / "host"
BUILD_DIR = ROOT / "libos-build" / "out" / "host-tests"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")

UNIT_TEST_BINARIES = sorted(path.stem for path in HOST_TESTS.glob("test_*.c"))


@pytest.fixture(scope="session")
def host_test_build():
    """Builds every host test once; a lock keeps pytest-xdist workers from building at once."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            ["make", "-C", str(HOST_TESTS), "build"],
            capture_output=True, text=True, timeout=600, check=False,
        )
    assert result.returncode == 0, f"host test build failed:\n{result.stdout}\n{result.stderr}"
    return BUILD_DIR


def assert_all_passed(result):
    output = f"{result.stdout}\n{result.stderr}"
    lines = result.stdout.strip().splitlines()
    summary = SUMMARY.match(lines[-1]) if lines else None
    assert result.returncode == 0, f"exit status {result.returncode}:\n{output}"
    assert summary, f"no final 'N passed, N failed' line:\n{output}"
    assert int(summary.group(2)) == 0 and int(summary.group(1)) > 0, output


def test_unit_test_binaries_are_found():
    assert {"test_printf", "test_string", "test_args", "test_malloc"} <= set(UNIT_TEST_BINARIES)


@pytest.mark.parametrize("binary", UNIT_TEST_BINARIES)
def test_libc_host_binary(host_test_build, binary):
    result = subprocess.run(
        [str(host_test_build / binary)], capture_output=True, text=True, timeout=300, check=False,
    )
    assert_all_passed(result)


def test_apps_on_fake_kernel(host_test_build):
    result = subprocess.run(
        [str(HOST_TESTS / "run_apps.sh")], env={"OUT": str(host_test_build), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert_all_passed(result)
