"""roles/flexcapsule_runtime/files/vif-flexcapsule against libxl's hotplug contract, with fake xenstore-read,
xenstore-write and ip on PATH and a fake /sys/class/net: online attaches the vif to the bridge named in the
backend and reports connected; a failure is reported in xenstore and by the exit status; offline never fails."""
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(__file__)
SCRIPT = os.path.join(HERE, "..", "..", "roles", "flexcapsule_runtime", "files", "vif-flexcapsule")
BACKEND = "backend/vif/13/0"

FAKE_XENSTORE_READ = """#!/bin/sh
echo "xenstore-read $*" >> "$FAKE_LOG"
for path in "$@"; do
    [ -f "$FAKE_XENSTORE/$path" ] || { echo "xenstore-read: couldn't read path $path" >&2; exit 1; }
    cat "$FAKE_XENSTORE/$path"
done
"""
FAKE_XENSTORE_WRITE = """#!/bin/sh
echo "xenstore-write $*" >> "$FAKE_LOG"
"""
FAKE_IP = """#!/bin/sh
echo "ip $*" >> "$FAKE_LOG"
exit ${FAKE_IP_RC:-0}
"""


@pytest.fixture
def dom0(tmp_path):
    """A fake dom0: tools on PATH, the vif's backend directory with its bridge, xenbr0 and vif13.0 in sysfs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("xenstore-read", FAKE_XENSTORE_READ), ("xenstore-write", FAKE_XENSTORE_WRITE),
                       ("ip", FAKE_IP)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "xs" / BACKEND).mkdir(parents=True)
    (tmp_path / "xs" / BACKEND / "bridge").write_text("xenbr0\n")
    (tmp_path / "net" / "xenbr0" / "bridge").mkdir(parents=True)
    (tmp_path / "net" / "xenbr0" / "mtu").write_text("1500\n")
    (tmp_path / "net" / "vif13.0").mkdir()
    return tmp_path


def run(dom0, *args, **env):
    base = {"PATH": "%s:/usr/bin:/bin" % (dom0 / "bin"), "FAKE_LOG": str(dom0 / "log"),
            "FAKE_XENSTORE": str(dom0 / "xs"), "FLEXCAPSULE_SYS_CLASS_NET": str(dom0 / "net"),
            # what libxl 4.17 passes (xl -vvv shows it)
            "script": "/etc/xen/scripts/vif-flexcapsule", "XENBUS_TYPE": "vif", "XENBUS_PATH": BACKEND,
            "XENBUS_BASE_PATH": "backend", "netdev": "", "vif": "vif13.0"}
    base.update(env)
    result = subprocess.run([shutil.which("sh") or "/bin/sh", SCRIPT] + list(args), env=base,
                            capture_output=True, text=True, timeout=30)
    log = (dom0 / "log").read_text().splitlines() if (dom0 / "log").exists() else []
    return result, log


def test_online_attaches_brings_up_then_reports_connected(dom0):
    result, log = run(dom0, "online", "type_if=vif")
    assert result.returncode == 0, result.stderr
    assert log == ["xenstore-read %s/bridge" % BACKEND,
                   "ip link set dev vif13.0 mtu 1500 master xenbr0 up",
                   "xenstore-write %s/hotplug-status connected" % BACKEND]


def test_the_bridge_comes_from_the_backend_directory(dom0):
    (dom0 / "xs" / BACKEND / "bridge").write_text("br-apps\n")
    (dom0 / "net" / "br-apps" / "bridge").mkdir(parents=True)
    (dom0 / "net" / "vif-web").mkdir()
    result, log = run(dom0, "online", vif="vif-web")
    assert result.returncode == 0, result.stderr
    assert "ip link set dev vif-web master br-apps up" in log  # no mtu file for br-apps: the MTU is left alone


@pytest.mark.parametrize("setup, message", [
    (lambda dom0: os.remove(dom0 / "xs" / BACKEND / "bridge"), "no bridge in %s/bridge" % BACKEND),
    (lambda dom0: shutil.rmtree(dom0 / "net" / "xenbr0"), "bridge xenbr0 does not exist"),
    (lambda dom0: os.rmdir(dom0 / "net" / "vif13.0"), "network interface vif13.0 does not exist"),
    (lambda dom0: (dom0 / "xs" / BACKEND / "bridge").write_text("../x\n"), "invalid bridge name"),
])
def test_a_failed_attach_is_reported_to_libxl(dom0, setup, message):
    setup(dom0)
    result, log = run(dom0, "online")
    assert result.returncode == 1
    assert message in result.stderr
    assert log[-1].startswith("xenstore-write %s/hotplug-error vif-flexcapsule: " % BACKEND)
    assert message in log[-1] and log[-1].endswith("%s/hotplug-status error" % BACKEND)
    assert not any("connected" in line for line in log)


def test_a_failing_ip_fails_the_device(dom0):
    result, log = run(dom0, "online", FAKE_IP_RC="2")
    assert result.returncode == 1 and "cannot attach vif13.0 to bridge xenbr0" in result.stderr
    assert log[-1].endswith("hotplug-status error") and not any("connected" in line for line in log)


def test_offline_detaches_and_never_fails(dom0):
    result, log = run(dom0, "offline", "type_if=vif")
    assert result.returncode == 0 and log == ["ip link set dev vif13.0 down nomaster"]
    os.rmdir(dom0 / "net" / "vif13.0")  # netback usually removed it already: nothing to run
    (dom0 / "log").unlink()
    result, log = run(dom0, "offline", FAKE_IP_RC="1")
    assert result.returncode == 0 and log == []


def test_without_vif_the_name_comes_from_the_backend_path(dom0):
    result, log = run(dom0, "online", vif="")
    assert result.returncode == 0 and "ip link set dev vif13.0 mtu 1500 master xenbr0 up" in log


def test_an_unknown_action_or_no_backend_fails(dom0):
    result, log = run(dom0, "frobnicate")
    assert result.returncode == 1 and "unknown action" in result.stderr and log[-1].endswith("hotplug-status error")
    result, _log = run(dom0, "online", XENBUS_PATH="")
    assert result.returncode == 1 and "XENBUS_PATH is not set" in result.stderr


def test_the_script_is_executable_posix_sh():
    assert os.access(SCRIPT, os.X_OK)
    with open(SCRIPT) as handle:
        assert handle.readline().strip() == "#!/bin/sh"
    assert subprocess.run(["sh", "-n", SCRIPT]).returncode == 0
