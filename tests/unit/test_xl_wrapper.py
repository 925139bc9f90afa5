"""The command runner behind every xl/xenstore call: argv only, C locale, timeouts, errors with context."""
import sys

import pytest

from flexcapsule import xl
from flexcapsule.xl import ToolstackError


def test_shell_strings_are_refused():
    with pytest.raises(TypeError, match="argv lists"):
        xl.run("xl list")


def test_commands_run_in_the_c_locale(monkeypatch):
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    out = xl.run([sys.executable, "-c", "import os; print(os.environ['LANG'], os.environ['LC_ALL'])"]).stdout
    assert out.split() == ["C", "C"]


def test_failure_carries_command_rc_and_stderr():
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('domain m-x does not exist\\n'); sys.exit(3)"]
    with pytest.raises(ToolstackError) as error:
        xl.run(argv, what="xl destroy m-x")
    assert error.value.cmd == argv and error.value.rc == 3
    assert "does not exist" in error.value.stderr
    assert "xl destroy m-x failed (rc=3)" in str(error.value) and "does not exist" in str(error.value)


def test_unchecked_failure_returns_the_result():
    result = xl.run([sys.executable, "-c", "raise SystemExit(4)"], check=False)
    assert result.rc == 4


def test_timeout_becomes_an_error():
    with pytest.raises(ToolstackError, match="timed out after 0.3s"):
        xl.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)


def test_missing_binary_says_so():
    with pytest.raises(ToolstackError, match="not found: is Xen installed") as error:
        xl.run(["/nonexistent/xl", "info"])
    assert error.value.rc == 127


@pytest.mark.parametrize("host", ["10.77.0.12", "cloud2", "cloud2.lab.example", "fe80::1"])
def test_valid_hosts(host):
    assert xl.validate_host(host) == host


@pytest.mark.parametrize("host", ["", "-oProxyCommand=x", "a b", "host;reboot", "$(id)", "h/x", None, "a" * 300])
def test_hosts_that_could_reach_a_shell_are_refused(host):
    with pytest.raises(ValueError, match="invalid host"):
        xl.validate_host(host)


def test_remote_words_are_quoted_for_the_remote_shell():
    argv = xl.ssh_argv("10.77.0.12", ["capsule", "preflight", "--name", "m-a; reboot"])
    assert argv[:1] == ["ssh"] and "BatchMode=yes" in argv
    assert argv[-3:] == ["10.77.0.12", "--", "capsule preflight --name 'm-a; reboot'"]


def test_remote_xl_wraps_the_same_argv_in_ssh():
    remote = xl.Xl(remote="cloud2")
    assert remote.argv(["xl", "info"])[-1] == "xl info"
    assert xl.Xl().argv(["xl", "info"]) == ["xl", "info"]


@pytest.mark.parametrize("flags, state", [("r-----", "running"), ("-b----", "running"), ("------", "running"),
                                          ("--p---", "paused"), ("---s--", "shutdown"), ("----c-", "crashed"),
                                          ("---s-d", "dying")])
def test_state_flags(flags, state):
    assert xl.domain_state(flags) == state


def test_bad_state_flags():
    with pytest.raises(ValueError):
        xl.domain_state("rb")


@pytest.mark.parametrize("text, seconds", [("0:00:05", 5), ("1:02:03", 3723), ("1 day, 0:00:01", 86401),
                                           ("3 days, 2:00:00", 266400)])
def test_uptime_values(text, seconds):
    assert xl.parse_uptime_value(text) == seconds


def test_migrate_phases_and_order():
    lines = [(0.1, "migration target: Ready to receive domain."), (5.0, "libxl: debug: domain has suspended"),
             (5.5, "migration target: Transfer complete, requesting permission to start domain."),
             (5.6, "migration sender: Giving target permission to start."),
             (5.9, "migration target: Domain started successsfully."), (6.0, "Migration successful.")]
    phases = xl.parse_migrate_log(lines)
    assert phases["target_ready"] == 0.1 and phases["target_started"] == 5.9 and phases["success"] == 6.0


def test_bare_names_are_found_in_sbin_even_without_it_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(xl, "SBIN_DIRS", (str(tmp_path / "sbin"),))
    (tmp_path / "sbin").mkdir()
    tool = tmp_path / "sbin" / "xl"
    tool.write_text("#!/bin/sh\necho xl-found\n")
    tool.chmod(0o755)
    assert xl.resolve_binary("xl") == str(tool)
    assert xl.run(["xl", "info"]).stdout.strip() == "xl-found"
    assert xl.resolve_binary("/opt/xl") == "/opt/xl"


def debian_layout(root, version=("4", "17"), versioned=True):
    """/usr/sbin/xl -> xen-utils-wrapper, /sys/hypervisor/version, /usr/lib/xen-4.17/bin/xl, under root."""
    wrapper = root / "lib" / "xen-common" / "bin" / "xen-utils-wrapper"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text("#!/bin/sh\necho via-wrapper\n")
    wrapper.chmod(0o755)
    (root / "sbin").mkdir()
    (root / "sbin" / "xl").symlink_to(wrapper)
    (root / "version").mkdir()
    (root / "version" / "major").write_text(version[0] + "\n")
    (root / "version" / "minor").write_text(version[1] + "\n")
    target = root / ("xen-%s.%s" % version) / "bin" / "xl"
    if versioned:
        target.parent.mkdir(parents=True)
        target.write_text("#!/bin/sh\necho direct\n")
        target.chmod(0o755)
    return str(root / "sbin" / "xl"), str(target)


def test_debians_version_wrapper_is_resolved_to_the_running_xens_binary(tmp_path):
    wrapper, target = debian_layout(tmp_path)
    assert xl.versioned_binary(wrapper, str(tmp_path / "version"), str(tmp_path / "xen-%s" / "bin")) == target


def test_the_wrapper_stays_when_the_versioned_binary_or_the_version_is_missing(tmp_path):
    wrapper, _ = debian_layout(tmp_path, versioned=False)
    bins = str(tmp_path / "xen-%s" / "bin")
    assert xl.versioned_binary(wrapper, str(tmp_path / "version"), bins) == wrapper
    assert xl.versioned_binary(wrapper, str(tmp_path / "no-hypervisor"), bins) == wrapper


def test_a_plain_binary_is_run_as_found(tmp_path):
    tool = tmp_path / "xl"
    tool.write_text("#!/bin/sh\n")
    assert xl.versioned_binary(str(tool), str(tmp_path), str(tmp_path)) == str(tool)
