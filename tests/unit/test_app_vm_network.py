"""App VM networks: validation, the xl.cfg vif and kernel options, reading NICs back from `xl list -l`, address
and MAC conflicts, migration preflight, the capsule CLI and the inventory's flexcapsule_address."""
import json
import os

import pytest

from flexcapsule import appvm, runtime_migrate, xl
from flexcapsule.appvm import AppVmError
from flexcapsule.capsule import cli
from flexcapsule.runtime import Runtime

HERE = os.path.dirname(__file__)
NETWORK = {"address": "10.77.0.50/24", "gateway": "10.77.0.1"}


def read(path):
    with open(path) as handle:
        return handle.read()


# ---------------------------------------------------------------- validation


def test_a_network_is_normalised_with_defaults():
    network = appvm.make_network("m-web", {"address": " 10.77.0.50/24", "gateway": "10.77.0.1", "mac": None,
                                           "bridge": None})
    assert network == {"address": "10.77.0.50/24", "gateway": "10.77.0.1", "mac": appvm.default_mac("m-web"),
                       "bridge": "xenbr0"}
    assert appvm.make_network("m-web", {"address": "10.77.0.50/24", "mac": "02-00-0A-4D-00-33",
                                        "bridge": "br-apps"}) == {
        "address": "10.77.0.50/24", "gateway": None, "mac": "02:00:0a:4d:00:33", "bridge": "br-apps"}


def test_no_network_and_an_empty_one_mean_no_nic():
    assert appvm.make_network("m-web", None) is None
    assert appvm.make_network("m-web", {}) is None
    assert appvm.make_network("m-web", {"address": None, "gateway": None, "mac": None, "bridge": None}) is None


def test_the_default_mac_is_stable_per_name_unicast_and_under_xens_oui():
    mac = appvm.default_mac("m-web")
    assert mac == appvm.default_mac("m-web") and mac.startswith("00:16:3e:")
    assert appvm.parse_mac(mac) == mac  # well-formed and unicast
    assert appvm.default_mac("m-web-2") != mac
    assert len({appvm.default_mac("m-%d" % index) for index in range(200)}) == 200


@pytest.mark.parametrize("network, message", [
    ({"address": "10.77.0.50"}, "invalid network address '10.77.0.50': expected IPv4 address/prefix"),
    ({"address": "10.77.0.300/24"}, "invalid network address '10.77.0.300/24'"),
    ({"address": "10.77.0.50/33"}, "invalid network address '10.77.0.50/33'"),
    ({"address": "fd00::5/64"}, "invalid network address 'fd00::5/64'"),
    ({"address": "10.77.0.0/24"}, "is the network address of 10.77.0.0/24"),
    ({"address": "10.77.0.255/24"}, "is the broadcast address of 10.77.0.0/24"),
    ({"address": "224.0.0.5/24"}, "not a unicast host address"),
    ({"address": "127.0.0.2/8"}, "not a unicast host address"),
    ({"address": "10.77.0.50/24", "gateway": "10.78.0.1"}, "gateway 10.78.0.1: not inside the app VM's network"),
    ({"address": "10.77.0.50/24", "gateway": "10.77.0.50"}, "gateway 10.77.0.50: it is the app VM's own address"),
    ({"address": "10.77.0.50/24", "gateway": "10.77.0.255"}, "network or broadcast address"),
    ({"address": "10.77.0.50/24", "gateway": "gw"}, "invalid network gateway 'gw'"),
    ({"address": "10.77.0.50/24", "mac": "01:00:5e:00:00:01"}, "multicast/broadcast"),
    ({"address": "10.77.0.50/24", "mac": "ff:ff:ff:ff:ff:ff"}, "multicast/broadcast"),
    ({"address": "10.77.0.50/24", "mac": "00:00:00:00:00:00"}, "all zeros"),
    ({"address": "10.77.0.50/24", "mac": "00:16:3e:12:34"}, "invalid network mac '00:16:3e:12:34'"),
    ({"address": "10.77.0.50/24", "mac": "00:16:3e:12:34:5g"}, "invalid network mac"),
    ({"address": "10.77.0.50/24", "bridge": "xenbr0,script=/bin/x"}, "invalid network bridge"),
    ({"address": "10.77.0.50/24", "bridge": "a-very-long-bridge"}, "invalid network bridge"),
    ({"address": "10.77.0.50/24", "bridge": "-x"}, "invalid network bridge"),
    ({"gateway": "10.77.0.1"}, "network needs an address"),
    ({"address": "10.77.0.50/24", "netmask": "255.255.255.0"}, "invalid network option netmask"),
    ("10.77.0.50/24", "expected a dict"),
])
def test_bad_networks_are_refused_with_the_problem_named(network, message):
    with pytest.raises(AppVmError) as error:
        appvm.make_network("m-web", network)
    assert message in str(error.value)


# ---------------------------------------------------------------- the xl config


@pytest.fixture
def store(tmp_path):
    for image, kind, cmdline, files in (("httpd", "flexcapsule", "", ("kernel.elf",)),
                                        ("linux-smoke", "linux", "console=hvc0 quiet", ("vmlinuz", "initrd.img"))):
        (tmp_path / image).mkdir()
        for file_name in files:
            (tmp_path / image / file_name).write_bytes(b"x")
        (tmp_path / image / "manifest.json").write_text(json.dumps({
            "name": image, "kind": kind, "kernel": files[0], "ramdisk": files[1] if len(files) > 1 else None,
            "cmdline": cmdline, "memory_mib": 8}))
    return str(tmp_path)


