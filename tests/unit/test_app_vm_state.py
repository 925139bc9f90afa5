"""The state model: which actions each desired state needs from each observed state."""
import pytest

from flexcapsule.appvm import AppVmError
from flexcapsule.appvm_state import merged_options, observed_state, plan, state_after

DEFINITION = {"name": "m-app", "image": "counter", "kind": "flexcapsule", "memory_mib": 32, "vcpus": 1, "args": ""}


NETWORK = {"address": "10.77.0.50/24", "gateway": "10.77.0.1", "mac": "00:16:3e:00:00:01", "bridge": "xenbr0"}


def view(state, **changes):
    return dict(DEFINITION, state=state, **changes)


@pytest.mark.parametrize("current, state, expected", [
    (None, "running", ["define", "start"]),
    (view("running"), "running", []),
    (view("stopped"), "running", ["start"]),
    (view("paused"), "running", ["unpause"]),
    (None, "stopped", ["define"]),
    (view("running"), "stopped", ["stop"]),
    (view("stopped"), "stopped", []),
    (view("running"), "restarted", ["stop", "start"]),
    (view("stopped"), "restarted", ["start"]),
    (None, "restarted", ["define", "start"]),
    (view("running"), "paused", ["pause"]),
    (view("stopped"), "paused", ["start", "pause"]),
    (view("paused"), "paused", []),
    (None, "absent", []),
    (view("running"), "absent", ["stop", "remove"]),
    (view("stopped"), "absent", ["remove"]),
])
def test_plan_gives_minimal_actions_for_each_transition(current, state, expected):
    assert plan(current, DEFINITION, state) == expected


def test_finished_domain_counts_as_stopped():
    assert observed_state(view("shutdown")) == "stopped"
    assert plan(view("crashed"), DEFINITION, "running") == ["start"]


@pytest.mark.parametrize("change", [{"image": "hello"}, {"memory_mib": 64}, {"vcpus": 2}, {"args": "--fast"},
                                    {"network": NETWORK}])
def test_name_clash_with_a_different_definition_is_refused(change):
    with pytest.raises(AppVmError, match="name clash.*replace=true"):
        plan(view("running"), dict(DEFINITION, **change), "running")


def test_replace_recreates_a_clashing_app_vm():
    assert plan(view("running"), dict(DEFINITION, memory_mib=64), "running", replace=True) == [
        "stop", "remove", "define", "start"]
    assert plan(view("stopped"), dict(DEFINITION, vcpus=2), "stopped", replace=True) == ["remove", "define"]


def test_unknown_state_is_an_error():
    with pytest.raises(AppVmError, match="invalid state 'started'"):
        plan(None, DEFINITION, "started")


def test_merged_options_keep_existing_values_for_unset_options():
    current = view("running", memory_mib=48, vcpus=2, args="--x")
    assert merged_options("m-app", current) == {"name": "m-app", "image": "counter", "memory": 48, "vcpus": 2,
                                                "args": "--x", "network": None}
    # A new image does not inherit the old image's memory: its own default applies.
    assert merged_options("m-app", current, image="hello")["memory"] is None
    assert merged_options("m-app", current, memory="64M")["memory"] == "64M"


def test_creating_without_an_image_is_an_error():
    with pytest.raises(AppVmError, match="image is required"):
        merged_options("m-new", None)


def test_state_after_predicts_check_mode_result():
    assert state_after("absent", ["define", "start"], "running") == "running"
    assert state_after("running", [], "running") == "running"
    assert state_after("running", ["stop", "remove"], "absent") == "absent"
    assert state_after("stopped", ["start"], "restarted") == "running"


def test_network_is_kept_when_unset_and_removed_by_an_empty_one():
    current = view("running", network=NETWORK)
    assert merged_options("m-app", current)["network"] == NETWORK
    assert merged_options("m-app", current, network={"address": None})["network"] == {"address": None}
    assert plan(current, dict(DEFINITION, network=NETWORK), "running") == []


@pytest.mark.parametrize("key, value", [("address", "10.77.0.51/24"), ("gateway", None), ("mac", "00:16:3e:00:00:02"),
                                        ("bridge", "xenbr1")])
def test_any_network_difference_is_a_name_clash(key, value):
    with pytest.raises(AppVmError, match="name clash.*different network"):
        plan(view("running", network=NETWORK), dict(DEFINITION, network=dict(NETWORK, **{key: value})), "running")


def test_a_definition_saved_before_networks_existed_is_the_same_app_vm():
    old = {key: value for key, value in DEFINITION.items()}  # no "network" key at all
    assert plan(dict(old, state="running"), dict(DEFINITION, network=None), "running") == []


def test_a_domain_being_built_or_torn_down_is_not_an_app_vm(tmp_path):
    """xl lists such a domain as "(null)" (no name in xenstore yet or any more); ps and preflight skip it."""
    from flexcapsule.runtime import Runtime
    from test_xl_parsers import RecordedXl, fixture

    listing = fixture("appvms_list.txt") + "(null)                                      9     0     1     --p---       0.0\n"
    xl = RecordedXl({"xl list": (0, listing, ""), "xl list -l": (0, fixture("appvms_list_l.txt"), ""),
                     "xl info": (0, fixture("appvms_info.txt"), ""), "xl uptime": (0, fixture("appvms_uptime.txt"), "")})
    assert "(null)" in xl.domains()
    runtime = Runtime(state_dir=str(tmp_path), xl=xl)
    assert "(null)" not in runtime.domains() and runtime.domains()
