"""Validation of names, sizes and args; the image-store contract; xl config generation."""
import hashlib
import json

import pytest

from flexcapsule import appvm
from flexcapsule.appvm import AppVmError


@pytest.mark.parametrize("name", ["a", "m-counter-1", "x" * 48, "0abc"])
def test_valid_names(name):
    assert appvm.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "x-", "UPPER", "a b", "a;rm -rf /", "x" * 49, "Domain-0", None, "a_b"])
def test_invalid_names_are_refused_with_the_name_in_the_message(name):
    with pytest.raises(AppVmError, match="invalid app VM name"):
        appvm.validate_name(name)


@pytest.mark.parametrize("value, mib", [(64, 64), ("64", 64), ("64M", 64), ("64MiB", 64), ("64mb", 64),
                                        ("1G", 1024), ("2GiB", 2048), ("65536K", 64), (" 32 M ", 32)])
def test_memory_sizes(value, mib):
    assert appvm.parse_memory(value) == mib


@pytest.mark.parametrize("value", ["", "abc", "-1", "0", "1.5G", "100K", "64X", True, "2T"])
def test_bad_memory_sizes(value):
    with pytest.raises(AppVmError, match="invalid memory size"):
        appvm.parse_memory(value)


@pytest.mark.parametrize("value", [0, -1, 129, "two", "1.5", None, True])
def test_bad_vcpus(value):
    with pytest.raises(AppVmError, match="invalid vcpus"):
        appvm.parse_vcpus(value)


def test_args_join_and_refuse_quotes():
    assert appvm.join_args(["--interval", "2"]) == "--interval 2"
    assert appvm.join_args("a b") == "a b"
    assert appvm.join_args(None) == ""
    for bad in ['x"; extra="1', "back\\slash", "new\nline"]:
        with pytest.raises(AppVmError, match="invalid app argument"):
            appvm.join_args(["ok", bad])


@pytest.fixture
def store(tmp_path):
    image = tmp_path / "counter"
    image.mkdir()
    (image / "counter.gz").write_bytes(b"kernel bytes")
    manifest = {"name": "counter", "kind": "flexcapsule", "kernel": "counter.gz", "ramdisk": None,
                "cmdline": "", "memory_mib": 16, "sha256": hashlib.sha256(b"kernel bytes").hexdigest()}
    (image / "manifest.json").write_text(json.dumps(manifest))
    linux = tmp_path / "linux-smoke"
    linux.mkdir()
    for name in ("vmlinuz", "initrd.img"):
        (linux / name).write_bytes(b"x")
    (linux / "manifest.json").write_text(json.dumps({
        "name": "linux-smoke", "kind": "linux", "kernel": "vmlinuz", "ramdisk": "initrd.img",
        "cmdline": "console=hvc0 quiet", "memory_mib": 96, "sha256": None}))
    return tmp_path


def test_unknown_image_lists_what_exists(store):
    with pytest.raises(AppVmError, match=r"unknown image 'nope'.*images here: counter, linux-smoke"):
        appvm.load_manifest("nope", str(store))


def test_manifest_problems_are_all_named(store):
    (store / "counter" / "manifest.json").write_text(json.dumps({"name": "counter", "kind": "windows",
                                                                 "kernel": "../etc/passwd", "memory_mib": 0}))
    with pytest.raises(AppVmError) as error:
        appvm.load_manifest("counter", str(store))
    message = str(error.value)
    assert "kind 'windows'" in message and "plain file name" in message and "memory_mib 0" in message


def test_sha256_mismatch_is_detected(store):
    (store / "counter" / "counter.gz").write_bytes(b"tampered")
    assert appvm.load_manifest("counter", str(store))["kind"] == "flexcapsule"
    with pytest.raises(AppVmError, match="sha256"):
        appvm.load_manifest("counter", str(store), verify_sha256=True)


def test_definition_defaults_and_minimum_memory(store):
    manifest = appvm.load_manifest("counter", str(store))
    definition = appvm.make_definition("m-c", "counter", manifest)
    assert definition == {"name": "m-c", "image": "counter", "kind": "flexcapsule", "memory_mib": 16, "vcpus": 1,
                          "args": "", "network": None}
    with pytest.raises(AppVmError, match="below image 'counter'"):
        appvm.make_definition("m-c", "counter", manifest, memory="8M")


def test_xl_config_for_a_linux_image(store):
    manifest = appvm.load_manifest("linux-smoke", str(store))
    definition = appvm.make_definition("m-smoke", "linux-smoke", manifest, memory=128, vcpus=2, args=["x=1"])
    config = appvm.render_xl_config(definition, manifest)
    assert 'name = "m-smoke"' in config
    assert 'kernel = "%s/linux-smoke/vmlinuz"' % store in config
    assert 'ramdisk = "%s/linux-smoke/initrd.img"' % store in config
    assert 'cmdline = "console=hvc0 quiet x=1"' in config
    assert "memory = 128\nmaxmem = 128\nvcpus = 2\n" in config
    assert 'on_poweroff = "preserve"' in config


def test_xl_config_without_ramdisk(store):
    manifest = appvm.load_manifest("counter", str(store))
    config = appvm.render_xl_config(appvm.make_definition("m-c", "counter", manifest), manifest)
    assert "ramdisk =" not in config


def test_image_is_read_back_from_the_kernel_path():
    assert appvm.image_of_kernel_path("/var/lib/flexcapsule/images/counter/counter.gz") == "counter"
    assert appvm.image_of_kernel_path("/boot/vmlinuz") is None
    assert appvm.image_of_kernel_path(None) is None


def test_definition_differences():
    old = {"image": "a", "memory_mib": 16, "vcpus": 1, "args": ""}
    assert appvm.definition_differences(old, dict(old)) == []
    assert appvm.definition_differences(old, dict(old, vcpus=2, args="x")) == ["vcpus", "args"]


def test_memory_written_as_a_digit_string_is_accepted(store):
    path = store / "linux-smoke" / "manifest.json"
    path.write_text(path.read_text().replace('"memory_mib": 96', '"memory_mib": "96"'))
    assert appvm.load_manifest("linux-smoke", str(store))["memory_mib"] == 96
    path.write_text(path.read_text().replace('"memory_mib": "96"', '"memory_mib": "lots"'))
    with pytest.raises(AppVmError, match="memory_mib 'lots'"):
        appvm.load_manifest("linux-smoke", str(store))