def config_of(store, image, network, args=None, name="m-web"):
    manifest = appvm.load_manifest(image, store)
    definition = appvm.make_definition(name, image, manifest, args=args, network=network)
    return definition, appvm.render_xl_config(definition, manifest)


def test_flexcapsule_os_gets_a_vif_and_leading_kernel_options(store):
    definition, config = config_of(store, "httpd", NETWORK, args=["--port", "80"])
    mac = appvm.default_mac("m-web")
    assert 'vif = ["mac=%s,bridge=xenbr0,ip=10.77.0.50,script=vif-flexcapsule"]\n' % mac in config
    assert 'cmdline = "fc.ip=10.77.0.50/24 fc.gw=10.77.0.1 --port 80"' in config
    assert definition["args"] == "--port 80"  # the options are not part of the app's arguments


def test_the_vif_names_its_hotplug_script_vif_flexcapsule_unless_vif_bridge_is_chosen(store):
    network = appvm.make_network("m-web", NETWORK)
    assert "script" not in network  # the default is not spelled out: definitions stay what they were
    assert appvm.vif_spec(network) == "mac=%s,bridge=xenbr0,ip=10.77.0.50,script=vif-flexcapsule" % network["mac"]
    chosen = appvm.make_network("m-web", dict(NETWORK, script="vif-bridge"))
    assert chosen["script"] == "vif-bridge"
    assert appvm.vif_spec(chosen).endswith(",ip=10.77.0.50,script=vif-bridge")
    assert appvm.make_network("m-web", dict(NETWORK, script="vif-flexcapsule")) == network
    _definition, config = config_of(store, "httpd", dict(NETWORK, script="vif-bridge"))
    assert ',script=vif-bridge"]\n' in config


@pytest.mark.parametrize("script", ["vif-route", "/tmp/x", "vif-bridge; reboot", "VIF-BRIDGE"])
def test_only_the_known_hotplug_scripts_are_accepted(script):
    with pytest.raises(AppVmError, match="invalid network script .*vif-flexcapsule, vif-bridge"):
        appvm.make_network("m-web", dict(NETWORK, script=script))


def test_the_hotplug_script_is_not_part_of_the_app_vms_identity():
    """Xen does not report the script back: a live app VM started with vif-bridge must not clash with its own
    declaration, nor one declared with a new script with its stored definition."""
    base = {"name": "m-web", "image": "httpd", "memory_mib": 8, "vcpus": 1, "args": ""}
    live = dict(base, network=appvm.make_network("m-web", NETWORK))
    declared = dict(base, network=appvm.make_network("m-web", dict(NETWORK, script="vif-bridge")))
    assert appvm.definition_differences(live, declared) == []
    assert appvm.definition_differences(declared, dict(base, network=appvm.make_network(
        "m-web", dict(NETWORK, address="10.77.0.51/24", script="vif-bridge")))) == ["network"]


def test_capsule_run_vif_script_flag():
    parse = cli.build_parser().parse_args
    assert cli.network_options(parse(["run", "--ip", "10.77.0.50/24", "--vif-script", "vif-bridge", "httpd"]))[
        "script"] == "vif-bridge"
    assert "script" not in cli.network_options(parse(["run", "--ip", "10.77.0.50/24", "httpd"]))
    with pytest.raises(AppVmError, match="--vif-script needs --ip"):
        cli.network_options(parse(["run", "--vif-script", "vif-bridge", "httpd"]))
    with pytest.raises(SystemExit):
        parse(["run", "--ip", "10.77.0.50/24", "--vif-script", "vif-route", "httpd"])


def test_linux_gets_the_same_options_before_its_own_cmdline(store):
    _definition, config = config_of(store, "linux-smoke", {"address": "10.77.0.52/24"}, args=["x=1"])
    assert 'cmdline = "fc.ip=10.77.0.52/24 console=hvc0 quiet x=1"' in config
    assert "fc.gw" not in config and 'bridge=xenbr0,ip=10.77.0.52,script=vif-flexcapsule"]' in config


def test_without_a_network_there_is_no_vif_and_no_option(store):
    _definition, config = config_of(store, "httpd", None, args=["--port", "80"])
    assert "vif" not in config and 'cmdline = "--port 80"' in config


def test_kernel_options_split_like_the_libos_does():
    assert appvm.split_kernel_options("fc.ip=10.77.0.50/24 fc.gw=10.77.0.1 --port 80 fc.x=1") == (
        {"fc.ip": "10.77.0.50/24", "fc.gw": "10.77.0.1"}, "--port 80 fc.x=1")
    assert appvm.split_kernel_options("console=hvc0 fc.ip=1.2.3.4/8") == ({}, "console=hvc0 fc.ip=1.2.3.4/8")
    assert appvm.split_kernel_options(None) == ({}, "")


# ---------------------------------------------------------------- xl list -l


