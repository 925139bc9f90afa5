"""The runtime's records on disk: written so a crash of the cloud VM cannot leave them empty, and a record that is
unreadable anyway (written by an older runtime) named in a clear error while the rest of the cloud VM stays
manageable."""
import json
import os

import pytest

from flexcapsule import runtime as runtime_module
from flexcapsule.appvm_state import plan
from flexcapsule.capsule.cli import format_status
from flexcapsule.appvm import AppVmError
from flexcapsule.runtime import AppVmRecordError, Runtime

DEFINITION = {"name": "m-app", "image": "counter", "kind": "flexcapsule", "memory_mib": 32, "vcpus": 1, "args": "",
              "network": None}


def write_record(runtime, name, file_name, text):
    os.makedirs(runtime.app_dir(name), exist_ok=True)
    with open(os.path.join(runtime.app_dir(name), file_name), "wb") as handle:
        handle.write(text)


def test_a_record_reaches_the_disk_before_it_replaces_the_old_one(tmp_path, monkeypatch):
    """ext4 commits a rename before the new file's data unless the data is synced first: a cloud VM killed a few
    seconds after `capsule run` came back with an empty record (CI, 2026-11-28)."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(runtime_module.os, "fsync", lambda fd: (events.append(("fsync", os.readlink(
        "/proc/self/fd/%d" % fd))), real_fsync(fd))[1])
    monkeypatch.setattr(runtime_module.os, "replace", lambda src, dst: (events.append(("replace", str(dst))),
                                                                        real_replace(src, dst))[1])
    runtime = Runtime(state_dir=str(tmp_path))
    runtime.save_definition(DEFINITION)
    path = os.path.join(runtime.app_dir("m-app"), "definition.json")
    assert events == [("fsync", path + ".tmp"), ("replace", path), ("fsync", runtime.app_dir("m-app"))]
    with open(path) as handle:
        assert json.load(handle) == DEFINITION


@pytest.mark.parametrize("text", [b"", b'{"name": "m-a', b"\xff\xfe"])
def test_an_unreadable_definition_is_named_with_the_way_out(tmp_path, text):
    runtime = Runtime(state_dir=str(tmp_path))
    write_record(runtime, "m-app", "definition.json", text)
    with pytest.raises(AppVmRecordError) as error:
        runtime.definition("m-app")
    message = str(error.value)
    assert "app VM 'm-app'" in message and os.path.join(runtime.app_dir("m-app"), "definition.json") in message
    assert "`capsule rm m-app` forgets it" in message
    assert runtime.readable_definition("m-app") is None


def test_an_unreadable_record_is_listed_and_the_others_still_are(tmp_path):
    runtime = Runtime(state_dir=str(tmp_path))
    runtime.save_definition(dict(DEFINITION, name="m-good"))
    runtime.update_status("m-good", exit_status=0, exit_reason="exit")
    write_record(runtime, "m-cut", "definition.json", b"")
    write_record(runtime, "m-cut", "status.json", b"")
    views = {view["name"]: view for view in runtime.recorded_views()}
    assert views["m-good"]["state"] == "stopped" and views["m-good"]["exit_status"] == 0
    assert "record_error" not in views["m-good"]
    cut = views["m-cut"]
    assert cut["state"] == "stopped" and cut["image"] is None and cut["memory_mib"] is None
    assert "definition.json is unreadable" in cut["record_error"]
    assert format_status(cut) == "unreadable record"
    assert os.path.getsize(os.path.join(runtime.app_dir("m-cut"), "definition.json")) == 0  # nothing rewritten


def test_an_unreadable_record_is_removed_or_replaced_only_when_asked(tmp_path):
    runtime = Runtime(state_dir=str(tmp_path))
    write_record(runtime, "m-app", "definition.json", b"")
    [cut] = runtime.recorded_views()
    with pytest.raises(AppVmError, match="unreadable.*or set replace=true"):
        plan(cut, DEFINITION, "running")
    assert plan(cut, DEFINITION, "running", replace=True) == ["remove", "define", "start"]
    assert plan(cut, None, "absent") == ["remove"]
    runtime.forget("m-app")
    assert runtime.recorded_views() == [] and not os.path.exists(runtime.app_dir("m-app"))
