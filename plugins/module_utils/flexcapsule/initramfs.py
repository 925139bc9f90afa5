"""A tiny initramfs for Linux PV app VMs: a static busybox and an init script, as a gzipped newc cpio.

Written in Python so the control node needs no cpio tool; the output is byte-for-byte reproducible
(fixed mtimes, sorted entries), which keeps deployment idempotent.
"""
import gzip
import io

_MAGIC = b"070701"


def _entry(name, mode, data=b"", ino=1):
    name_bytes = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0]
    header = _MAGIC + b"".join(f"{value:08X}".encode() for value in fields)
    out = header + name_bytes
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def cpio_newc(entries):
    """entries: [(path without leading '/', mode, bytes)]; directories have mode 0o040755 and no data."""
    blob = b"".join(_entry(path, mode, data, ino) for ino, (path, mode, data) in enumerate(entries, start=1))
    blob += _entry("TRAILER!!!", 0, ino=0)
    return blob + b"\0" * (-len(blob) % 512)


def busybox_initramfs(busybox, init_script, files=None):
    """gzipped initramfs: /bin/busybox (static), /init, and files {path without leading '/': bytes} (mode 0644,
    parent directories made)."""
    directories = {"bin", "dev", "proc", "sbin", "sys", "tmp", "usr", "usr/bin", "usr/sbin"}
    for path in files or {}:
        parts = path.split("/")[:-1]
        directories.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    entries = [(d, 0o040755, b"") for d in directories]
    entries += [("bin/busybox", 0o100755, busybox), ("init", 0o100755, init_script.encode())]
    entries += [(path, 0o100644, data) for path, data in (files or {}).items()]
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(cpio_newc(sorted(entries)))
    return out.getvalue()
