"""The CDC service's durable log: events by position, and the capture state that must move with them.

One RocksDB database (rocksdict, raw bytes), four key spaces:
- b"e" + position (8 bytes, big-endian): the event (hopsfs.cdc_events bytes), positions dense from 1;
- b"d" + directory inode id: (parent id, name) of every live directory, to resolve paths;
- b"t" + inode id: the inode's last logical time, to check each inode's clock;
- b"m" + name: the log id, the capture checkpoint, retention and trim marks, sink positions.

Invariants: `append` writes events, directory and clock updates and the capture checkpoint in one
RocksDB write batch, so after any crash (kill -9 included) the log holds exactly the events up to
the checkpoint it holds: capture resumes there with no gap and no duplicate. Positions are dense:
an append must start at last_position + 1. Events are removed only from the front (retention).

Writes are not synced one by one (a process crash loses nothing the OS has); `sync` makes them
survive power loss, and change-log rows are trimmed from the metadata store only up to the last
synced position. Thread-safe: one capture thread appends, any thread reads.
"""

from __future__ import annotations

import struct
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rocksdict

from hopsfs.cdc_events import ChangeRecord, event_from_bytes, event_to_bytes
from hopsfs.invariants import check

_EVENT = b"e"
_DIRECTORY = b"d"
_CLOCK = b"t"
_META = b"m"
_POSITION = struct.Struct(">Q")
_INODE = struct.Struct(">q")
_LOG_ID = _META + b"log_id"
_CHECKPOINT = _META + b"checkpoint"
_FIRST = _META + b"first_position"
_TRIMMED = _META + b"trimmed_position"
_SINK = _META + b"sink:"


@dataclass(slots=True)
class AppendBatch:
    """What one capture step adds: events (positions assigned), path and clock state, checkpoint."""

    records: list[ChangeRecord] = field(default_factory=list)
    directories: dict[int, tuple[int, str] | None] = field(default_factory=dict)  # None: gone
    clocks: dict[int, int | None] = field(default_factory=dict)  # None: inode deleted
    checkpoint: bytes | None = None


