"""Recycled receive buffers for data packets.

A reader assembles every 512 KiB read packet in a buffer of its own. Allocating a fresh one each time
costs more than the bytes: glibc hands big blocks back to the kernel when they are freed, so every new
buffer is fresh pages to fault in and zero (measured: a reader at 1.0 GB/s went to 1.4 GB/s with the
allocator told to keep its memory). `PacketBuffers` keeps a bounded set of buffers and lends one out
again only once nothing refers to it any more: every memoryview over a buffer (the packet's data
slices, a transport still holding a forwarded packet) keeps a reference to it, so a buffer whose
reference count is back to the pool's own is provably free. That makes recycling safe whatever the
caller kept; a caller that keeps packets only costs fresh allocations.

Only CPython counts references this way; elsewhere the pool allocates every time.
"""

from __future__ import annotations

import platform
import sys

from hopsfs.invariants import check

# Buffers are sized in these steps so packets a few header bytes apart share them.
BUFFER_STEP_BYTES = 64 * 1024
BUFFERS_MAX_DEFAULT = 48


def _scan_refcount() -> int:
    """The reference count a free buffer shows inside `PacketBuffers.take`'s scan (measured, not
    assumed, since interpreters count borrowed references differently)."""
    pool = [bytearray(1)]
    for _index, buffer in enumerate(pool):
        return sys.getrefcount(buffer)
    raise AssertionError("unreachable")


_RECYCLABLE = platform.python_implementation() == "CPython"
_FREE_REFCOUNT = _scan_refcount()


class PacketBuffers:
    """Writable buffers of an asked-for size, reusing ones nobody refers to any more."""

    def __init__(self, buffers_max: int = BUFFERS_MAX_DEFAULT) -> None:
        check(buffers_max >= 0, "a pool size is never negative")
        self._buffers_max = buffers_max
        self._buffers: list[bytearray] = []
        self.allocated = 0
        self.reused = 0

    def take(self, size: int) -> memoryview:
        """`size` writable bytes (their content is whatever the buffer held: the caller fills them)."""
        check(size > 0, "a packet buffer is not empty")
        free_too_small: int | None = None
        if _RECYCLABLE:
            for index, buffer in enumerate(self._buffers):
                if sys.getrefcount(buffer) != _FREE_REFCOUNT:
                    continue
                if len(buffer) >= size:
                    self.reused += 1
                    return memoryview(buffer)[:size]
                free_too_small = index
        capacity = -(-size // BUFFER_STEP_BYTES) * BUFFER_STEP_BYTES
        fresh = bytearray(capacity)
        self.allocated += 1
        if free_too_small is not None:
            self._buffers[free_too_small] = fresh  # a bigger packet size came along: keep that one
        elif _RECYCLABLE and len(self._buffers) < self._buffers_max:
            self._buffers.append(fresh)
        return memoryview(fresh)[:size]
