"""File statuses as fsspec listing entries (the dicts `info` and `ls(detail=True)` return).

Every entry carries fsspec's required keys: `name` (the driver's absolute path), `size` (bytes;
0 for a directory) and `type` ("file", "directory", or "other" for a symlink). The rest are HDFS's
attributes under plain names; times are seconds since the epoch (floats), as in fsspec's local
driver. HDFS records no creation time, so there is no `created` key.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from hopsfs.types import FileStatus, InodeKind

_TYPES = {InodeKind.FILE: "file", InodeKind.DIRECTORY: "directory", InodeKind.SYMLINK: "other"}


def entry_of(status: FileStatus, path: str) -> dict[str, Any]:
    """The fsspec entry for `status`, found at `path` (a listing's child path or the stat'ed path)."""
    entry: dict[str, Any] = {
        "name": path,
        "size": status.size if status.kind is InodeKind.FILE else 0,
        "type": _TYPES[status.kind],
        "mtime": status.modification_time_ms / 1000,
        "atime": status.access_time_ms / 1000,
        "mode": status.permission,
        "owner": status.owner,
        "group": status.group,
        "replication": status.replication,
        "block_size": status.block_size,
        "inode_id": status.inode_id,
    }
    if status.symlink_target is not None:
        entry["destination"] = status.symlink_target
    return entry


def modified_of(entry: dict[str, Any]) -> datetime:
    """The modification time of an entry, timezone-aware (UTC), as fsspec's local driver gives it."""
    return datetime.fromtimestamp(entry["mtime"], tz=UTC)


def checksum_of(entry: dict[str, Any]) -> int:
    """A token that changes whenever the file's content may have: its inode, size and mtime.

    HDFS's own file checksum (MD5 of block MD5s of chunk CRCs) needs a call the client lacks; what
    fsspec uses a checksum for (cache invalidation) needs only this, and costs one stat.
    """
    identity = f"{entry['inode_id']}:{entry['size']}:{entry['mtime']!r}".encode()
    return int.from_bytes(hashlib.sha256(identity).digest()[:8], "big")
