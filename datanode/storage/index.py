"""The replica index: block id -> ReplicaRecord, persisted so restart does not rescan every file.

`ReplicaIndex` is the interface; `RocksReplicaIndex` (rocksdict, the default) persists it and
`MemoryReplicaIndex` keeps it in a dict, for tests and for machines without rocksdict. The index is a
cache of the volumes, never the truth: startup reconciles it with the files (see reconcile.py), so a
lost or stale entry costs a rescan, never data.

Durability: `durable=True` writes are synced to the index's log before returning (used for state
changes: create, finalize, genstamp update, delete); other writes may be lost by a power failure and
are repaired by reconciliation.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from datanode.storage.replica import (
    ReplicaRecord,
    decode_block_key,
    decode_record,
    encode_block_key,
    encode_record,
)
from hopsfs.invariants import check

ROCKSDICT_REQUIREMENT = "rocksdict>=0.3.29"


class ReplicaIndex(Protocol):
    def get(self, block_id: int) -> ReplicaRecord | None: ...

    def put(self, record: ReplicaRecord, durable: bool) -> None: ...

    def delete(self, block_id: int, durable: bool) -> None: ...

    def records(self) -> Iterator[ReplicaRecord]: ...

    def close(self) -> None: ...


class MemoryReplicaIndex:
    """A dict index: survives a store's close and reopen only when the same object is passed back."""

    def __init__(self) -> None:
        self._entries: dict[int, bytes] = {}

    def get(self, block_id: int) -> ReplicaRecord | None:
        value = self._entries.get(block_id)
        return None if value is None else decode_record(block_id, value)

    def put(self, record: ReplicaRecord, durable: bool) -> None:
        # Encoded like the persistent index so both run the same record checks.
        self._entries[record.block_id] = encode_record(record)

    def delete(self, block_id: int, durable: bool) -> None:
        self._entries.pop(block_id, None)

    def records(self) -> Iterator[ReplicaRecord]:
        for block_id, value in list(self._entries.items()):
            yield decode_record(block_id, value)

    def close(self) -> None:
        return None


class RocksReplicaIndex:
    """The index in a RocksDB database (rocksdict, raw bytes keys and values)."""

    def __init__(self, path: Path) -> None:
        rocksdict = _import_rocksdict()
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        self._database: Any = rocksdict.Rdict(str(path), options)
        self._sync_writes: Any = rocksdict.WriteOptions()
        self._sync_writes.sync = True
        self._fast_writes: Any = rocksdict.WriteOptions()
        self._fast_writes.sync = False
        self._closed = False

    def get(self, block_id: int) -> ReplicaRecord | None:
        value = self._database.get(encode_block_key(block_id))
        return None if value is None else decode_record(block_id, value)

    def put(self, record: ReplicaRecord, durable: bool) -> None:
        check(not self._closed, "the index is open")
        self._database.put(encode_block_key(record.block_id), encode_record(record), self._writes(durable))

    def delete(self, block_id: int, durable: bool) -> None:
        check(not self._closed, "the index is open")
        self._database.delete(encode_block_key(block_id), self._writes(durable))

    def records(self) -> Iterator[ReplicaRecord]:
        for key, value in self._database.items():
            block_id = decode_block_key(key)
            yield decode_record(block_id, value)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._database.close()

    def _writes(self, durable: bool) -> Any:
        return self._sync_writes if durable else self._fast_writes


def rocksdict_available() -> bool:
    try:
        _import_rocksdict()
    except ImportError:
        return False
    return True


def open_default_index(path: Path) -> ReplicaIndex:
    """The production index: rocksdict at `path`."""
    return RocksReplicaIndex(path)


def _import_rocksdict() -> Any:
    try:
        return importlib.import_module("rocksdict")
    except ImportError as error:
        raise ImportError(
            "the replica index needs rocksdict, which is not installed: "
            f"pip install '{ROCKSDICT_REQUIREMENT}'"
        ) from error
