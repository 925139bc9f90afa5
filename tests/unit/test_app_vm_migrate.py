"""Migration logic that needs no Xen: preflight judgement, downtime, the xl transport command."""
import pytest

from flexcapsule import runtime_migrate
from flexcapsule.runtime_migrate import judge_preflight

LOCAL = {"host": "cloud1", "free_memory_mib": 500}
DOMAIN = {"name": "m-c", "image": "counter", "memory_mib": 64}
GOOD = {"has_xen": True, "host": "cloud2", "free_memory_mib": 600, "has_image": True, "name_in_use": False}


def test_a_good_destination_passes():
    assert judge_preflight(LOCAL, DOMAIN, GOOD, "10.77.0.12") == []


@pytest.mark.parametrize("report, message", [
    ({"has_xen": False, "xen_error": "xl not found"}, "has no Xen: xl not found"),
    (dict(GOOD, host="cloud1"), "already on 10.77.0.11 (cloud1)"),
    (dict(GOOD, has_image=False), "does not have image 'counter'"),
    (dict(GOOD, free_memory_mib=32), "has 32 MiB free, app VM 'm-c' needs 64 MiB"),
    (dict(GOOD, name_in_use=True), "already has a domain named 'm-c'"),
])
def test_each_refusal_names_its_reason(report, message):
    problems = judge_preflight(LOCAL, DOMAIN, report, "10.77.0.11")
    assert len(problems) == 1 and message in problems[0]


def test_all_problems_are_reported_together():
    problems = judge_preflight(LOCAL, DOMAIN, dict(GOOD, has_image=False, free_memory_mib=0), "10.77.0.12")
    assert len(problems) == 2


@pytest.mark.parametrize("phases, expected", [
    ({"suspended": 10.0, "target_started": 10.4}, 0.4),
    ({"suspended": 10.0, "sender_done": 10.5}, 0.5),
    ({"target_started": 10.4}, None),
    ({"suspended": 11.0, "target_started": 10.0}, None),
])
def test_downtime_from_phases(phases, expected):
    assert runtime_migrate.downtime(phases) == expected


def test_transport_commands_hold_only_fixed_words(monkeypatch):
    monkeypatch.setattr(runtime_migrate, "capsule_path", lambda: "/usr/local/bin/capsule")
    assert runtime_migrate.transport_command("ssh", "/tmp/s.json") == (
        "/usr/local/bin/capsule transport --stats /tmp/s.json -- ssh -o BatchMode=yes -o ConnectTimeout=10"
        " -o StrictHostKeyChecking=accept-new -o ControlMaster=auto -o ControlPath=/run/flexcapsule/ssh/%C"
        " -o ControlPersist=60 -o ServerAliveInterval=10 -o ServerAliveCountMax=3")
    assert runtime_migrate.transport_command("tcp", "/tmp/s.json", 8002).endswith("--tcp-port 8002")


def test_unknown_transport_is_refused_before_anything_runs():
    with pytest.raises(runtime_migrate.MigrationError, match="unknown transport 'udp'"):
        runtime_migrate.migrate(None, "m-c", "10.77.0.12", transport="udp")


def test_failure_message_says_where_the_app_vm_is_and_why(tmp_path):
    from flexcapsule.runtime import Runtime
    from flexcapsule.xl import ToolstackError
    from test_xl_parsers import fixture, recorded_cloud1

    runtime = Runtime(state_dir=str(tmp_path), xl=recorded_cloud1())
    error = ToolstackError("xl migrate of m-fx-a to 10.77.0.12 failed (rc=1)", rc=1,
                           stderr=fixture("migrate_fails_logdirty_sender.txt"))
    message = runtime_migrate.failure_message(runtime, "m-fx-a", "10.77.0.12", error)
    assert "it is still running on this cloud VM" in message
    assert "Cannot allocate memory" in message and "Migration failed, resuming at sender." in message
    assert "debug:" not in message


# ---- the frame relay's wiring (frame_relay.py itself is tested on real bridges in test_frame_relay.py)

def recorded(name):
    import os
    with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "xl", name)) as handle:
        return handle.read().splitlines()


def test_the_relay_captures_from_the_suspend_request_and_delivers_once_the_target_started():
    lines = recorded("migrate_vvv_vif_success.txt")
    steps = [(n, runtime_migrate.relay_step(line)) for n, line in enumerate(lines)
             if runtime_migrate.relay_step(line)]
    assert [step for _, step in steps] == ["capture", "deliver"]
    suspended = next(n for n, line in enumerate(lines) if "guest has suspended" in line)
    teardown = next(n for n, line in enumerate(lines) if "libxl_domain_destroy" in line)
    # capture opens before the guest stops; delivery starts once the target reports it started, before the
    # source's teardown (which takes most of a second more)
    assert steps[0][0] < suspended < steps[1][0] < teardown


def test_a_failed_migration_delivers_nothing():
    steps = [runtime_migrate.relay_step(line) for line in recorded("migrate_fails_logdirty_sender.txt")]
    assert "capture" in steps and "deliver" not in steps


def test_the_relay_covers_every_bridged_nic_and_nothing_without_one():
    domain = {"domid": 12, "nics": [{"devid": 0, "mac": "00:16:3e:00:00:01", "bridge": "xenbr0"},
                                    {"devid": 1, "mac": "00:16:3e:00:00:02", "bridge": "br-apps"}]}
    relay = runtime_migrate.frame_relay_for(domain)
    assert relay.bridge_of_vif == {"vif12.0": "xenbr0", "vif12.1": "br-apps"}
    assert runtime_migrate.frame_relay_for({"domid": 3, "nics": []}) is None
    assert runtime_migrate.frame_relay_for({"domid": 3}) is None


def test_phases_of_a_recorded_migration_with_a_nic():
    """xl -vvv migrate of an httpd app VM with a NIC (tests/fixtures/xl/migrate_vvv_vif_success.txt), one line a
    second: every phase is found, in the order xl goes through them, and the downtime spans suspend to start."""
    from flexcapsule.xl import parse_migrate_log
    lines = [(float(number), line) for number, line in enumerate(recorded("migrate_vvv_vif_success.txt"))]
    phases = parse_migrate_log(lines)
    order = ["target_ready", "suspended", "transfer_complete", "permission_given", "sender_done", "target_started",
             "success"]
    assert set(order) <= set(phases)
    assert [phases[p] for p in order[1:4]] == sorted(phases[p] for p in order[1:4])
    assert phases["suspended"] < phases["target_started"] < phases["success"]
    hotplug = next(n for n, line in lines if "forking to execute: /etc/xen/scripts/vif-flexcapsule online" in line)
    assert phases["suspended"] < hotplug < phases["transfer_complete"]  # the NIC's hotplug step is downtime
    assert runtime_migrate.downtime(phases) == phases["target_started"] - phases["suspended"]
