"""xl output parsers on real output recorded in the lab (tests/fixtures/xl/README.md says how)."""
import os

import pytest

from flexcapsule import xl

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "xl")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_info_of_a_lab_dom0():
    info = xl.parse_info(fixture("dom0only_info.txt"))
    assert info["host"] == "cloud1" and info["nr_cpus"] == 1
    assert info["total_memory"] == 1023 and info["free_memory"] == 626
    assert info["xen_major"] == 4 and info["xen_minor"] == 17 and info["xen_version"] == "4.17.5"
    assert info["xen_commandline"].startswith("placeholder dom0_mem=384M")


def test_info_rejects_other_output():
    with pytest.raises(ValueError, match="not `xl info` output"):
        xl.parse_info(fixture("dom0only_list.txt"))


def test_list_table_with_only_dom0():
    assert xl.parse_list_table(fixture("dom0only_list.txt")) == {"Domain-0": {
        "name": "Domain-0", "domid": 0, "memory_mib": 384, "vcpus": 1, "flags": "r-----", "state": "running",
        "cpu_time_s": 171.5}}


def test_list_table_rejects_other_output():
    with pytest.raises(ValueError, match="missing header"):
        xl.parse_list_table(fixture("dom0only_info.txt"))


def test_list_long_of_dom0_has_memory_but_no_kernel():
    dom0 = xl.parse_list_long(fixture("dom0only_list_l.txt"))["Domain-0"]
    assert dom0["domid"] == 0 and dom0["type"] == "pv" and dom0["kernel"] is None
    assert dom0["memory_mib"] == 383 and dom0["max_memory_mib"] == 384


def test_list_long_rejects_non_json():
    with pytest.raises(ValueError, match="did not print JSON"):
        xl.parse_list_long(fixture("dom0only_list.txt"))


def test_uptime_and_vcpu_list_of_dom0():
    assert xl.parse_uptime(fixture("dom0only_uptime.txt")) == {"Domain-0": 260}
    assert xl.parse_vcpu_list(fixture("dom0only_vcpulist.txt")) == {
        "Domain-0": [{"vcpu": 0, "cpu": 0, "state": "r--", "cpu_time_s": 176.5}]}


def test_list_table_states_of_running_paused_and_finished_app_vms():
    table = xl.parse_list_table(fixture("appvms_list.txt"))
    assert {name: row["state"] for name, row in table.items()} == {
        "Domain-0": "running", "m-fx-a": "running", "m-fx-p": "paused", "m-fx-done": "shutdown"}
    # FlexCapsule OS hands unused pages back to Xen: the table shows ~0 MiB held.
    assert table["m-fx-a"]["memory_mib"] == 0 and table["m-fx-a"]["domid"] == 2


def test_list_long_gives_configured_size_kernel_and_actions():
    configs = xl.parse_list_long(fixture("appvms_list_l.txt"))
    app = configs["m-fx-a"]
    assert app["domid"] == 2 and app["memory_mib"] == 16 and app["max_memory_mib"] == 16 and app["vcpus"] == 1
    assert app["kernel"] == "/tmp/m-images/counter/kernel.elf" and app["cmdline"] == ""
    assert app["on_poweroff"] == "preserve" and configs["m-fx-done"]["kernel"].endswith("/hello/kernel.elf")


def test_uptime_and_vcpus_of_app_vms():
    assert xl.parse_uptime(fixture("appvms_uptime.txt"))["m-fx-a"] == 40
    vcpus = xl.parse_vcpu_list(fixture("appvms_vcpulist.txt"))
    assert vcpus["m-fx-a"] == [{"vcpu": 0, "cpu": 0, "state": "-b-", "cpu_time_s": 0.4}]


class RecordedXl(xl.Xl):
    """Answers read-only commands with recorded output; anything else fails the test."""

    def __init__(self, outputs):
        super().__init__()
        self.outputs = outputs

    def _run(self, args, timeout=None, check=True, what=None):
        key = " ".join(args)
        if key not in self.outputs:
            raise AssertionError("unexpected command: %s" % key)
        rc, out, err = self.outputs[key]
        if check and rc:
            raise xl.ToolstackError("%s failed" % key, cmd=args, rc=rc, stdout=out, stderr=err)
        return xl.CommandResult(args, rc, out, err)


def recorded_cloud1():
    return RecordedXl({
        "xl list": (0, fixture("appvms_list.txt"), ""),
        "xl list -l": (0, fixture("appvms_list_l.txt"), ""),
        "xl info": (0, fixture("appvms_info.txt"), ""),
        "xl uptime": (0, fixture("appvms_uptime.txt"), ""),
        "xenstore-read /local/domain/4/data/exit-status": (0, "0\n", ""),
        "xenstore-read /local/domain/2/data/exit-status": (1, "", fixture("xenstore_read_missing.txt")),
    })


def test_domains_merge_state_with_configured_memory():
    domains = recorded_cloud1().domains()
    assert domains["m-fx-a"]["memory_mib"] == 16 and domains["m-fx-a"]["memory_actual_mib"] == 0
    assert domains["m-fx-p"]["state"] == "paused" and domains["m-fx-p"]["memory_mib"] == 8


def test_missing_xenstore_key_reads_as_none():
    recorded = recorded_cloud1()
    assert recorded.xenstore_read("/local/domain/2/data/exit-status") is None
    assert recorded.xenstore_read("/local/domain/4/data/exit-status") == "0"


def test_runtime_view_of_recorded_cloud_vm(tmp_path):
    from flexcapsule.runtime import Runtime
    runtime = Runtime(state_dir=str(tmp_path), image_store="/tmp/m-images", xl=recorded_cloud1())
    views = {view["name"]: view for view in runtime.app_vms(reap=False)}
    assert set(views) == {"m-fx-a", "m-fx-p", "m-fx-done"}
    assert views["m-fx-a"]["state"] == "running" and views["m-fx-a"]["image"] == "counter"
    assert views["m-fx-p"]["state"] == "paused"
    done = views["m-fx-done"]
    assert done["state"] == "stopped" and done["exit_status"] == 0 and done["exit_reason"] == "exit"
    assert not (tmp_path / "apps").exists()  # read-only: nothing recorded, nothing destroyed


def test_failed_migration_output_has_no_success_phases():
    lines = [(float(index), line) for index, line in enumerate(fixture("migrate_fails_logdirty_sender.txt").splitlines())]
    phases = xl.parse_migrate_log(lines)
    assert "success" not in phases and "target_started" not in phases
    assert any("Migration failed, resuming at sender." in line for _, line in lines)


def test_reaping_leaves_domains_that_are_not_ours_alone(tmp_path):
    from flexcapsule.runtime import Runtime
    # Image store differs from the recorded kernel paths and nothing is defined: no domain is ours.
    runtime = Runtime(state_dir=str(tmp_path), image_store="/var/lib/flexcapsule/images", xl=recorded_cloud1())
    assert runtime.reap() == []  # a destroy would have hit RecordedXl's "unexpected command"