# Recorded cloud1 (tests/fixtures/xl/appvms_list_l.txt) with NICs for two of its app VMs, in the shape of the
# recorded vif domain (appvm_vif_list_l.txt): m-fx-a as the runtime defines one, m-fx-p with an upper-case MAC (libxl
# prints lower case; this pins the parser's normalisation), another bridge and app args after the options.
NICS = {
    "m-fx-a": ({"devid": 0, "mtu": 1500, "mac": "00:16:3e:42:7e:bc", "ip": "10.77.0.50", "bridge": "xenbr0",
                "script": "/etc/xen/scripts/vif-bridge", "nictype": "vif"}, "fc.ip=10.77.0.50/24 fc.gw=10.77.0.1"),
    "m-fx-p": ({"devid": 0, "mtu": 1500, "mac": "02:00:0A:4D:00:33", "ip": "10.77.0.51", "bridge": "xenbr1",
                "script": "/etc/xen/scripts/vif-bridge", "nictype": "vif"}, "fc.ip=10.77.0.51/24 --interval 2"),
}


def cloud1_list_long_with_nics():
    from test_xl_parsers import fixture
    domains = json.loads(fixture("appvms_list_l.txt"))
    for domain in domains:
        config = domain["config"]
        if config["c_info"]["name"] in NICS:
            nic, cmdline = NICS[config["c_info"]["name"]]
            config["nics"] = [nic]
            config["b_info"]["cmdline"] = cmdline
    return json.dumps(domains)


def test_nics_are_parsed_from_the_libxl_domain_config():
    domains = xl.parse_list_long(cloud1_list_long_with_nics())
    assert domains["m-fx-a"]["nics"] == [{"devid": 0, "mac": "00:16:3e:42:7e:bc", "ip": "10.77.0.50",
                                          "bridge": "xenbr0", "mtu": 1500, "model": None}]
    assert domains["m-fx-p"]["nics"][0]["mac"] == "02:00:0a:4d:00:33"  # normalised to lower case
    assert domains["m-fx-done"]["nics"] == [] and domains["Domain-0"]["nics"] == []


def test_nics_come_in_devid_order_and_garbage_is_an_error():
    config = {"nics": [{"devid": 1, "mac": "00:16:3e:00:00:02"}, {"devid": 0, "mac": "00:16:3e:00:00:01"}]}
    assert [nic["devid"] for nic in xl.parse_nics(config)] == [0, 1]
    with pytest.raises(ValueError, match="nics entry"):
        xl.parse_nics({"nics": ["xenbr0"]})


def test_recorded_vif_domain_parses():
    """`xl list -l` of an app VM `capsule run --ip 10.77.0.60/24 --gateway 10.77.0.1` started (recorded)."""
    from test_xl_parsers import fixture
    domain = xl.parse_list_long(fixture("appvm_vif_list_l.txt"))["m-net-a"]
    assert domain["nics"] == [{"devid": 0, "mac": "00:16:3e:e2:80:5d", "ip": "10.77.0.60", "bridge": "xenbr0",
                               "mtu": None, "model": None}]
    assert appvm.network_from_domain(domain["nics"], domain["cmdline"]) == {
        "address": "10.77.0.60/24", "gateway": "10.77.0.1", "mac": "00:16:3e:e2:80:5d", "bridge": "xenbr0"}


def networked_cloud1():
    from test_xl_parsers import fixture, recorded_cloud1
    recorded = recorded_cloud1()
    recorded.outputs["xl list -l"] = (0, cloud1_list_long_with_nics(), "")
    return recorded, fixture


def test_live_app_vms_report_the_network_xen_holds(tmp_path):
    recorded, _fixture = networked_cloud1()
    runtime = Runtime(state_dir=str(tmp_path), image_store="/tmp/m-images", xl=recorded)
    views = {view["name"]: view for view in runtime.app_vms(reap=False)}
    assert views["m-fx-a"]["network"] == {"address": "10.77.0.50/24", "gateway": "10.77.0.1",
                                          "mac": "00:16:3e:42:7e:bc", "bridge": "xenbr0"}
    assert views["m-fx-p"]["network"] == {"address": "10.77.0.51/24", "gateway": None, "mac": "02:00:0a:4d:00:33",
                                          "bridge": "xenbr1"}
    assert views["m-fx-p"]["args"] == "--interval 2"  # the kernel options are not the app's arguments
    assert views["m-fx-done"]["network"] is None


def test_a_live_app_vms_network_is_xens_not_the_recorded_wish(tmp_path):
    recorded, _fixture = networked_cloud1()
    runtime = Runtime(state_dir=str(tmp_path), image_store="/tmp/m-images", xl=recorded)
    runtime.save_definition({"name": "m-fx-a", "image": "counter", "kind": "flexcapsule", "memory_mib": 16,
                             "vcpus": 1, "args": "", "network": None})
    runtime.save_definition({"name": "m-gone", "image": "counter", "kind": "flexcapsule", "memory_mib": 16,
                             "vcpus": 1, "args": "", "network": dict(NETWORK, mac="00:16:3e:00:00:09",
                                                                     bridge="xenbr0")})
    views = {view["name"]: view for view in runtime.app_vms(reap=False)}
    assert views["m-fx-a"]["network"]["mac"] == "00:16:3e:42:7e:bc"
    assert views["m-gone"]["state"] == "stopped" and views["m-gone"]["network"]["mac"] == "00:16:3e:00:00:09"


def test_a_migrated_in_app_vm_has_the_network_it_was_defined_with(tmp_path, store):
    """Nothing is recorded on the destination: the definition read back from Xen (what xl migrate carried) must
    equal the one the source made, or app_vm there would see a name clash."""
    recorded, _fixture = networked_cloud1()
    runtime = Runtime(state_dir=str(tmp_path), image_store="/tmp/m-images", xl=recorded)
    arrived = runtime.definition_from_domain(runtime.domains()["m-fx-a"])
    made = appvm.make_definition("m-fx-a", "httpd", appvm.load_manifest("httpd", store), network=NETWORK)
    assert arrived["network"] == made["network"] and arrived["args"] == made["args"] == ""
    assert appvm.definition_differences(dict(made, image="counter", memory_mib=16), arrived) == []


