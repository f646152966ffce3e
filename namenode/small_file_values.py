"""What the small-file operations take and return (ops/small_files.py): plain frozen dataclasses,
kept apart from the operations so the retry cache (engine/retry_cache.py) can encode them without
importing the operations that use it."""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs.types import FileStatus


@dataclass(frozen=True, slots=True)
class InlineCreated:
    """status is None when the file was not created: its bytes exceed threshold_bytes."""

    status: FileStatus | None
    threshold_bytes: int


@dataclass(frozen=True, slots=True)
class InlineRead:
    """data is None when the file is not stored inline (read it through its blocks)."""

    status: FileStatus
    data: bytes | None


@dataclass(frozen=True, slots=True)
class SmallFile:
    path: str
    data: bytes
    permission: int = 0o644


@dataclass(frozen=True, slots=True)
class BatchCreated:
    """A created batch: its files' statuses in request order, or None when the answer comes from
    the retry cache, which keeps only the inode ids (the caller reads the statuses again)."""

    statuses: list[FileStatus] | None
    inode_ids: list[int]
