"""The migration stream observer, on streams laid out as Xen's docs/specs describe (built here, field by field)."""
import json
import os
import random
import struct
import subprocess
import sys

import pytest

from flexcapsule.capsule.migration_stream import MigrationStreamObserver

MODULE_UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils")
PAGE = 4096
XTAB = 0xF
L1TAB = 0x1


def record(kind, body):
    return struct.pack("<II", kind, len(body)) + body + b"\0" * (-len(body) % 8)


def page_data(pfns, types=None):
    """A PAGE_DATA record: pfns in this order, each page filled with its own PFN's low byte."""
    types = types or {}
    entries = b"".join(struct.pack("<Q", (types.get(pfn, 0) << 60) | pfn) for pfn in pfns)
    data = b"".join(bytes([pfn & 0xFF]) * PAGE for pfn in pfns if types.get(pfn, 0) != XTAB)
    return record(1, struct.pack("<II", len(pfns), 0) + entries + data)


def migration_stream(rounds, config=b'{"c_info": {"name": "m-c"}}', types=None, batch=1024):
    """xl header + libxl stream + libxc stream with one PAGE_DATA batch list per round, then xl's trailer."""
    xl = b"Xen saved domain, xl format\n \0 \r".ljust(32, b"\0")
    xl += struct.pack("<4I", 0x01020304, 3, 0, len(config)) + config
    libxl = struct.pack(">QII", 0x4C6962786C466D74, 2, 0)
    libxl += record(0x80000005, b"optional libxl record")
    libxl += record(1, b"")  # LIBXC_CONTEXT: the libxc stream follows
    libxc = struct.pack(">QIIH6x", 0xFFFFFFFFFFFFFFFF, 0x58454E46, 3, 0)
    libxc += struct.pack("<IHHII", 1, 12, 0, 4, 17)
    libxc += record(2, struct.pack("<BB6x", 8, 4))  # X86_PV_INFO
    libxc += record(3, struct.pack("<II", 0, 2047) + struct.pack("<Q", 77) * 4)  # X86_PV_P2M_FRAMES
    for pfns in rounds:
        for start in range(0, len(pfns), batch):
            libxc += page_data(pfns[start:start + batch], types)
    libxc += record(4, struct.pack("<I4x", 0) + b"\1" * 100)  # X86_PV_VCPU_BASIC
    libxc += record(0, b"")
    return xl + libxl + libxc + record(0, b"") + b"migration permission message after the stream"


THREE_ROUNDS = [list(range(1500)), [5, 300, 301, 1200], [5, 301]]


def observe(stream, chunks):
    observer = MigrationStreamObserver()
    pos = 0
    for size in chunks:
        observer.feed(stream[pos:pos + size])
        pos += size
    observer.feed(stream[pos:])
    return observer


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_rounds_and_pages_whatever_the_chunking(seed):
    stream = migration_stream(THREE_ROUNDS)
    chunks = [] if seed is None else [random.Random(seed).randint(1, 70000) for _ in range(400)]
    observer = observe(stream, chunks)
    assert observer.error is None
    assert observer.finished
    assert observer.rounds == [1500, 4, 2]
    assert observer.summary()["rounds"] == 3


def test_pages_without_contents_are_not_counted_as_sent():
    observer = observe(migration_stream([list(range(10)), [3, 4, 9]], types={4: XTAB, 9: L1TAB}), [])
    assert observer.error is None
    assert observer.rounds == [9, 2]  # PFN 4 is XTAB both times: listed, never sent; an L1 table page is sent


def test_a_round_that_only_continues_upwards_merges_with_the_one_before():
    # The documented limit of reading rounds from PFN order: a lower bound.
    observer = observe(migration_stream([[1, 2], [7, 8]]), [])
    assert observer.rounds == [4]


def test_a_stream_it_does_not_know_is_left_alone_with_a_reason():
    observer = MigrationStreamObserver()
    observer.feed(os.urandom(5000))
    observer.feed(migration_stream(THREE_ROUNDS))  # too late: it stopped looking
    assert "not an xl migration stream" in observer.error
    assert observer.rounds == [] and not observer.finished


def test_a_page_data_record_longer_than_its_body_is_an_error_not_a_crash():
    stream = bytearray(migration_stream(THREE_ROUNDS))
    first = stream.index(struct.pack("<II", 1, 8 + 8 * 1024 + 1024 * PAGE))
    stream[first + 8:first + 12] = struct.pack("<I", 10 ** 6)  # count far beyond the record's length
    observer = observe(bytes(stream), [])
    assert "PAGE_DATA record claims 1000000 PFNs" in observer.error


def test_the_transport_records_the_rounds_it_carried(tmp_path):
    stats = tmp_path / "stats.json"
    stream = migration_stream(THREE_ROUNDS)
    receiver = [sys.executable, "-c", "import sys; print(len(sys.stdin.buffer.read()))"]
    proc = subprocess.run([sys.executable, "-m", "flexcapsule.capsule", "transport", "--stats", str(stats), "--"]
                          + receiver, input=stream, capture_output=True, cwd=MODULE_UTILS, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().strip() == str(len(stream))
    result = json.loads(stats.read_text())
    assert (result["bytes_sent"], result["pages_per_round"], result["stream_error"]) == (len(stream), [1500, 4, 2],
                                                                                         None)
