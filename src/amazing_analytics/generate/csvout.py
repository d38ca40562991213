"""Fast, deterministic writing of REES46-shaped monthly ``.csv.gz`` files.

Strings are built with vectorised numpy byte arithmetic and handed to Arrow without copies,
Arrow's CSV writer renders the lines, and ``zlib`` (which releases the GIL) compresses fixed-size
chunks in parallel into one standard single-member gzip stream whose header carries no
timestamp and no file name, so equal inputs give byte-identical files.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

#: Exact header of the REES46 / Open CDP files.
HEADER = (
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
)
#: Event type names, indexed by the internal event type code.
EVENT_TYPES: tuple[str, ...] = ("view", "cart", "remove_from_cart", "purchase")
#: zlib level of the gzip files (1 = fastest; files are ~10 % larger than at level 6).
GZIP_LEVEL = 1
#: Bytes per independently deflated chunk (parallel compression, like pigz).
_CHUNK = 1 << 23
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Two ASCII hex digits per byte value, packed in a uint16 (memory order = character order).
_HEX16 = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint16)
_SECONDS = np.arange(86_400)
_TIME_OF_DAY = (
    np.array(
        [
            f"{h:02d}:{m:02d}:{s:02d}"
            for h, m, s in zip(_SECONDS // 3600, _SECONDS // 60 % 60, _SECONDS % 60, strict=True)
        ],
        dtype="S8",
    )
    .view(np.uint8)
    .reshape(-1, 8)
)


def month_file_name(year: int, month: int) -> str:
    """Kaggle file name of a month, e.g. ``2019-Oct.csv.gz`` (locale independent)."""
    return f"{year}-{_MONTH_ABBR[month - 1]}.csv.gz"


def _validity(valid: np.ndarray | None) -> pa.Buffer | None:
    """Arrow validity bitmap of a boolean mask (None when every value is valid)."""
    if valid is None or bool(valid.all()):
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _fixed_width_strings(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Zero-copy Arrow string array from an ``(n, width)`` uint8 matrix."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars)
    return pa.Array.from_buffers(
        pa.string(), n, [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def format_timestamps(seconds: np.ndarray) -> pa.Array:
    """Format Unix seconds as ``2019-10-01 00:00:00 UTC`` strings."""
    n = seconds.shape[0]
    if n == 0:
        return pa.array([], type=pa.string())
    day = seconds // 86_400
    d0 = int(day.min())
    d1 = int(day.max())
    dates = np.array([str(np.datetime64(d, "D")) for d in range(d0, d1 + 1)], dtype="S10")
    dates = dates.view(np.uint8).reshape(-1, 10)
    out = np.empty((n, 23), dtype=np.uint8)
    out[:, :10] = dates[day - d0]
    out[:, 10] = ord(" ")
    out[:, 11:19] = _TIME_OF_DAY[seconds - day * 86_400]
    out[:, 19:23] = np.frombuffer(b" UTC", dtype=np.uint8)
    return _fixed_width_strings(out)


def format_cents(cents: np.ndarray) -> pa.Array:
    """Format non-negative integer cents as ``543.10``; negative values become nulls."""
    n = cents.shape[0]
    valid = cents >= 0
    c = np.where(valid, cents, 0)
    whole = c // 100
    frac = c % 100
    ndig = np.ones(n, dtype=np.int64)
    power = 10
    max_digits = 1
    while True:
        more = whole >= power
        if not more.any():
            break
        ndig += more
        max_digits += 1
        power *= 10
    lengths = np.where(valid, ndig + 3, 0)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.zeros(int(offsets[-1]), dtype=np.uint8)
    ends = offsets[1:][valid]
    w = whole[valid]
    nd = ndig[valid]
    for k in range(max_digits):  # loop over digit positions only
        m = nd > k
        buf[ends[m] - 4 - k] = 48 + (w[m] // 10**k) % 10
    f = frac[valid]
    buf[ends - 3] = ord(".")
    buf[ends - 2] = 48 + f // 10
    buf[ends - 1] = 48 + f % 10
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [_validity(valid), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(buf)],
    )


def format_uuids(hi: np.ndarray, lo: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Format 128-bit values (two uint64 halves) as ``8-4-4-4-12`` hex strings."""
    n = hi.shape[0]
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0] = hi
    raw[:, 1] = lo
    hexed = _HEX16[raw.view(np.uint8).reshape(n, 16)].view(np.uint8)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = hexed[:, 0:8]
    out[:, 9:13] = hexed[:, 8:12]
    out[:, 14:18] = hexed[:, 12:16]
    out[:, 19:23] = hexed[:, 16:20]
    out[:, 24:36] = hexed[:, 20:32]
    return _fixed_width_strings(out, valid)