# ---------------------------------------------------------------- conflicts and the bridge


def installed_scripts(tmp_path):
    """A Xen scripts directory holding an executable vif-flexcapsule, as roles/flexcapsule_runtime leaves it."""
    scripts = tmp_path / "xen-scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "vif-flexcapsule").write_text("#!/bin/sh\n")
    (scripts / "vif-flexcapsule").chmod(0o755)
    return str(scripts)


@pytest.fixture
def net_runtime(tmp_path):
    """cloud1 with the NICs of cloud1_list_long_with_nics, a bridge xenbr0 in a fake /sys/class/net, and a stopped app VM."""
    sys_net = tmp_path / "sys"
    (sys_net / "xenbr0" / "bridge").mkdir(parents=True)
    (sys_net / "eth0").mkdir()
    recorded, _fixture = networked_cloud1()
    runtime = Runtime(state_dir=str(tmp_path / "run"), image_store="/tmp/m-images", xl=recorded,
                      sys_class_net=str(sys_net), xen_scripts_dir=installed_scripts(tmp_path))
    runtime.save_definition({"name": "m-stopped", "image": "counter", "kind": "flexcapsule", "memory_mib": 8,
                             "vcpus": 1, "args": "", "network": appvm.make_network("m-stopped", {
                                 "address": "10.77.0.70/24"})})
    return runtime


def definition(name="m-new", **network):
    return {"name": name, "network": appvm.make_network(name, dict({"address": "10.77.0.80/24"}, **network))}


def test_a_free_address_on_an_existing_bridge_passes(net_runtime):
    net_runtime.check_network(definition())
    net_runtime.check_network({"name": "m-new", "network": None})


def test_a_missing_hotplug_script_is_refused_before_anything_changes(net_runtime):
    """Before: xl create failed half-way with libxl's 'cannot execute'; now the runtime says what is missing."""
    with pytest.raises(appvm.AppVmError, match=r"NIC hotplug script .*/vif-bridge is not installed"):
        net_runtime.check_network(definition(script="vif-bridge"))
    os.remove(os.path.join(net_runtime.xen_scripts_dir, "vif-flexcapsule"))
    with pytest.raises(appvm.AppVmError, match=r"vif-flexcapsule is not installed on this cloud VM"):
        net_runtime.check_network(definition())


@pytest.mark.parametrize("network, message", [
    ({"address": "10.77.0.50/16"}, "address 10.77.0.50 is already used by app VM 'm-fx-a'"),
    ({"address": "10.77.0.70/24"}, "address 10.77.0.70 is already used by app VM 'm-stopped'"),
    ({"mac": "02:00:0A:4D:00:33"}, "MAC 02:00:0a:4d:00:33 is already used by app VM 'm-fx-p'"),
    ({"bridge": "eth0"}, "bridge 'eth0' does not exist on this cloud VM"),
    ({"bridge": "xenbr9"}, "bridge 'xenbr9' does not exist on this cloud VM"),
])
def test_conflicts_and_a_missing_bridge_are_refused(net_runtime, network, message):
    with pytest.raises(AppVmError) as error:
        net_runtime.check_network(definition(**network))
    assert message in str(error.value) and str(error.value).startswith("app VM 'm-new': ")


def test_an_app_vm_does_not_conflict_with_itself(net_runtime):
    net_runtime.check_network(definition("m-fx-a", address="10.77.0.50/24"))


def test_a_colliding_default_mac_says_to_set_one():
    own = definition("m-a")
    other = {"name": "m-b", "network": dict(own["network"], address="10.77.0.81/24")}
    assert "set network.mac" in appvm.network_conflicts(own, [other])[0]


# ---------------------------------------------------------------- migration preflight


def test_preflight_refuses_a_destination_without_the_bridge_or_with_a_conflict():
    local = {"host": "cloud1"}
    domain = {"name": "m-web", "image": "httpd", "memory_mib": 8}
    good = {"has_xen": True, "host": "cloud2", "free_memory_mib": 600, "has_image": True, "name_in_use": False,
            "missing_bridges": [], "network_conflicts": []}
    assert runtime_migrate.judge_preflight(local, domain, good, "10.77.0.12") == []
    problems = runtime_migrate.judge_preflight(local, domain, dict(
        good, missing_bridges=["xenbr0"], network_conflicts=["address 10.77.0.50 is already used by app VM 'x'"]),
        "10.77.0.12")
    assert problems == ["destination 10.77.0.12 has no bridge 'xenbr0' for app VM 'm-web''s NIC (apply "
                        "roles/nested_xen there with nested_xen_bridge=xenbr0)",
                        "destination 10.77.0.12: address 10.77.0.50 is already used by app VM 'x'"]


