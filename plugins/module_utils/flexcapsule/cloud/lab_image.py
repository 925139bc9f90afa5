"""Builds the lab's cloud image: plain Debian bookworm with GRUB, openssh and python3 (no Xen).

The image is cached by a hash of its recipe (the recipe directory's files, the suite and the builder
version), so a second lab start reuses it. Each step prints a progress line with elapsed seconds.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

BUILDER_VERSION = "1"
SUITE = "bookworm"
DISK_SIZE = "3G"
PART_OFFSET = 2048 * 512
PER_PACKAGE_STEPS = {"Validating", "Extracting", "Unpacking", "Configuring", "Retrieving"}


class ImageBuildError(RuntimeError):
    pass


def progress(start, message):
    print(f"[lab-image +{time.monotonic() - start:5.0f}s] {message}", file=sys.stderr, flush=True)


def host_debian_mirror(sources_dir="/etc/apt/sources.list.d"):
    """The Debian mirror this machine's apt already uses (the image uses the same registry)."""
    for path in sorted(Path(sources_dir).glob("*.sources")):
        uris, suites = None, ""
        for line in path.read_text().splitlines():
            if line.startswith("URIs:"):
                uris = line.split(":", 1)[1].split()[0]
            elif line.startswith("Suites:"):
                suites = line.split(":", 1)[1]
            elif not line.strip() and uris:
                if SUITE in suites.split() and not uris.rstrip("/").endswith("-security"):
                    return uris
                uris, suites = None, ""
        if uris and SUITE in suites.split() and not uris.rstrip("/").endswith("-security"):
            return uris
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == SUITE:
                return parts[1]
    raise ImageBuildError("no Debian bookworm mirror found in this machine's apt sources; pass a mirror")


def digest_files(digest, path, base):
    """Adds a file, or every file under a directory, to digest: name relative to base, mode and content."""
    path = Path(path)
    for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(base).as_posix()
        digest.update(rel.encode() + b"\0" + oct(file.stat().st_mode & 0o777).encode() + b"\0")
        digest.update(file.read_bytes())


def recipe_hash(recipe_dir):
    digest = hashlib.sha256(f"{BUILDER_VERSION}:{SUITE}:{DISK_SIZE}".encode())
    digest_files(digest, recipe_dir, recipe_dir)
    return digest.hexdigest()[:16]


def _package_list(path):
    return [line.strip() for line in Path(path).read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _run(argv, start, label, **kwargs):
    """Runs argv, streaming its output as progress lines; raises with the tail of its output."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "LANG": "C", "LC_ALL": "C"}, **kwargs)
    tail, packages = [], 0
    for line in proc.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-20:]
        words = line.split()
        per_package = len(words) >= 3 and words[0] == "I:" and words[1] in PER_PACKAGE_STEPS \
            and not line.endswith("system...")
        if per_package:
            packages += 1
            if packages % 40 == 0:
                progress(start, f"{label}: {line[3:]} ({packages} package steps)")
        else:
            progress(start, f"{label}: {line}")
    if proc.wait() != 0:
        raise ImageBuildError(f"{label} failed (rc={proc.returncode}): {' '.join(argv)}\n" + "\n".join(tail))


@contextmanager
def loop_device(raw, read_only=False):
    """The root filesystem of a raw disk image, as a loop device at the partition's offset."""
    argv = ["losetup", "--show", "-f"] + (["-r"] if read_only else []) + ["--offset", str(PART_OFFSET), str(raw)]
    loop = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
    try:
        yield loop
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)


def filesystem_uuid(device):
    return subprocess.run(["blkid", "-s", "UUID", "-o", "value", device], check=True,
                          capture_output=True, text=True).stdout.strip()


class MountPoints:
    """What a build mounted, undone in reverse order."""

    def __init__(self):
        self.points = []

    def mount(self, source, target, *options):
        subprocess.run(["mount", *options, str(source), str(target)], check=True)
        self.points.append(Path(target))

    def bind_system(self, root):
        """/dev, /proc and /sys for a chroot into root."""
        for fs in ("dev", "dev/pts", "proc", "sys"):
            self.mount(f"/{fs}", Path(root) / fs, "--bind")

    def unmount_all(self):
        # A real (not lazy) unmount: the filesystem must be flushed to the image before it is converted.
        for path in reversed(self.points):
            for _ in range(20):
                if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
                    break
                time.sleep(0.5)
            else:
                raise ImageBuildError(f"cannot unmount {path}: something still uses it")
        self.points = []
        subprocess.run(["sync"], check=True)


