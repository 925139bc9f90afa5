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

class RecordingRelay:
    """Records what the driver asks of it; the relay's own behaviour is tested on real bridges elsewhere."""

    def __init__(self):
        self.calls = []

    def start_capture(self):
        self.calls.append("capture")

    def deliver(self, timeout):
        self.calls.append("deliver %.1f" % timeout)

    def close(self):
        self.calls.append("close")

    def stats(self):
        return {"captured": 0}


def recorded_migration():
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "xl", "migrate_vvv_vif_success.txt")
    with open(path) as handle:
        return handle.read().splitlines()


def test_the_relay_captures_from_the_suspend_request_and_delivers_once_the_target_started():
    relay = RecordingRelay()
    driver = runtime_migrate.RelayDriver(relay)
    lines = recorded_migration()
    for stamp, line in enumerate(lines):
        driver.on_line(float(stamp), line)
        if runtime_migrate.SUSPEND_REQUESTED in line:
            assert relay.calls == ["capture"]  # from the request on, before the guest has stopped
    assert driver.finish() == {"captured": 0}
    assert relay.calls[-2:] == ["deliver %.1f" % runtime_migrate.RELAY_WAIT_S, "close"]
    assert relay.calls.count("deliver 2.0") == 1


def test_a_failed_migration_delivers_nothing():
    relay = RecordingRelay()
    driver = runtime_migrate.RelayDriver(relay)
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "xl", "migrate_fails_logdirty_sender.txt")
    with open(path) as handle:
        for line in handle:
            driver.on_line(0.0, line)
    driver.finish()
    assert "close" in relay.calls and not any(call.startswith("deliver") for call in relay.calls)


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
    import os
    from flexcapsule.xl import parse_migrate_log
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "xl", "migrate_vvv_vif_success.txt")
    with open(path) as handle:
        lines = [(float(number), line.rstrip("\n")) for number, line in enumerate(handle)]
    phases = parse_migrate_log(lines)
    order = ["target_ready", "suspended", "transfer_complete", "permission_given", "sender_done", "target_started",
             "success"]
    assert set(order) <= set(phases)
    assert [phases[p] for p in order[1:4]] == sorted(phases[p] for p in order[1:4])
    assert phases["suspended"] < phases["target_started"] < phases["success"]
    hotplug = next(n for n, line in lines if "forking to execute: /etc/xen/scripts/vif-flexcapsule online" in line)
    assert phases["suspended"] < hotplug < phases["transfer_complete"]  # the NIC's hotplug step is downtime
    assert runtime_migrate.downtime(phases) == phases["target_started"] - phases["suspended"]