def test_the_destination_reports_missing_bridges_and_conflicts(net_runtime):
    report = runtime_migrate.preflight_report(net_runtime, "m-web", None, bridges=["xenbr0", "xenbr1"],
                                              addresses=["10.77.0.50"], macs=["02:00:0a:4d:00:33"])
    assert report["missing_bridges"] == ["xenbr1"]
    assert report["network_conflicts"] == ["address 10.77.0.50 is already used by app VM 'm-fx-a'",
                                           "MAC 02:00:0a:4d:00:33 is already used by app VM 'm-fx-p'"]
    # The app VM itself (already there, e.g. a half-finished earlier attempt) is no conflict.
    assert runtime_migrate.preflight_report(net_runtime, "m-fx-a", None, addresses=["10.77.0.50"])[
        "network_conflicts"] == []


def test_preflight_asks_the_destination_about_the_app_vms_nic(net_runtime, monkeypatch):
    asked = []

    def remote_capsule(host, args, **kwargs):
        asked.append(args)
        return {"has_xen": True, "host": "cloud2", "free_memory_mib": 600, "has_image": True, "name_in_use": False,
                "missing_bridges": ["xenbr0"], "network_conflicts": []}

    monkeypatch.setattr(runtime_migrate, "remote_capsule", remote_capsule)
    monkeypatch.setattr(net_runtime, "capacity", lambda: {"host": "cloud1"})
    net_runtime.xl.outputs[VIF_SCRIPT_KEY] = (0, "/etc/xen/scripts/vif-flexcapsule\n", "")
    with pytest.raises(runtime_migrate.MigrationError, match="has no bridge 'xenbr0'"):
        runtime_migrate.preflight(net_runtime, "m-fx-a", "10.77.0.12")
    assert asked == [["preflight", "--json", "--name", "m-fx-a", "--image", "counter", "--bridge", "xenbr0",
                      "--address", "10.77.0.50", "--mac", "00:16:3e:42:7e:bc", "--vif-script", "vif-flexcapsule"]]


# The vif backend of m-fx-a (domid 2 in cloud1_list_long_with_nics), where libxl wrote the NIC's hotplug script.
VIF_SCRIPT_KEY = "xenstore-read /local/domain/0/backend/vif/2/0/script"


@pytest.mark.parametrize("backend, expected", [
    ((0, "/etc/xen/scripts/vif-bridge\n", ""), ["vif-bridge"]),  # what libxl really runs there
    ((0, "/opt/xen/vif-custom\n", ""), ["/opt/xen/vif-custom"]),  # outside the scripts directory: the full path
    ((1, "", "xenstore-read: couldn't read path /local/domain/0/backend/vif/2/0/script\n"), ["vif-flexcapsule"]),
])
def test_the_source_reads_the_nics_hotplug_script_from_its_backend(net_runtime, backend, expected):
    net_runtime.xl.outputs[VIF_SCRIPT_KEY] = backend
    domain = net_runtime.domains()["m-fx-a"]
    assert runtime_migrate.vif_scripts_of(net_runtime, domain) == expected
    assert runtime_migrate.vif_scripts_of(net_runtime, dict(domain, nics=[])) == []


def test_an_unrecorded_backend_falls_back_to_the_recorded_definitions_script(net_runtime):
    net_runtime.xl.outputs[VIF_SCRIPT_KEY] = (1, "", "xenstore-read: couldn't read path x\n")
    net_runtime.save_definition({"name": "m-fx-a", "image": "counter", "kind": "flexcapsule", "memory_mib": 16,
                                 "vcpus": 1, "args": "", "network": appvm.make_network("m-fx-a", {
                                     "address": "10.77.0.50/24", "script": "vif-bridge"})})
    assert runtime_migrate.vif_scripts_of(net_runtime, net_runtime.domains()["m-fx-a"]) == ["vif-bridge"]


def test_preflight_refuses_a_destination_without_the_hotplug_script():
    local = {"host": "cloud1"}
    domain = {"name": "m-web", "image": "httpd", "memory_mib": 8}
    good = {"has_xen": True, "host": "cloud2", "free_memory_mib": 600, "has_image": True, "name_in_use": False,
            "missing_bridges": [], "network_conflicts": [], "missing_vif_scripts": []}
    assert runtime_migrate.judge_preflight(local, domain, good, "10.77.0.12") == []
    problems = runtime_migrate.judge_preflight(local, domain, dict(good, missing_vif_scripts=["vif-flexcapsule"]),
                                               "10.77.0.12")
    assert problems == ["destination 10.77.0.12 has no hotplug script /etc/xen/scripts/vif-flexcapsule for app VM "
                        "'m-web''s NIC (apply roles/flexcapsule_runtime there, which installs vif-flexcapsule; or "
                        "start the app VM with network.script: vif-bridge)"]


def test_the_destination_reports_missing_hotplug_scripts(net_runtime, tmp_path):
    scripts = tmp_path / "other-xen-scripts"
    scripts.mkdir()
    (scripts / "vif-bridge").write_text("#!/bin/sh\n")
    (scripts / "vif-bridge").chmod(0o755)
    (scripts / "vif-flexcapsule").write_text("#!/bin/sh\n")  # there but not executable: libxl cannot run it
    net_runtime.xen_scripts_dir = str(scripts)
    report = runtime_migrate.preflight_report(net_runtime, "m-web", None,
                                              vif_scripts=["vif-bridge", "vif-flexcapsule", "../../bin/sh"])
    assert report["missing_vif_scripts"] == ["vif-flexcapsule", "../../bin/sh"]
    (scripts / "vif-flexcapsule").chmod(0o755)
    assert runtime_migrate.preflight_report(net_runtime, "m-web", None, vif_scripts=["vif-flexcapsule"])[
        "missing_vif_scripts"] == []
    assert "missing_vif_scripts" not in runtime_migrate.preflight_report(net_runtime, "m-web", None)


