"""Verify a whole packet's CRC32C chunk checksums with one CRC call, using the linearity of CRCs.

A packet of 512 KiB carries 1,024 chunk checksums. Checking them one call per chunk costs about 150 ns
of Python per call, which caps a reader near 3 GB/s of pure checksum work; the CRC of the whole payload
in one call runs at tens of GB/s. CRC-32C without its initial and final inversion (`raw`) is linear
over GF(2): raw(A || B) = shift(raw(A), len(B)) ^ raw(B), where `shift` multiplies by x^(8·len(B))
modulo the polynomial. So the chunk checksums the sender wrote predict the CRC of the whole payload,
and one comparison checks all of them:

    expected = raw-combine of every chunk's raw CRC, shifted by the bytes that follow it
    actual   = crc32c(payload)

The combine itself is one more CRC call. A raw CRC is linear in the message, and four bytes with
little-endian value u, followed by k zero bytes, have raw CRC shift(shift4(u), k). So a scratch
message of the whole chunks' length, zero except for u_i = shift4⁻¹(raw_i) in the last four bytes of
chunk i, has raw CRC equal to the combination: one numpy lookup (shift4⁻¹ as four 256-entry lane
tables, 4 KiB), one scatter, one CRC at tens of GB/s. The scratch message is kept per chunk count
and only its scattered words change.

Strength: shifting is invertible (the polynomial has a constant term), so any damage confined to one
chunk that the per-chunk check would catch changes `expected` or `actual` and is caught here too;
damage in several chunks escapes only if the errors cancel, with probability about 2**-32, the same
odds as any one CRC. A mismatch does not say which chunk is bad: callers fall back to the per-chunk
check to name it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from hopsfs.invariants import check

BytesLike = bytes | bytearray | memoryview
Crc32cFunction = Callable[..., int]

_MASK = 0xFFFFFFFF
# Scratch messages kept (one per whole-chunk count seen: a stream of full packets uses one or two).
_SCRATCH_SIZES_MAX = 8


def _shift(crc32c: Crc32cFunction, raw: int, length: int) -> int:
    """raw · x^(8·length) mod P: the raw register after `length` zero bytes.

    The library continues from a finished value, which it inverts into the register first, so feeding
    zeros from ~raw and inverting the answer leaves only the shift.
    """
    if length == 0:
        return raw
    return crc32c(bytes(length), raw ^ _MASK) ^ _MASK


def _invert_gf2(columns: list[int]) -> list[int]:
    """The inverse of the 32x32 GF(2) matrix whose column k is `columns[k]` (as columns)."""
    # Gauss-Jordan on rows of [M | I]; row r holds bit r of every column.
    rows = [(sum(((columns[k] >> r) & 1) << k for k in range(32)), 1 << r) for r in range(32)]
    for pivot in range(32):
        found = next(r for r in range(pivot, 32) if (rows[r][0] >> pivot) & 1)
        rows[pivot], rows[found] = rows[found], rows[pivot]
        for r in range(32):
            if r != pivot and (rows[r][0] >> pivot) & 1:
                rows[r] = (rows[r][0] ^ rows[pivot][0], rows[r][1] ^ rows[pivot][1])
    # rows[r][1] is row r of the inverse; return it as columns again.
    return [sum(((rows[r][1] >> k) & 1) << r for r in range(32)) for k in range(32)]


class Crc32cCombiner:
    """Checks CRC-32C chunk checksums against one whole-payload CRC, for one chunk size."""

    def __init__(self, crc32c: Crc32cFunction, bytes_per_checksum: int) -> None:
        check(bytes_per_checksum > 0 and bytes_per_checksum % 4 == 0, "chunks of whole 4-byte words")
        self._crc32c = crc32c
        self._chunk = bytes_per_checksum
        # crc32c(zeros(n)) turns a standard CRC into a raw one: std(d) = raw(d) ^ std(zeros(len(d))).
        self._zeros_crc = functools.lru_cache(maxsize=64)(lambda length: crc32c(bytes(length)))
        inverse = _invert_gf2([_shift(crc32c, 1 << bit, 4) for bit in range(32)])
        byte_lanes = np.zeros((4, 256), dtype=np.uint32)
        for lane in range(4):
            for value in range(256):
                word = value << (8 * lane)
                byte_lanes[lane, value] = functools.reduce(
                    lambda acc, bit: acc ^ (inverse[bit] if (word >> bit) & 1 else 0), range(32), 0
                )
        # shift4⁻¹ as two 65,536-entry tables (low and high 16 bits): two gathers per packet.
        halves = np.arange(65536, dtype=np.uint32)
        self._unshift4 = np.stack(
            [byte_lanes[2 * half][halves & 0xFF] ^ byte_lanes[2 * half + 1][halves >> 8] for half in range(2)]
        )
        self._scratch: dict[int, npt.NDArray[np.uint32]] = {}
        self._scratch_lock = threading.Lock()

    @property
    def bytes_per_checksum(self) -> int:
        return self._chunk

    def matches(self, data: BytesLike, checksums: BytesLike) -> bool:
        """True when the big-endian chunk checksums in `checksums` are those of `data`'s chunks."""
        length = len(data)
        count = -(-length // self._chunk)
        check(len(checksums) == 4 * count, "one 4-byte checksum per chunk")
        if count == 0:
            return True
        actual = self._crc32c(data)
        tail = length - (count - 1) * self._chunk
        stored = np.frombuffer(checksums, dtype=">u4")
        last_raw = int(stored[-1]) ^ self._zeros_crc(tail)
        if count == 1:
            return last_raw ^ self._zeros_crc(length) == actual
        # Whole chunks 0 .. count-2: chunk i is followed by (count - 2 - i) whole chunks, then the tail.
        raws = stored[:-1].astype(np.uint32) ^ np.uint32(self._zeros_crc(self._chunk))
        combined = self._combine_whole_chunks(raws)
        total_raw = _shift(self._crc32c, combined, tail) ^ last_raw
        return total_raw ^ self._zeros_crc(length) == actual

    def _combine_whole_chunks(self, raws: npt.NDArray[np.uint32]) -> int:
        """raw CRC of the concatenation of whole chunks whose raw CRCs are `raws`, in order."""
        count = len(raws)
        halves = raws.astype("<u4").view("<u2")
        words = self._unshift4[0][halves[0::2]]
        words ^= self._unshift4[1][halves[1::2]]
        with self._scratch_lock:
            scratch = self._scratch.get(count)
            if scratch is None:
                if len(self._scratch) >= _SCRATCH_SIZES_MAX:
                    self._scratch.clear()  # packet sizes vary more than usual: start over
                scratch = np.zeros(count * self._chunk // 4, dtype="<u4")
                self._scratch[count] = scratch
            step = self._chunk // 4
            scratch[step - 1 :: step] = words
            raw = self._crc32c(memoryview(scratch).cast("B")) ^ self._zeros_crc(count * self._chunk)
        return int(raw)