class DurableLog:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        self._database: Any = rocksdict.Rdict(str(path), options)
        self._writes: Any = rocksdict.WriteOptions()
        self._writes.sync = False
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._listeners: list[Callable[[int], None]] = []
        self._synced_position = 0
        log_id = self._database.get(_LOG_ID)
        if log_id is None:
            log_id = uuid.uuid4().hex.encode()
            self._database.put(_LOG_ID, log_id)
        self.log_id: str = bytes(log_id).decode()
        self._first_position = self._read_int(_FIRST, 1)
        self._last_position = self._find_last_position()
        check(self._first_position >= 1, "positions start at 1")
        check(self._last_position >= self._first_position - 1, "the log's retained range is well formed")

    # -- positions ------------------------------------------------------------------------------

    @property
    def first_position(self) -> int:
        """The oldest retained event's position (last_position + 1 when the log is empty)."""
        return self._first_position

    @property
    def last_position(self) -> int:
        """The newest event's position; 0 before the first append."""
        return self._last_position

    @property
    def synced_position(self) -> int:
        return self._synced_position

    def checkpoint(self) -> bytes | None:
        value = self._database.get(_CHECKPOINT)
        return None if value is None else bytes(value)

    # -- writing --------------------------------------------------------------------------------

    def append(self, batch: AppendBatch) -> None:
        """Write the batch atomically; positions must continue the log without a gap."""
        expected = self._last_position + 1
        for offset, record in enumerate(batch.records):
            check(record.position == expected + offset, "appended positions continue the log densely")
        write_batch = rocksdict.WriteBatch(raw_mode=True)
        for record in batch.records:
            write_batch.put(_event_key(record.position), event_to_bytes(record))
        for inode_id, entry in batch.directories.items():
            if entry is None:
                write_batch.delete(_DIRECTORY + _INODE.pack(inode_id))
            else:
                write_batch.put(_DIRECTORY + _INODE.pack(inode_id), _encode_directory(entry))
        for inode_id, logical_time in batch.clocks.items():
            if logical_time is None:
                write_batch.delete(_CLOCK + _INODE.pack(inode_id))
            else:
                write_batch.put(_CLOCK + _INODE.pack(inode_id), _INODE.pack(logical_time))
        if batch.checkpoint is not None:
            write_batch.put(_CHECKPOINT, batch.checkpoint)
        self._database.write(write_batch, self._writes)
        if batch.records:
            self._publish(batch.records[-1].position)

    def sync(self) -> int:
        """Make every append so far survive power loss; returns the position now synced."""
        position = self._last_position
        self._database.flush_wal(True)
        self._synced_position = position
        return position

    def remove_before(self, position: int) -> int:
        """Retention: drop events before `position` (never past the last one); returns how many."""
        position = min(position, self._last_position + 1)
        first = self._first_position
        if position <= first:
            return 0
        write_batch = rocksdict.WriteBatch(raw_mode=True)
        write_batch.delete_range(_event_key(first), _event_key(position))
        write_batch.put(_FIRST, _POSITION.pack(position))
        self._database.write(write_batch, self._writes)
        self._first_position = position
        return position - first

    def set_trimmed_position(self, position: int) -> None:
        """Change-log rows of events up to `position` are gone from the metadata store."""
        check(position <= self._synced_position, "only synced events have their rows trimmed")
        self._database.put(_TRIMMED, _POSITION.pack(position), self._writes)

    def trimmed_position(self) -> int:
        return self._read_int(_TRIMMED, 0)

    def set_sink_position(self, sink: str, position: int) -> None:
        check(position <= self._last_position, "a sink cannot be ahead of the log")
        self._database.put(_SINK + sink.encode(), _POSITION.pack(position), self._writes)

    def sink_position(self, sink: str) -> int:
        return self._read_int(_SINK + sink.encode(), 0)

    # -- reading --------------------------------------------------------------------------------

    def read_raw(self, from_position: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` (position, event bytes) from `from_position` on, in order."""
        check(limit > 0, "a read asks for at least one event")
        found: list[tuple[int, bytes]] = []
        iterator = self._database.iter()
        iterator.seek(_event_key(max(from_position, 1)))
        while iterator.valid() and len(found) < limit:
            key = bytes(iterator.key())
            if not key.startswith(_EVENT):
                break
            found.append((_POSITION.unpack_from(key, 1)[0], bytes(iterator.value())))
            iterator.next()
        return found

    def read(self, from_position: int, limit: int) -> list[ChangeRecord]:
        return [event_from_bytes(data) for _, data in self.read_raw(from_position, limit)]

    def directory(self, inode_id: int) -> tuple[int, str] | None:
        value = self._database.get(_DIRECTORY + _INODE.pack(inode_id))
        return None if value is None else _decode_directory(bytes(value))

    def logical_time(self, inode_id: int) -> int | None:
        value = self._database.get(_CLOCK + _INODE.pack(inode_id))
        return None if value is None else _INODE.unpack(bytes(value))[0]

    def directories(self) -> Iterable[tuple[int, tuple[int, str]]]:
        iterator = self._database.iter()
        iterator.seek(_DIRECTORY)
        while iterator.valid():
            key = bytes(iterator.key())
            if not key.startswith(_DIRECTORY):
                return
            yield _INODE.unpack_from(key, 1)[0], _decode_directory(bytes(iterator.value()))
            iterator.next()

    # -- waiting for new events -----------------------------------------------------------------

    def wait_for(self, position: int, timeout_s: float) -> bool:
        """Block until the log reaches `position` or `timeout_s` passes; True if it did."""
        with self._appended:
            return self._appended.wait_for(lambda: self._last_position >= position, timeout_s)

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """`listener(last_position)` runs on the appending thread after each append: keep it short."""
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        self._database.close()

    # -- internals ------------------------------------------------------------------------------

    def _publish(self, last_position: int) -> None:
        with self._appended:
            self._last_position = last_position
            listeners = list(self._listeners)
            self._appended.notify_all()
        for listener in listeners:
            listener(last_position)

    def _find_last_position(self) -> int:
        iterator = self._database.iter()
        iterator.seek_for_prev(_event_key(_POSITION_MAX))
        if iterator.valid() and bytes(iterator.key()).startswith(_EVENT):
            return _POSITION.unpack_from(bytes(iterator.key()), 1)[0]
        return self._first_position - 1

    def _read_int(self, key: bytes, default: int) -> int:
        value = self._database.get(key)
        return default if value is None else _POSITION.unpack(bytes(value))[0]


_POSITION_MAX = (1 << 64) - 1


def _event_key(position: int) -> bytes:
    return _EVENT + _POSITION.pack(position)


def _encode_directory(entry: tuple[int, str]) -> bytes:
    parent_id, name = entry
    return _INODE.pack(parent_id) + name.encode()


def _decode_directory(value: bytes) -> tuple[int, str]:
    return _INODE.unpack_from(value, 0)[0], value[_INODE.size :].decode()


def destroy_log(path: Path) -> None:
    """Delete a log's files (a first start that did not finish its snapshot starts over)."""
    rocksdict.Rdict.destroy(str(path))