def test_a_destination_with_an_older_capsule_is_told_to_update(monkeypatch):
    monkeypatch.setattr(runtime_migrate, "ensure_mux_dir", lambda: None)
    monkeypatch.setattr(runtime_migrate, "run", lambda argv, **kwargs: xl.CommandResult(
        argv, 2, "", "usage: capsule preflight ...\ncapsule: error: unrecognized arguments: --vif-script vif-x\n"))
    with pytest.raises(runtime_migrate.MigrationError,
                       match="older FlexCapsule runtime .* --vif-script vif-x.*apply the flexcapsule_runtime role"):
        runtime_migrate.remote_capsule("10.77.0.12", ["preflight", "--json", "--name", "m-a"])


def test_capsule_preflight_takes_the_network_arguments():
    opts = cli.build_parser().parse_args(["preflight", "--json", "--name", "m-a", "--bridge", "xenbr0", "--address",
                                          "10.77.0.50", "--mac", "00:16:3e:00:00:01"])
    assert (opts.bridge, opts.address, opts.mac) == (["xenbr0"], ["10.77.0.50"], ["00:16:3e:00:00:01"])
    assert cli.build_parser().parse_args(["preflight", "--name", "m-a"]).bridge == []
    assert cli.build_parser().parse_args(["preflight", "--name", "m-a", "--vif-script", "vif-flexcapsule"]
                                         ).vif_script == ["vif-flexcapsule"]


# ---------------------------------------------------------------- capsule


def test_capsule_run_network_flags():
    opts = cli.build_parser().parse_args(["run", "-d", "--ip", "10.77.0.50/24", "--gateway", "10.77.0.1", "--mac",
                                          "00:16:3e:00:00:01", "--bridge", "xenbr0", "httpd", "--port", "80"])
    assert cli.network_options(opts) == {"address": "10.77.0.50/24", "gateway": "10.77.0.1",
                                         "mac": "00:16:3e:00:00:01", "bridge": "xenbr0"}
    assert opts.args == ["--port", "80"]
    assert cli.network_options(cli.build_parser().parse_args(["run", "httpd"])) is None
    with pytest.raises(AppVmError, match="--gateway and --bridge needs --ip"):
        cli.network_options(cli.build_parser().parse_args(["run", "--gateway", "10.77.0.1", "--bridge", "b",
                                                           "httpd"]))


def test_capsule_run_refuses_a_taken_address_before_anything_changes(net_runtime, tmp_path, monkeypatch):
    image = tmp_path / "images" / "httpd"
    image.mkdir(parents=True)
    (image / "kernel.elf").write_bytes(b"x")
    (image / "manifest.json").write_text(json.dumps({"name": "httpd", "kind": "flexcapsule", "kernel": "kernel.elf",
                                                     "cmdline": "", "memory_mib": 8}))
    net_runtime.image_store = str(tmp_path / "images")
    monkeypatch.setattr(net_runtime, "reap", lambda domains=None: [])  # no destroy of the recorded finished one
    monkeypatch.setattr(net_runtime, "define", lambda definition: pytest.fail("defined before the check"))
    opts = cli.build_parser().parse_args(["run", "-d", "--name", "m-new", "--ip", "10.77.0.51/24", "httpd"])
    with pytest.raises(AppVmError, match="address 10.77.0.51 is already used by app VM 'm-fx-p'"):
        cli.cmd_run(net_runtime, opts)
    assert net_runtime.definition("m-new") is None  # nothing recorded, nothing created (RecordedXl has no create)


def test_starting_a_stopped_app_vm_whose_address_was_taken_meanwhile_is_refused(net_runtime, tmp_path):
    """m-stopped was defined with .70; an app VM that migrated in since holds it: no xl.cfg, no xl create."""
    image = tmp_path / "images" / "counter"
    image.mkdir(parents=True)
    (image / "kernel.elf").write_bytes(b"x")
    (image / "manifest.json").write_text(json.dumps({"name": "counter", "kind": "flexcapsule",
                                                     "kernel": "kernel.elf", "cmdline": "", "memory_mib": 8}))
    net_runtime.image_store = str(tmp_path / "images")
    net_runtime.save_definition(dict(net_runtime.definition("m-stopped"), network=appvm.make_network(
        "m-stopped", {"address": "10.77.0.50/24"})))
    with pytest.raises(AppVmError, match="address 10.77.0.50 is already used by app VM 'm-fx-a'"):
        net_runtime.start("m-stopped")
    assert not os.path.exists(os.path.join(net_runtime.app_dir("m-stopped"), "xl.cfg"))


def test_capsule_ps_shows_the_address_column(net_runtime, capsys, monkeypatch):
    monkeypatch.setattr(net_runtime, "app_vms", lambda include_stopped=True: [
        {"name": "m-fx-a", "image": "httpd", "kind": "flexcapsule", "state": "running", "memory_mib": 8, "vcpus": 1,
         "domid": 2, "args": "", "network": {"address": "10.77.0.50/24"}},
        {"name": "m-plain", "image": "counter", "kind": "flexcapsule", "state": "running", "memory_mib": 8,
         "vcpus": 1, "domid": 3, "args": "", "network": None}])
    cli.cmd_ps(net_runtime, cli.build_parser().parse_args(["ps"]))
    lines = capsys.readouterr().out.splitlines()
    column = lines[0].index("ADDRESS")
    assert lines[1][column:].startswith("10.77.0.50/24") and lines[2][column:].startswith("-")


