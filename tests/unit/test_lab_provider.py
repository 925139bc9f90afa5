"""Fast tier: the lab provider's checks and pure parts (no VM is started)."""
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from flexcapsule.cloud import lab as lab_module
from flexcapsule.cloud.lab import LabProvider
from flexcapsule.cloud.lab_image import host_debian_mirror, recipe_hash
from flexcapsule.cloud.provider import CloudError
from flexcapsule.initramfs import busybox_initramfs, cpio_newc

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab(tmp_path):
    return LabProvider(project_dir=ROOT, state_dir=tmp_path / "state", inventory_dir=tmp_path / "inventory",
                       netns="flexunit")


def test_unknown_instance_type_is_refused_by_name(lab):
    with pytest.raises(CloudError, match="unknown instance type 'lab.huge'"):
        lab.validate_request([{"name": "cloud1", "type": "lab.huge"}])


def test_duplicate_names_are_refused(lab):
    with pytest.raises(CloudError, match="duplicate cloud VM name 'cloud1'"):
        lab.validate_request([{"name": "cloud1", "type": "lab.c8i.large"},
                              {"name": "cloud1", "type": "lab.m8i.large"}])


@pytest.mark.parametrize("name", ["Cloud1", "1cloud", "cloud_1", "", "a" * 40, None])
def test_invalid_names_are_refused(lab, name):
    with pytest.raises(CloudError, match="invalid cloud VM name"):
        lab.validate_request([{"name": name, "type": "lab.c8i.large"}])


def test_more_cloud_vms_than_host_memory_is_refused_before_anything_starts(lab, monkeypatch):
    monkeypatch.setattr(lab_module, "_host_memory_mib", lambda: 8192)
    wanted = [{"name": f"cloud{i}", "type": "lab.m8i.xlarge"} for i in range(1, 4)]
    with pytest.raises(CloudError, match="not enough host memory"):
        lab.validate_request(wanted)
    assert not lab.state_file.exists()
    assert not lab.network.exists()


def test_a_fleet_that_fits_passes(lab, monkeypatch):
    monkeypatch.setattr(lab_module, "_host_memory_mib", lambda: 8192)
    lab.validate_request([{"name": "cloud1", "type": "lab.c8i.large"}, {"name": "cloud2", "type": "lab.c8i.large"}])


def test_resizing_an_existing_cloud_vm_is_refused(lab):
    lab.state_dir.mkdir(parents=True)
    lab.state_file.write_text(json.dumps({"vms": {"cloud1": {"type": "lab.c8i.large"}}}))
    with pytest.raises(CloudError, match="cannot be resized in place"):
        lab.validate_request([{"name": "cloud1", "type": "lab.m8i.large"}])


def test_lab_types_carry_the_price_of_the_real_type_they_map_to(lab):
    types = lab.instance_types()
    assert types["lab.c8i.large"].price_per_hour == pytest.approx(0.09371)
    assert types["lab.c8i.large"].maps_to == "c8i.large"
    assert all(t.maps_to.split(".")[0] in {"c8i", "m8i", "r8i", "c8i-flex", "m8i-flex", "r8i-flex"}
               for t in types.values())


def test_inventory_lists_each_cloud_vm_with_address_type_capacity_and_price(lab):
    import yaml

    state = {"vms": {"cloud1": {"type": "lab.c8i.large", "address": "10.77.0.11", "vpc_mac": "52:54:00:77:00:0b",
                                "pid": -1, "console_log": "/nonexistent"}}}
    lab.state_dir.mkdir(parents=True)
    lab._save(state)
    inventory = yaml.safe_load((lab.inventory_dir / "hosts.yml").read_text())
    host = inventory["all"]["children"]["cloud_vms"]["hosts"]["cloud1"]
    assert host["ansible_host"] == "10.77.0.11"
    assert host["flexcapsule_instance_type"] == "lab.c8i.large"
    assert host["flexcapsule_price_per_hour"] == pytest.approx(0.09371)
    assert host["flexcapsule_memory_mib"] == 1024 and host["flexcapsule_vcpus"] == 1
    assert "ip netns exec flexunit nc" in host["ansible_ssh_common_args"]


def test_recipe_hash_changes_with_any_recipe_file(tmp_path):
    recipe = tmp_path / "recipe"
    shutil.copytree(ROOT / "roles" / "lab_cloud" / "files" / "image", recipe)
    before = recipe_hash(recipe)
    assert recipe_hash(recipe) == before
    (recipe / "packages.txt").write_text((recipe / "packages.txt").read_text() + "htop\n")
    assert recipe_hash(recipe) != before


def test_the_image_mirror_comes_from_this_machines_apt_sources(tmp_path):
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n")
    assert host_debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_initramfs_is_a_reproducible_newc_archive_with_init_and_busybox():
    fake_busybox = b"\x7fELF" + b"x" * 100
    first = busybox_initramfs(fake_busybox, "#!/bin/sh\necho hi\n")
    assert first == busybox_initramfs(fake_busybox, "#!/bin/sh\necho hi\n")
    blob = gzip.decompress(first)
    assert blob.startswith(b"070701")
    assert b"init\0" in blob and b"bin/busybox\0" in blob and b"TRAILER!!!\0" in blob
    assert len(blob) % 512 == 0
    assert blob.index(fake_busybox) % 4 == 0


def test_initramfs_packs_extra_files_with_their_directories():
    blob = gzip.decompress(busybox_initramfs(b"\x7fELFbb", "#!/bin/sh\n",
                                             {"lib/modules/6.1/kernel/drivers/net/xen-netfront.ko": b"MODULE"}))
    for directory in ("lib", "lib/modules", "lib/modules/6.1/kernel/drivers", "lib/modules/6.1/kernel/drivers/net"):
        assert (directory + "\0").encode() in blob, directory
    assert b"lib/modules/6.1/kernel/drivers/net/xen-netfront.ko\0" in blob and b"MODULE" in blob


def test_cpio_header_records_file_sizes():
    blob = cpio_newc([("a", 0o100644, b"12345")])
    assert int(blob[6 + 6 * 8:6 + 7 * 8], 16) == 5


def seed_file(seed_image, name):
    """A file of a seed disk (ext4), read with debugfs: no mount needed."""
    out = subprocess.run(["debugfs", "-R", f"cat /{name}", str(seed_image)], capture_output=True, check=True)
    return out.stdout.decode()


def test_each_cloud_vm_gets_its_own_ssh_host_key_on_its_seed_disk(lab, tmp_path):
    lab.state_dir.mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(lab.key_file)], check=True)
    keys = []
    for name in ("cloud1", "cloud2"):
        rec = {"vpc_mac": "52:54:00:77:00:0b", "address": "10.77.0.11", "seed": str(tmp_path / f"{name}.img")}
        lab._write_seed(name, rec)
        public = seed_file(rec["seed"], "ssh_host_ed25519_key.pub")
        private = seed_file(rec["seed"], "ssh_host_ed25519_key")
        assert public.startswith("ssh-ed25519 ") and public.strip().endswith(f"root@{name}")
        assert "OPENSSH PRIVATE KEY" in private
        assert seed_file(rec["seed"], "hostname") == f"{name}\n"
        keys.append(public.split()[1])
    assert keys[0] != keys[1]
