"""Fast tier: nested_xen's probe module, run by Ansible on the control node (a Debian host without Xen)."""
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def probe(packages):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
           "ANSIBLE_PYTHON_INTERPRETER": str(ROOT / ".venv" / "bin" / "python")}
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
                           "-m", "nested_xen_host_info", "-a", json.dumps({"packages": packages})],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    _, sep, result = proc.stdout.partition(" => ")
    assert proc.returncode == 0 and sep, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(result)


def test_the_probe_reads_a_host_without_xen():
    result = probe(["dpkg", "flexcapsule-no-such-package"])
    assert result["changed"] is False
    assert result["xen_running"] is False and result["xl_info"] == {} and result["xenstored"] is None
    assert result["missing_packages"] == ["flexcapsule-no-such-package"]
    assert result["architecture"] == os.uname().machine
    with open("/proc/meminfo") as meminfo:
        total_mb = int(meminfo.readline().split()[1]) // 1024
    assert result["machine_memory_mb"] == total_mb
    assert result["nics"]["lo"]["ipv4"] == {"address": "127.0.0.1", "prefix": 8}
    assert result["grub"] == {"update_grub": os.path.exists("/usr/sbin/update-grub"),
                              "grub_cfg": os.path.exists("/boot/grub/grub.cfg")}
    assert isinstance(result["hvm"], bool)
    networkd = subprocess.run(["systemctl", "is-enabled", "systemd-networkd"], capture_output=True, text=True)
    assert result["networkd_enabled"] is (networkd.stdout.strip() == "enabled")


def test_the_running_xenstore_daemon_is_named_from_its_pid_file(tmp_path):
    """What the role compares with nested_xen_xenstored; None (unknown) must not pass for a daemon's name."""
    from nested_xen_host_info import _xenstored
    pid_file = tmp_path / "xenstore.pid"
    pid_file.write_text("%d\n" % os.getpid())
    with open("/proc/self/comm") as comm:
        assert _xenstored(str(pid_file)) == comm.read().strip()
    assert _xenstored(str(tmp_path / "missing.pid")) is None
    pid_file.write_text("not a pid\n")
    assert _xenstored(str(pid_file)) is None
    pid_file.write_text("")
    assert _xenstored(str(pid_file)) is None
    with open("/proc/sys/kernel/pid_max") as pid_max:
        pid_file.write_text("%d\n" % (int(pid_max.read()) + 1))  # no process can have it
    assert _xenstored(str(pid_file)) is None