@contextmanager
def mount_points():
    mounts = MountPoints()
    try:
        yield mounts
    finally:
        mounts.unmount_all()


def _install_grub_boot_sectors(raw, boot_img, core_img):
    """MBR boot code (keeping the partition table) plus GRUB's core image in the gap before sector 2048."""
    core = Path(core_img).read_bytes()
    if len(core) > PART_OFFSET - 512:
        raise ImageBuildError(f"GRUB core image is {len(core)} bytes: too big for the post-MBR gap")
    with open(raw, "r+b") as disk:
        disk.write(Path(boot_img).read_bytes()[:440])
        disk.seek(512)
        disk.write(core)


def verify_filesystem(raw):
    """fsck the finished root filesystem read-only, and check GRUB's files are on it."""
    with loop_device(raw, read_only=True) as loop:
        fsck = subprocess.run(["e2fsck", "-n", "-f", loop], capture_output=True, text=True)
        if fsck.returncode != 0:
            raise ImageBuildError(f"the image's filesystem is damaged:\n{fsck.stdout[-2000:]}")
        listing = subprocess.run(["debugfs", "-R", "ls -p /boot/grub/i386-pc", loop], capture_output=True,
                                 text=True).stdout
        if "normal.mod" not in listing:
            raise ImageBuildError("the image has no /boot/grub/i386-pc/normal.mod: GRUB could not boot it")


def build_image(recipe_dir, cache_dir, mirror=None, force=False):
    """Returns (path to the cached qcow2 image, whether it was built now)."""
    recipe_dir, cache_dir = Path(recipe_dir), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    image = cache_dir / f"{SUITE}-cloud-{recipe_hash(recipe_dir)}.qcow2"
    if image.exists() and not force:
        return image, False
    start = time.monotonic()
    mirror = mirror or host_debian_mirror()
    progress(start, f"building {image.name} (cache miss)")
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="build-") as work:
        work = Path(work)
        raw, mnt = work / "disk.raw", work / "mnt"
        mnt.mkdir()
        subprocess.run(["truncate", "-s", DISK_SIZE, str(raw)], check=True)
        subprocess.run(["sfdisk", "-q", str(raw)], input="label: dos\nstart=2048, type=83, bootable\n",
                       text=True, check=True)
        # The fs sits in a loop device at the partition's offset: this host's loop driver shows no partitions.
        with loop_device(raw) as loop, mount_points() as mounts:
            subprocess.run(["mkfs.ext4", "-q", "-L", "cloudroot", loop], check=True)
            uuid = filesystem_uuid(loop)
            mounts.mount(loop, mnt)
            packages = _package_list(recipe_dir / "packages.txt")
            debs = cache_dir / "debs"
            debs.mkdir(exist_ok=True)
            progress(start, f"debootstrap {SUITE} with {len(packages)} packages")
            _run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
                  f"--cache-dir={debs}", SUITE, str(mnt), mirror], start, "debootstrap")
            progress(start, "installing the rootfs overlay and configuring")
            subprocess.run(["cp", "-a", f"{recipe_dir / 'rootfs'}/.", str(mnt)], check=True)
            shutil.copy(recipe_dir / "configure.sh", mnt / "tmp" / "configure.sh")
            shutil.copy(recipe_dir / "prefetch.txt", mnt / "tmp" / "prefetch.txt")
            mounts.bind_system(mnt)
            _run(["chroot", str(mnt), "/bin/sh", "/tmp/configure.sh", "/tmp/prefetch.txt", uuid],
                 start, "configure")
            _install_grub_boot_sectors(raw, mnt / "tmp" / "boot.img", mnt / "tmp" / "core.img")
            for name in ("configure.sh", "prefetch.txt", "boot.img", "core.img"):
                (mnt / "tmp" / name).unlink()
        publish_image(raw, image, start)
    return image, True


def publish_image(raw, image, start):
    """Checks the finished raw disk and puts it in the cache as qcow2, atomically (a cached name is complete).
    Older images stay: running cloud VMs' overlays may still be backed by them (`make clean` removes the lab)."""
    verify_filesystem(raw)
    progress(start, "converting to qcow2")
    tmp_image = Path(raw).with_name("image.qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(tmp_image)], check=True)
    os.replace(tmp_image, image)
    progress(start, f"image ready: {image} ({image.stat().st_size // (1 << 20)} MiB)")
