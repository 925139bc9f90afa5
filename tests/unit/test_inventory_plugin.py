"""The app-VM inventory plugin: hosts and groups from each cloud VM's app_vm_info answer."""
import importlib.util
import os

import pytest
from ansible.errors import AnsibleParserError

PLUGIN_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "inventory", "flexcapsule_app_vms.py")
spec = importlib.util.spec_from_file_location("flexcapsule_app_vms", PLUGIN_PATH)
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)

ANSWERS = {
    "cloud1": {"changed": False, "app_vms": [
        {"name": "m-counter", "image": "counter", "kind": "flexcapsule", "state": "running", "memory_mib": 32},
        {"name": "m-hello", "image": "hello", "kind": "flexcapsule", "state": "stopped", "exit_status": 0}]},
    "cloud2": {"changed": False, "app_vms": [
        {"name": "m-smoke", "image": "linux-smoke", "kind": "linux", "state": "running", "memory_mib": 128}]},
}


def test_hosts_are_grouped_by_cloud_vm_image_and_state():
    hosts = {host: (host_vars, groups) for host, host_vars, groups in plugin.app_vm_hosts(ANSWERS)}
    assert set(hosts) == {"m-counter", "m-hello", "m-smoke"}
    host_vars, groups = hosts["m-smoke"]
    assert host_vars["flexcapsule_cloud_vm"] == "cloud2" and host_vars["flexcapsule_image"] == "linux-smoke"
    assert groups == ["app_vms", "cloud_vm_cloud2", "app_vm_state_running", "image_linux_smoke"]
    assert "app_vm_state_stopped" in hosts["m-hello"][1]


def test_a_cloud_vm_that_fails_is_an_error_not_an_empty_list():
    with pytest.raises(AnsibleParserError, match="cloud VM cloud2 did not list its app VMs: xl not found"):
        plugin.app_vm_hosts(dict(ANSWERS, cloud2={"failed": True, "msg": "xl not found"}))


def test_only_its_own_config_files_are_accepted(tmp_path):
    good = tmp_path / "lab.flexcapsule_app_vms.yml"
    other = tmp_path / "hosts.yml"
    for path in (good, other):
        path.write_text("plugin: flexcapsule_app_vms\n")
    module = plugin.InventoryModule()
    assert module.verify_file(str(good)) and not module.verify_file(str(other))


def test_group_names_are_safe():
    assert plugin.group_name("image_", "linux-smoke.v2") == "image_linux_smoke_v2"