def test_capsule_ps_json_and_inspect_carry_the_network(net_runtime, capsys, monkeypatch):
    monkeypatch.setattr(net_runtime, "reap", lambda domains=None: [])
    cli.cmd_ps(net_runtime, cli.build_parser().parse_args(["ps", "--json"]))
    listed = {view["name"]: view for view in json.loads(capsys.readouterr().out)}
    assert listed["m-fx-a"]["network"]["address"] == "10.77.0.50/24"
    cli.cmd_inspect(net_runtime, cli.build_parser().parse_args(["inspect", "m-fx-p"]))
    assert json.loads(capsys.readouterr().out)["network"]["mac"] == "02:00:0a:4d:00:33"


# ---------------------------------------------------------------- the inventory


def test_inventory_exposes_the_address_without_prefix():
    import test_inventory_plugin
    answers = {"cloud1": {"app_vms": [
        {"name": "m-web", "image": "httpd", "state": "running", "network": {
            "address": "10.77.0.50/24", "gateway": "10.77.0.1", "mac": "00:16:3e:00:00:01", "bridge": "xenbr0"}},
        {"name": "m-plain", "image": "counter", "state": "running", "network": None}]}}
    hosts = {host: host_vars for host, host_vars, _ in test_inventory_plugin.plugin.app_vm_hosts(answers)}
    assert hosts["m-web"]["flexcapsule_address"] == "10.77.0.50"
    assert hosts["m-web"]["flexcapsule_network"]["mac"] == "00:16:3e:00:00:01"
    assert hosts["m-plain"]["flexcapsule_address"] is None and hosts["m-plain"]["flexcapsule_network"] is None


# ---------------------------------------------------------------- the app_vm module

from test_app_vm_module import counter_image_store, run_module  # noqa: E402,F401  (run_module: the fixture)

import app_vm  # noqa: E402


@pytest.fixture
def networked_cloud_vm(monkeypatch, tmp_path):
    """cloud1 with the NICs of cloud1_list_long_with_nics; m-fx-a was defined with NETWORK; xenbr0 exists."""
    store = counter_image_store(tmp_path)
    state = tmp_path / "run"
    (state / "apps" / "m-fx-a").mkdir(parents=True)
    (state / "apps" / "m-fx-a" / "definition.json").write_text(json.dumps({
        "name": "m-fx-a", "image": "counter", "kind": "flexcapsule", "memory_mib": 16, "vcpus": 1, "args": "",
        "network": appvm.make_network("m-fx-a", NETWORK)}))
    sys_net = tmp_path / "sys"
    (sys_net / "xenbr0" / "bridge").mkdir(parents=True)
    recorded, _fixture = networked_cloud1()
    # The module's own import path, so its errors are the classes the module catches.
    from ansible.module_utils.flexcapsule.runtime import Runtime as ModuleRuntime
    scripts = installed_scripts(tmp_path)
    monkeypatch.setattr(app_vm, "Runtime", lambda state_dir, image_store: ModuleRuntime(
        state_dir=state_dir, image_store=image_store, xl=recorded, sys_class_net=str(sys_net),
        xen_scripts_dir=scripts))
    return {"state_dir": str(state), "image_store": str(store)}


def test_app_vm_with_its_network_as_asked_is_not_changed(run_module, networked_cloud_vm):
    for network in (NETWORK, None):  # None: keep the existing network
        outcome = run_module(app_vm, dict(networked_cloud_vm, name="m-fx-a", image="counter", memory=16,
                                          network=network), check_mode=True)
        assert not outcome.failed, outcome.result
        assert outcome.result["changed"] is False and outcome.result["actions"] == []
        assert outcome.result["diff"]["after"]["network"]["address"] == "10.77.0.50/24"


def test_app_vm_new_network_is_a_name_clash_and_shows_in_the_diff(run_module, networked_cloud_vm):
    outcome = run_module(app_vm, dict(networked_cloud_vm, name="m-fx-a", image="counter", memory=16,
                                      network={"address": "10.77.0.52/24"}), check_mode=True)
    assert outcome.failed and "different network" in outcome.result["msg"]
    outcome = run_module(app_vm, dict(networked_cloud_vm, name="m-fx-a", image="counter", memory=16, replace=True,
                                      network={"address": "10.77.0.52/24"}), check_mode=True)
    assert outcome.result["actions"] == ["stop", "remove", "define", "start"]
    assert outcome.result["diff"]["after"]["network"] == {"address": "10.77.0.52/24", "gateway": None,
                                                          "mac": appvm.default_mac("m-fx-a"), "bridge": "xenbr0"}


@pytest.mark.parametrize("check_mode", [True, False])
@pytest.mark.parametrize("network, message", [
    ({"address": "10.77.0.50/24"}, "address 10.77.0.50 is already used by app VM 'm-fx-a'"),
    ({"address": "10.77.0.90/24", "mac": "02:00:0a:4d:00:33"}, "MAC 02:00:0a:4d:00:33 is already used by app VM"),
    ({"address": "10.77.0.90/24", "bridge": "xenbr7"}, "bridge 'xenbr7' does not exist on this cloud VM"),
])
def test_app_vm_refuses_a_taken_address_mac_or_missing_bridge_before_any_change(run_module, networked_cloud_vm,
                                                                                  network, message, check_mode):
    outcome = run_module(app_vm, dict(networked_cloud_vm, name="m-new", image="counter", network=network),
                         check_mode=check_mode)
    assert outcome.failed and message in outcome.result["msg"], outcome.result
    assert outcome.result["actions"] == []
    assert not os.path.exists(os.path.join(networked_cloud_vm["state_dir"], "apps", "m-new"))


