"""The CDC service's pure parts: subscription filters, the durable log, retention, the first-start
history check, checkpoints, and documents moved by a directory rename."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdc.capture.bootstrap import history_is_complete
from cdc.capture.checkpoints import Checkpoint, decode_checkpoint
from cdc.log import AppendBatch, DurableLog
from cdc.metadata import ChangeRow, InodeEntry
from cdc.service.filters import event_filter
from cdc.service.retention import RetentionPolicy, apply_retention
from cdc.sinks.search_documents import IndexedInode, moved, path_prefixes
from hopsfs.cdc_events import ChangeRecord, encode_event, event_from_bytes, event_to_bytes, path_is_within
from hopsfs.errors import HopsFSError, InvalidArgument, InvariantViolation, StoreError


def _record(position: int, operation: str = "CREATE", path: str = "/a", **fields: object) -> ChangeRecord:
    values: dict[str, object] = {
        "position": position,
        "operation": operation,
        "inode_id": 100 + position,
        "logical_time": 1,
        "parent_id": 1,
        "name": path.rsplit("/", 1)[1],
        "kind": 1,
        "user": "alice",
        "time_ms": 1000 + position,
        "path": path,
        "captured_ms": 5000 + position,
    }
    values.update(fields)
    return ChangeRecord(**values)  # type: ignore[arg-type]


def _row(sequence: int, operation: str, inode_id: int, parent_id: int, name: str, kind: int = 2) -> ChangeRow:
    return ChangeRow(sequence, operation, inode_id, sequence, parent_id, name, None, None, kind, "u", 0, None)


# -- events and filters ----------------------------------------------------------------------------


def test_an_event_round_trips_through_its_stored_bytes() -> None:
    record = _record(7, "RENAME", "/x/y", previous_parent_id=3, previous_name="old", previous_path="/old",
                     app_id="job", ancestor_ids=(1, 3), read_count=0, sequence=99)  # fmt: skip
    assert event_from_bytes(event_to_bytes(record)) == record
    assert event_from_bytes(event_to_bytes(_record(1))).previous_parent_id is None


def test_a_prefix_is_a_path_boundary_not_a_string_prefix() -> None:
    assert path_is_within("/a/b", "/a") and path_is_within("/a", "/a/") and path_is_within("/x", "/")
    assert not path_is_within("/ab", "/a") and not path_is_within("/", "/a")


def test_filters_match_paths_previous_paths_ancestor_renames_and_operations() -> None:
    under = event_filter("/data/in/", [])
    assert under.prefix == "/data/in"
    assert under.matches(encode_event(_record(1, path="/data/in/f")))
    assert not under.matches(encode_event(_record(2, path="/data/inbox")))
    moved_out = _record(3, "RENAME", "/elsewhere", previous_path="/data/in/f")
    assert under.matches(encode_event(moved_out))
    ancestor_renamed = _record(4, "RENAME", "/archive", previous_path="/data")
    assert under.matches(encode_event(ancestor_renamed))
    assert not under.matches(encode_event(_record(5, "SET_OWNER", "/data")))
    creates = event_filter("", ["create"])
    assert creates.matches(encode_event(_record(6))) and not creates.matches(
        encode_event(_record(7, "DELETE"))
    )
    with pytest.raises(HopsFSError):
        event_filter("relative", [])


# -- the durable log -------------------------------------------------------------------------------


def test_the_log_appends_densely_and_keeps_everything_across_reopen(tmp_path: Path) -> None:
    durable_log = DurableLog(tmp_path / "log")
    log_id = durable_log.log_id
    durable_log.append(AppendBatch([_record(1), _record(2)], {5: (1, "d")}, {101: 1}, b"checkpoint-1"))
    with pytest.raises(InvariantViolation):
        durable_log.append(AppendBatch([_record(4)]))  # position 3 is missing
    durable_log.append(AppendBatch([_record(3)], {5: None}, {101: None}, b"checkpoint-2"))
    durable_log.close()
    reopened = DurableLog(tmp_path / "log")
    assert reopened.log_id == log_id
    assert (reopened.first_position, reopened.last_position) == (1, 3)
    assert reopened.checkpoint() == b"checkpoint-2"
    assert [record.position for record in reopened.read(2, 10)] == [2, 3]
    assert reopened.directory(5) is None and reopened.logical_time(101) is None
    reopened.close()


def test_retention_keeps_the_newest_events_and_never_passes_its_floor(tmp_path: Path) -> None:
    durable_log = DurableLog(tmp_path / "log")
    durable_log.append(AppendBatch([_record(position) for position in range(1, 21)], checkpoint=b"c"))
    policy = RetentionPolicy(events_max=5, age_s_max=3600)
    assert apply_retention(durable_log, policy, floor=10, now_s=6.0) == 9  # the floor holds it at 10
    assert durable_log.first_position == 10
    assert apply_retention(durable_log, policy, floor=21, now_s=6.0) == 6
    assert durable_log.first_position == 16
    assert durable_log.read(1, 3)[0].position == 16
    by_age = RetentionPolicy(events_max=1000, age_s_max=1.0)
    assert apply_retention(durable_log, by_age, floor=21, now_s=(5000 + 18) / 1000 + 1.0) == 2
    assert durable_log.first_position == 18
    with pytest.raises(InvalidArgument):
        RetentionPolicy(events_max=0, age_s_max=1.0)
    durable_log.close()


def test_a_checkpoint_round_trips_and_garbage_is_a_store_error() -> None:
    checkpoint = Checkpoint(backend="mysql", binlog_file="mariadb-bin.000003", binlog_position=4711)
    assert decode_checkpoint(checkpoint.encode()) == checkpoint
    with pytest.raises(StoreError):
        decode_checkpoint(b"{not json")


# -- first start -----------------------------------------------------------------------------------


def test_a_backlog_is_the_whole_history_only_if_it_replays_to_the_snapshot() -> None:
    backlog = [
        _row(1, "MKDIR", 16, 1, "a"),
        _row(2, "CREATE", 17, 16, "f", kind=1),
        _row(3, "RENAME", 16, 1, "b"),
        _row(4, "MKDIR", 18, 16, "c"),
        _row(5, "DELETE", 18, 16, "c"),
    ]
    inodes = [InodeEntry(1, 0, "", 2, 0), InodeEntry(16, 1, "b", 2, 2), InodeEntry(17, 16, "f", 1, 1)]
    assert history_is_complete(backlog, inodes)
    assert not history_is_complete(backlog[1:], inodes)  # trimmed: starts without the MKDIR
    assert not history_is_complete(backlog[:2], inodes)  # the snapshot has moved on
    assert history_is_complete([], [InodeEntry(1, 0, "", 2, 0)])


# -- search documents ------------------------------------------------------------------------------


def test_a_directory_rename_moves_descendant_paths_and_ancestors() -> None:
    inode = IndexedInode(9, "/a/b/c/f", (1, 2, 3, 4), "f", "o", "g", 1, 0o644, 10, 1, 1)
    after = moved(inode, "/a/b", "/x/y/z", (1, 7, 8), 3)
    assert after.path == "/x/y/z/c/f"
    assert after.ancestor_ids == (1, 7, 8, 3, 4)
    assert path_prefixes("/x/y/z") == ["/x", "/x/y", "/x/y/z"]
