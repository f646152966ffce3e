"""Writing to a lent non-blocking socket from a pool thread: all bytes, and file ranges with sendfile.

A read streams its packets from a pool thread so that disk reads (and sendfile's page-cache misses)
never stall the event loop; the socket stays non-blocking (the loop owns it between operations), so
these helpers wait for writability with poll(2) under a timeout.
"""

from __future__ import annotations

import os
import select
from collections.abc import Sequence

from hopsfs.invariants import check

# writev takes at most IOV_MAX buffers; a packet needs three.
_BUFFERS_MAX = 64


class ShortFile(OSError):
    """The file ended before the range asked for was sent."""


def send_buffers(descriptor: int, buffers: Sequence[bytes | memoryview], timeout_s: float) -> None:
    """Write every byte of `buffers` in order (one writev per round)."""
    check(len(buffers) <= _BUFFERS_MAX, "a bounded number of buffers")
    views = [memoryview(buffer) for buffer in buffers if len(buffer) > 0]
    # Each round writes at least one byte or waits under the timeout, so the loop ends.
    while views:
        try:
            written = os.writev(descriptor, views)
        except BlockingIOError:
            _wait_writable(descriptor, timeout_s)
            continue
        while written > 0:
            if written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][written:]
                written = 0


def send_file_range(descriptor: int, file_descriptor: int, offset: int, count: int, timeout_s: float) -> None:
    """Send `count` bytes of the file at `offset` with sendfile(2) (no copy through Python)."""
    check(offset >= 0 and count >= 0, "file ranges are non-negative")
    end = offset + count
    while offset < end:
        try:
            sent = os.sendfile(descriptor, file_descriptor, offset, end - offset)
        except BlockingIOError:
            _wait_writable(descriptor, timeout_s)
            continue
        if sent == 0:
            raise ShortFile(f"file ended at {offset}, before {end}")
        offset += sent


def _wait_writable(descriptor: int, timeout_s: float) -> None:
    poller = select.poll()
    poller.register(descriptor, select.POLLOUT)
    ready = poller.poll(int(timeout_s * 1000))
    if not ready:
        raise TimeoutError(f"socket not writable for {timeout_s} s")
    events = ready[0][1]
    if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL) and not events & select.POLLOUT:
        raise ConnectionResetError("peer went away while sending")