def _lookup(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Strings ``names[index]``; negative indexes become nulls."""
    idx = pa.array(index.astype(np.int32), mask=index < 0)
    return pa.array(list(names), type=pa.string()).take(idx)


@dataclass
class MonthRows:
    """The rows of one monthly file, already sorted and de-normalised (one entry per line)."""

    time: np.ndarray  # int64 unix seconds
    event_type: np.ndarray  # int8 index into EVENT_TYPES
    product_id: np.ndarray  # int64
    category_id: np.ndarray  # int64
    category_code: np.ndarray  # int16 index into the code list, -1 = empty
    brand: np.ndarray  # int16 index into the brand list, -1 = empty
    price_cents: np.ndarray  # int64, -1 = empty
    user_id: np.ndarray  # int64
    session_hi: np.ndarray  # uint64
    session_lo: np.ndarray  # uint64
    session_valid: np.ndarray  # bool, False = empty user_session


def month_table(rows: MonthRows, codes: tuple[str, ...], brands: tuple[str, ...]) -> pa.Table:
    """Render the rows of a month as an Arrow table of CSV-ready columns."""
    return pa.table(
        {
            "event_time": format_timestamps(rows.time),
            "event_type": _lookup(EVENT_TYPES, rows.event_type),
            "product_id": pa.array(rows.product_id),
            "category_id": pa.array(rows.category_id),
            "category_code": _lookup(codes, rows.category_code),
            "brand": _lookup(brands, rows.brand),
            "price": format_cents(rows.price_cents),
            "user_id": pa.array(rows.user_id),
            "user_session": format_uuids(rows.session_hi, rows.session_lo, rows.session_valid),
        }
    )


def write_table(path: Path, table: pa.Table, pool: Executor | None = None) -> int:
    """Write a rendered month as gzip CSV (atomically via a ``.part`` file); return its lines.

    Runs almost entirely outside the GIL (Arrow CSV writer, zlib), so it overlaps well with the
    simulation of the next month. ``pool`` (optional) compresses chunks in parallel.
    """
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    data = (HEADER + "\n").encode() + sink.getvalue().to_pybytes()
    del sink
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as fh:
        for piece in gzip_bytes(data, pool):
            fh.write(piece)
    os.replace(part, path)
    return int(table.num_rows)


def write_month(
    path: Path,
    rows: MonthRows,
    codes: tuple[str, ...],
    brands: tuple[str, ...],
    pool: Executor | None = None,
) -> int:
    """Render and write one monthly file; return its data lines."""
    return write_table(path, month_table(rows, codes, brands), pool)


def _deflate_chunk(chunk: memoryview, last: bool) -> bytes:
    """Raw-deflate one chunk; non-final chunks end with a byte-aligned sync flush."""
    comp = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
    out = comp.compress(chunk)
    return out + comp.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def gzip_bytes(data: bytes, pool: Executor | None = None) -> Iterator[bytes]:
    """Yield a single-member gzip stream of ``data``, compressing chunks in parallel.

    Like ``pigz``: fixed-size chunks are deflated independently (in ``pool`` if given) and
    concatenated into one deflate stream; the header has MTIME 0 and no file name, so the
    output depends only on ``data`` and :data:`GZIP_LEVEL`.
    """
    view = memoryview(data)
    starts = list(range(0, len(data), _CHUNK)) or [0]
    chunks = [view[a : a + _CHUNK] for a in starts]
    flags = [i == len(chunks) - 1 for i in range(len(chunks))]
    if pool is None:
        deflated: Iterator[bytes] = map(_deflate_chunk, chunks, flags)
    else:
        deflated = pool.map(_deflate_chunk, chunks, flags)
    # ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (unix)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    yield from deflated
    yield struct.pack("<II", zlib.crc32(view) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
