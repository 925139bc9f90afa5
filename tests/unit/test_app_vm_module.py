"""app_vm / app_vm_info / app_vm_migrate: argument handling and refusal of bad input before any change."""
import json

import pytest
from ansible.module_utils import basic

import app_vm
import app_vm_info
import app_vm_migrate


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg"))
        self.result, self.failed = result, failed


@pytest.fixture
def run_module(monkeypatch):
    def exit_json(self, **result):
        raise ModuleExit(result, failed=False)

    def fail_json(self, **result):
        raise ModuleExit(result, failed=True)

    def toolstack_must_not_run(*args, **kwargs):
        raise AssertionError("bad input reached the toolstack: %r" % (args,))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr("flexcapsule.xl.run", toolstack_must_not_run)
    monkeypatch.setattr("ansible.module_utils.flexcapsule.xl.run", toolstack_must_not_run, raising=False)

    def run(module, args, check_mode=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_remote_tmp="/tmp", _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
        with pytest.raises(ModuleExit) as outcome:
            module.main()
        return outcome.value
    return run


@pytest.mark.parametrize("args, message", [
    ({"name": "Bad_Name", "image": "counter"}, "invalid app VM name 'Bad_Name'"),
    ({"name": "m-c", "image": "../etc"}, "invalid image name '../etc'"),
    ({"name": "m-c", "image": "counter", "memory": "lots"}, "invalid memory size 'lots'"),
    ({"name": "m-c", "image": "counter", "memory": 0}, "invalid memory size 0"),
    ({"name": "m-c", "image": "counter", "vcpus": 0}, "invalid vcpus 0"),
    ({"name": "m-c", "image": "counter", "args": ['a"b']}, "invalid app argument"),
    ({"name": "m-c", "image": "counter", "timeout": -1}, "invalid timeout -1"),
])
def test_app_vm_refuses_bad_input_before_touching_xen(run_module, args, message):
    outcome = run_module(app_vm, args)
    assert outcome.failed and message in outcome.result["msg"]
    assert outcome.result["actions"] == []


def test_app_vm_rejects_unknown_states_and_options(run_module):
    outcome = run_module(app_vm, {"name": "m-c", "state": "started"})
    assert outcome.failed and "value of state must be one of" in outcome.result["msg"]
    outcome = run_module(app_vm, {"name": "m-c", "colour": "blue"})
    assert outcome.failed and "Unsupported parameters" in outcome.result["msg"]


def test_migrate_requires_a_destination_and_a_known_transport(run_module):
    outcome = run_module(app_vm_migrate, {"name": "m-c"})
    assert outcome.failed and "destination" in outcome.result["msg"]
    outcome = run_module(app_vm_migrate, {"name": "m-c", "destination": "10.77.0.12", "transport": "udp"})
    assert outcome.failed and "transport" in outcome.result["msg"]


@pytest.mark.parametrize("destination", ["10.77.0.12; reboot", "-oProxyCommand=sh", "$(id)"])
def test_migrate_refuses_destinations_that_could_reach_a_shell(run_module, destination):
    # host validation happens before ssh or xl run (the patched runner would fail the test otherwise)
    import flexcapsule.runtime_migrate as migrate_logic
    from flexcapsule.runtime import Runtime
    with pytest.raises(migrate_logic.MigrationError, match="invalid host"):
        migrate_logic.preflight(Runtime(state_dir="/nonexistent"), "m-c", destination)


def test_info_rejects_bad_interval_type(run_module):
    outcome = run_module(app_vm_info, {"cpu_interval": "soon"})
    assert outcome.failed and "cpu_interval" in outcome.result["msg"]


# ---- check mode on a recorded cloud VM: changed/diff logic without changing anything

def counter_image_store(tmp_path):
    """An image store with a counter image (a placeholder kernel: nothing boots here)."""
    store = tmp_path / "images"
    (store / "counter").mkdir(parents=True)
    (store / "counter" / "kernel.elf").write_bytes(b"\0")
    (store / "counter" / "manifest.json").write_text(json.dumps({
        "name": "counter", "kind": "flexcapsule", "kernel": "kernel.elf", "ramdisk": None, "cmdline": "",
        "memory_mib": 8, "sha256": None}))
    return store


@pytest.fixture
def recorded_cloud_vm(monkeypatch, tmp_path):
    """cloud1 as recorded (tests/fixtures/xl/appvms_*), with the definitions capsule wrote in the state dir."""
    from ansible.module_utils.flexcapsule.runtime import Runtime
    from test_xl_parsers import recorded_cloud1

    store = counter_image_store(tmp_path)
    state = tmp_path / "run"
    for name, memory in (("m-fx-a", 16), ("m-fx-p", 8)):
        (state / "apps" / name).mkdir(parents=True)
        (state / "apps" / name / "definition.json").write_text(json.dumps({
            "name": name, "image": "counter", "kind": "flexcapsule", "memory_mib": memory, "vcpus": 1, "args": ""}))
    monkeypatch.setattr(app_vm, "Runtime", lambda state_dir, image_store: Runtime(
        state_dir=state_dir, image_store=image_store, xl=recorded_cloud1()))
    return {"state_dir": str(state), "image_store": str(store)}


def test_check_mode_running_app_vm_already_as_asked_is_not_changed(run_module, recorded_cloud_vm):
    outcome = run_module(app_vm, dict(recorded_cloud_vm, name="m-fx-a", image="counter", memory="16M"),
                         check_mode=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False and outcome.result["actions"] == []
    assert outcome.result["diff"]["before"] == outcome.result["diff"]["after"]


def test_check_mode_stop_reports_the_stop_and_the_diff(run_module, recorded_cloud_vm):
    outcome = run_module(app_vm, dict(recorded_cloud_vm, name="m-fx-a", state="stopped"), check_mode=True)
    assert outcome.result["changed"] is True and outcome.result["actions"] == ["stop"]
    assert outcome.result["diff"]["before"]["state"] == "running"
    assert outcome.result["diff"]["after"] == dict(outcome.result["diff"]["before"], state="stopped")


def test_check_mode_new_app_vm_would_be_defined_and_started(run_module, recorded_cloud_vm):
    outcome = run_module(app_vm, dict(recorded_cloud_vm, name="m-new", image="counter", args=["--n", "3"]),
                         check_mode=True)
    assert outcome.result["actions"] == ["define", "start"]
    assert outcome.result["diff"]["before"] == {"state": "absent"}
    assert outcome.result["diff"]["after"] == {"name": "m-new", "image": "counter", "kind": "flexcapsule",
                                               "memory_mib": 8, "vcpus": 1, "args": "--n 3", "network": None,
                                               "state": "running"}


def test_memory_beyond_the_cloud_vm_is_refused_even_in_check_mode(run_module, recorded_cloud_vm):
    outcome = run_module(app_vm, dict(recorded_cloud_vm, name="m-big", image="counter", memory="4G"),
                         check_mode=True)
    assert outcome.failed and "more than this cloud VM can give" in outcome.result["msg"]


def test_name_clash_is_refused_in_check_mode_too(run_module, recorded_cloud_vm):
    outcome = run_module(app_vm, dict(recorded_cloud_vm, name="m-fx-a", image="counter", memory=32), check_mode=True)
    assert outcome.failed and "name clash" in outcome.result["msg"] and "memory_mib 16 != 32" in outcome.result["msg"]
    replaced = run_module(app_vm, dict(recorded_cloud_vm, name="m-fx-a", image="counter", memory=32, replace=True),
                          check_mode=True)
    assert replaced.result["actions"] == ["stop", "remove", "define", "start"]


def test_check_mode_paused_app_vm_would_be_unpaused(run_module, recorded_cloud_vm):
    outcome = run_module(app_vm, dict(recorded_cloud_vm, name="m-fx-p", image="counter", memory=8), check_mode=True)
    assert outcome.result.get("actions") == ["unpause"], outcome.result
