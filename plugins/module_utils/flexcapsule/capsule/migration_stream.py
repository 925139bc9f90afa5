"""Watches an `xl migrate` stream go by and counts its pre-copy rounds and the pages each one sent.

libxl reports no progress for a live migration (`xl -vvv` logs "progress report: ignored"), so the rounds
are read from the stream itself, as Xen's docs/specs describe it:

  xl save header  32-byte magic, then byteorder, mandatory and optional flags and the length of the
                  optional data (the domain config) that follows;
  libxl stream    header "LibxlFmt" (16 bytes), then records (type, length, body padded to 8 bytes) up to
                  END; a LIBXC_CONTEXT record means the libxc stream follows, unframed;
  libxc stream    image header (24 bytes, "XENF"), domain header (16), then records up to END. A PAGE_DATA
                  record holds `count` PFNs (type in bits 63-60) and the data of the pages that have some.

The saver sends each round's pages in rising PFN order, so a round starts where a PAGE_DATA record does not
continue above the previous one. Two rounds whose pages do not overlap in that way would count as one, so the
count is a lower bound. The last round is the stop-and-copy one, sent while the guest is suspended.

The observer never raises: on a stream it does not understand it stops looking and says why in `error`.
"""
import struct

XL_MAGIC_PREFIX = b"Xen saved domain, xl format"
XL_HEADER = 48  # 32-byte magic + 4 x u32
XL_BYTEORDER = 0x01020304
LIBXL_IDENT = 0x4C6962786C466D74  # "LibxlFmt"
LIBXC_MARKER = 0xFFFFFFFFFFFFFFFF
LIBXC_ID = 0x58454E46  # "XENF"
LIBXL_END, LIBXL_LIBXC_CONTEXT = 0, 1
LIBXC_END, LIBXC_PAGE_DATA = 0, 1
PFN_MASK = (1 << 52) - 1
NO_DATA_TYPES = (0xD, 0xE, 0xF)  # BROKEN, XALLOC, XTAB: a PFN without page contents
MAX_PFNS_PER_RECORD = 1 << 20  # far above the saver's batch; more means we lost our place


class StreamFormatError(Exception):
    pass


def padded(length):
    return (length + 7) & ~7


class MigrationStreamObserver:
    """feed() it every chunk in order; read rounds (pages sent per round) and error."""

    def __init__(self):
        self.page_size = 4096  # until the libxc domain header says
        self.rounds = []
        self.error = None
        self.finished = False
        self._endian = "<"
        self._state = "xl_header"
        self._need = XL_HEADER
        self._buffer = bytearray()
        self._skip = 0
        self._last_pfn = None
        self._page_data_left = 0

    def feed(self, data):
        if self.finished or self.error:
            return
        try:
            self._feed(memoryview(data))
        except (StreamFormatError, struct.error) as exc:
            self.error = str(exc)

    def summary(self):
        return {"rounds": len(self.rounds), "pages_per_round": list(self.rounds), "stream_error": self.error,
                "stream_complete": self.finished}

    def _feed(self, view):
        pos, end = 0, len(view)
        while pos < end and not self.finished:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            step = min(self._need - len(self._buffer), end - pos)
            self._buffer += view[pos:pos + step]
            pos += step
            if len(self._buffer) == self._need:
                chunk = bytes(self._buffer)
                self._buffer.clear()
                getattr(self, "_on_" + self._state)(chunk)

    def _expect(self, state, need, skip=0):
        self._state, self._need, self._skip = state, need, skip

    def _on_xl_header(self, chunk):
        if not chunk.startswith(XL_MAGIC_PREFIX):
            raise StreamFormatError("not an xl migration stream (no xl save header)")
        for endian in "<>":
            byteorder, _mandatory, _optional, optional_len = struct.unpack(endian + "4I", chunk[32:48])
            if byteorder == XL_BYTEORDER:
                self._endian = endian
                self._expect("libxl_header", 16, skip=optional_len)
                return
        raise StreamFormatError("xl save header has an unknown byte order")

    def _on_libxl_header(self, chunk):
        ident, _version, options = struct.unpack(">QII", chunk)
        if ident != LIBXL_IDENT:
            raise StreamFormatError("no libxl stream header after the xl header")
        self._endian = ">" if options & 1 else "<"
        self._expect("libxl_record", 8)

    def _on_libxl_record(self, chunk):
        kind, length = struct.unpack(self._endian + "II", chunk)
        if kind == LIBXL_END:
            self.finished = True
        elif kind == LIBXL_LIBXC_CONTEXT:
            self._expect("libxc_image_header", 24, skip=padded(length))
        else:
            self._expect("libxl_record", 8, skip=padded(length))

    def _on_libxc_image_header(self, chunk):
        marker, ident, _version, options = struct.unpack(">QIIH", chunk[:18])
        if marker != LIBXC_MARKER or ident != LIBXC_ID:
            raise StreamFormatError("no libxc image header after the LIBXC_CONTEXT record")
        self._endian = ">" if options & 1 else "<"
        self._expect("libxc_domain_header", 16)

    def _on_libxc_domain_header(self, chunk):
        page_shift = struct.unpack(self._endian + "H", chunk[4:6])[0]
        if not 12 <= page_shift <= 21:
            raise StreamFormatError("libxc domain header has page_shift %d" % page_shift)
        self.page_size = 1 << page_shift
        self._expect("libxc_record", 8)

    def _on_libxc_record(self, chunk):
        kind, length = struct.unpack(self._endian + "II", chunk)
        if kind == LIBXC_END:
            self._expect("libxl_record", 8)
        elif kind == LIBXC_PAGE_DATA:
            self._page_data_left = padded(length) - 8
            self._expect("page_data_count", 8)
        else:
            self._expect("libxc_record", 8, skip=padded(length))

    def _on_page_data_count(self, chunk):
        count = struct.unpack(self._endian + "I", chunk[:4])[0]
        if not 0 < count <= MAX_PFNS_PER_RECORD or 8 * count > self._page_data_left:
            raise StreamFormatError("PAGE_DATA record claims %d PFNs" % count)
        self._expect("page_data_pfns", 8 * count)

    def _on_page_data_pfns(self, chunk):
        entries = struct.unpack(self._endian + "%dQ" % (len(chunk) // 8), chunk)
        with_data = sum(1 for entry in entries if entry >> 60 not in NO_DATA_TYPES)
        if self._last_pfn is None or entries[0] & PFN_MASK <= self._last_pfn:
            self.rounds.append(0)
        self.rounds[-1] += with_data
        self._last_pfn = entries[-1] & PFN_MASK
        rest = self._page_data_left - len(chunk)
        if rest < with_data * self.page_size:
            raise StreamFormatError("PAGE_DATA record is shorter than its %d pages" % with_data)
        self._expect("libxc_record", 8, skip=rest)
