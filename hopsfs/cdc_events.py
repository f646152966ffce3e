"""The change event of the CDC stream, shared by the CDC service (which writes it) and its clients.

One `ChangeRecord` is one committed namespace change in the service's durable log, at `position`
(dense, from 1, commit order). `encode_event`/`decode_event` turn it into the protobuf message the
service stores and sends (`hopsfs/protocol/proto/cdc.proto`); the same bytes are the log's value, so
the stored form and the wire form cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hopsfs.invariants import check
from hopsfs.protocol.proto import cdc_pb2

# Operations the namenode writes today (namenode/ops/*), and the two the CDC pipeline adds.
CREATION_OPERATIONS = frozenset({"CREATE", "MKDIR", "SYMLINK"})
READ_OPERATION = "READ"  # aggregated reads (namenode/engine/read_provenance.py)
SNAPSHOT_OPERATION = "SNAPSHOT"  # an inode that existed before the CDC service first captured
RENAME_OPERATION = "RENAME"
DELETE_OPERATION = "DELETE"


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    position: int
    operation: str
    inode_id: int
    logical_time: int
    parent_id: int
    name: str
    kind: int
    user: str
    time_ms: int
    path: str
    sequence: int = 0
    app_id: str = ""
    previous_parent_id: int | None = None
    previous_name: str | None = None
    previous_path: str = ""
    read_count: int = 0
    captured_ms: int = 0
    ancestor_ids: tuple[int, ...] = field(default_factory=tuple)


def encode_event(record: ChangeRecord) -> cdc_pb2.ChangeEventProto:
    check(record.position > 0, "an event in the log has a position")
    message = cdc_pb2.ChangeEventProto(
        position=record.position,
        operation=record.operation,
        inode_id=record.inode_id,
        logical_time=record.logical_time,
        parent_id=record.parent_id,
        name=record.name,
        kind=record.kind,
        user=record.user,
        app_id=record.app_id,
        time_ms=record.time_ms,
        path=record.path,
        previous_path=record.previous_path,
        sequence=record.sequence,
        read_count=record.read_count,
        captured_ms=record.captured_ms,
        ancestor_ids=record.ancestor_ids,
    )
    if record.previous_parent_id is not None:
        message.previous_parent_id = record.previous_parent_id
    if record.previous_name is not None:
        message.previous_name = record.previous_name
    return message


def decode_event(message: cdc_pb2.ChangeEventProto) -> ChangeRecord:
    record = ChangeRecord(
        position=message.position,
        operation=message.operation,
        inode_id=message.inode_id,
        logical_time=message.logical_time,
        parent_id=message.parent_id,
        name=message.name,
        kind=message.kind,
        user=message.user,
        time_ms=message.time_ms,
        path=message.path,
        sequence=message.sequence,
        app_id=message.app_id,
        previous_parent_id=message.previous_parent_id if message.HasField("previous_parent_id") else None,
        previous_name=message.previous_name if message.HasField("previous_name") else None,
        previous_path=message.previous_path,
        read_count=message.read_count,
        captured_ms=message.captured_ms,
        ancestor_ids=tuple(message.ancestor_ids),
    )
    check(record.position > 0, "a decoded event has a position")
    return record


def event_to_bytes(record: ChangeRecord) -> bytes:
    return encode_event(record).SerializeToString()


def event_from_bytes(data: bytes) -> ChangeRecord:
    message = cdc_pb2.ChangeEventProto()
    message.ParseFromString(data)
    return decode_event(message)


def path_is_within(path: str, prefix: str) -> bool:
    """True when `path` is `prefix` or below it ("/a/b" is within "/a", "/ab" is not)."""
    if prefix in ("", "/"):
        return True
    trimmed = prefix.rstrip("/")
    return path == trimmed or path.startswith(trimmed + "/")
