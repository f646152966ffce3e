"""Durability helpers: fsync of directories and all-or-nothing small files.

A rename is atomic but not durable until its directory is fsynced; these helpers exist so every
caller does that the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from hopsfs.invariants import check


def fsync_directory(path: Path) -> None:
    """Make renames and creations inside `path` survive a power loss."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_file_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` so a crash leaves the old file or the new one, never a torn one."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        pwrite_all(descriptor, content, 0)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    fsync_directory(path.parent)


def pwrite_all(descriptor: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    """pwrite every byte of `data` at `offset` (pwrite may write fewer bytes than asked)."""
    check(offset >= 0, "file offsets are never negative")
    view = memoryview(data)
    written_total = 0
    # Each round writes at least one byte or raises, so the loop ends within len(data) rounds.
    while written_total < len(view):
        written = os.pwrite(descriptor, view[written_total:], offset + written_total)
        check(written > 0, "pwrite to a regular file makes progress or raises")
        written_total += written


def pread_all(descriptor: int, length: int, offset: int) -> bytes:
    """Up to `length` bytes at `offset`; fewer only at end of file."""
    check(length >= 0, "read lengths are never negative")
    parts: list[bytes] = []
    read_total = 0
    while read_total < length:
        part = os.pread(descriptor, length - read_total, offset + read_total)
        if not part:
            break
        parts.append(part)
        read_total += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)