def test_app_vm_refuses_a_bad_network_before_touching_xen(run_module):
    outcome = run_module(app_vm, {"name": "m-c", "image": "counter", "network": {"address": "10.77.0.50"}})
    assert outcome.failed and "invalid network address '10.77.0.50'" in outcome.result["msg"]
    assert outcome.result["actions"] == []
    outcome = run_module(app_vm, {"name": "m-c", "image": "counter", "network": {"address": "10.77.0.5/24",
                                                                                 "vlan": 3}})
    assert outcome.failed and "vlan" in outcome.result["msg"]


# ---------------------------------------------------------------- the Linux app VM's /init

INIT = os.path.join(HERE, "..", "..", "roles", "linux_appvm", "files", "init.sh")


def run_fc_network(tmp_path, cmdline, with_eth0=True):
    """fc_network() from the real init.sh under busybox sh. ip, arping, modprobe, insmod and sleep are shell
    functions that only record their argv: busybox sh runs its own applets before anything on PATH, and the real
    ones would change this machine's network."""
    import re
    import shutil
    import subprocess
    busybox = shutil.which("busybox")
    assert busybox, "busybox is not installed (scripts/setup.sh installs busybox-static)"
    function = re.search(r"^fc_network\(\) \{.*?^\}$", read(INIT), re.MULTILINE | re.DOTALL).group(0)
    log = tmp_path / "calls"
    stubs = "".join('%s() { echo "%s $*" >> "$CALLS"; }\n' % (command, command)
                    for command in ("ip", "arping", "modprobe", "insmod", "sleep"))
    (tmp_path / "cmdline").write_text(cmdline + "\n")
    (tmp_path / "net").mkdir()
    (tmp_path / "proc" / "ipv4" / "conf" / "all").mkdir(parents=True)
    if with_eth0:
        (tmp_path / "net" / "eth0").mkdir()
    proc = subprocess.run([busybox, "sh", "-c", stubs + function + "\nfc_network"], capture_output=True, text=True,
                          timeout=30, env={"PATH": "/nonexistent", "CALLS": str(log),
                                           "FC_CMDLINE": str(tmp_path / "cmdline"), "FC_SYS_NET": str(tmp_path / "net"),
                                           "FC_PROC_NET": str(tmp_path / "proc")})
    calls = log.read_text().splitlines() if log.exists() else []
    return proc, calls


def test_linux_init_configures_eth0_from_the_kernel_options(tmp_path):
    proc, calls = run_fc_network(tmp_path, "fc.ip=10.77.0.52/24 fc.gw=10.77.0.1 console=hvc0 quiet x=1")
    assert proc.returncode == 0, proc.stderr
    assert calls == ["ip link set lo up", "ip link set eth0 up", "ip addr add 10.77.0.52/24 dev eth0",
                     "ip route add default via 10.77.0.1 dev eth0", "arping -U -c 1 -I eth0 10.77.0.52"]
    assert "network: eth0 10.77.0.52/24 via 10.77.0.1" in proc.stdout
    # gratuitous ARP after every migration, not just this once
    assert (tmp_path / "proc" / "ipv4" / "conf" / "all" / "arp_notify").read_text() == "1\n"


def test_linux_init_without_options_leaves_the_network_alone(tmp_path):
    proc, calls = run_fc_network(tmp_path, "console=hvc0 quiet fc.ip=10.77.0.52/24")  # not leading: app args
    assert proc.returncode == 0 and calls == []


def test_linux_init_says_so_when_there_is_no_eth0(tmp_path):
    proc, calls = run_fc_network(tmp_path, "fc.ip=10.77.0.52/24 console=hvc0", with_eth0=False)
    assert proc.returncode == 1 and "no eth0" in proc.stdout
    assert calls[0] == "modprobe xen-netfront" and not any(call.startswith("ip ") for call in calls)


def test_fleet_ps_table_has_an_address_column():
    import jinja2
    path = os.path.join(HERE, "..", "..", "playbooks", "templates", "ps_table.j2")
    template = jinja2.Environment(trim_blocks=True).from_string(read(path))  # trim_blocks: as Ansible renders it
    app = {"name": "m-web", "image": "httpd", "kind": "flexcapsule", "state": "running", "exit_status": None,
           "memory_mib": 8, "vcpus": 1, "cpu_percent": 0.5, "uptime_s": 30}
    info = {"app_vms": [dict(app, network={"address": "10.77.0.50/24"}), dict(app, name="m-plain", network=None)],
            "cloud_vm": {"nr_cpus": 1, "free_memory_mib": 500, "total_memory_mib": 1023, "cpu_percent_used": 1}}
    lines = [line for line in template.render(ansible_play_hosts=["cloud1"], hostvars={"cloud1": {"__ps_info": info}})
             .splitlines() if line.strip()]
    assert lines[0].rstrip().endswith("ADDRESS")
    assert lines[1].rstrip().endswith("10.77.0.50/24") and lines[2].rstrip().endswith("-")
