"""The namenode's read aggregator: one READ change-log row per (inode, user, app) and window, with the
count of reads, written in one transaction; bounded; a failed flush keeps its reads for the next."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hopsfs.errors import HopsFSError
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace
from namenode.engine.read_provenance import ReadRecorder


def _store(tmp_path: Path) -> MetadataStore:
    store = MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}")
    store.format(superuser="root", supergroup="supergroup", now_ms=1)
    return store


def test_reads_are_counted_per_inode_user_and_app_and_flushed_as_read_rows(tmp_path: Path) -> None:
    store = _store(tmp_path)
    clock = iter(range(1000, 2000))  # read only when a key first appears in a window
    recorder = ReadRecorder(clock_ms=lambda: next(clock))
    for _ in range(3):
        recorder.record(20, 16, "a.csv", "alice", "job-1")
    recorder.record(20, 16, "renamed.csv", "alice", "job-1")  # the last location wins
    recorder.record(20, 16, "a.csv", "bob", None)
    recorder.record(21, 16, "b.csv", "alice", "job-1")
    assert recorder.pending_keys == 3
    assert recorder.flush(store) == 3
    assert recorder.flush(store) == 0
    rows = Namespace(store).read_changes()
    found = sorted(
        (r.operation, r.inode_id, r.user, r.app_id, r.logical_time, r.name, r.time_ms) for r in rows
    )
    assert found == [
        ("READ", 20, "alice", "job-1", 4, "renamed.csv", 1000),
        ("READ", 20, "bob", None, 1, "a.csv", 1001),
        ("READ", 21, "alice", "job-1", 1, "b.csv", 1002),
    ]
    store.dispose()


def test_the_recorder_is_bounded_and_counts_what_it_drops(tmp_path: Path) -> None:
    recorder = ReadRecorder(keys_max=2)
    for inode_id in range(5):
        recorder.record(inode_id, 1, "f", "u", "app")
    recorder.record(0, 1, "f", "u", "app")  # a known key still counts
    assert recorder.pending_keys == 2
    assert recorder.dropped == 3


def test_a_failed_flush_keeps_its_reads_for_the_next_one(tmp_path: Path) -> None:
    store = _store(tmp_path)
    recorder = ReadRecorder()
    recorder.record(30, 16, "f", "alice", "job")
    engine = create_engine(store.url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE change_log RENAME TO change_log_away"))
    with pytest.raises(HopsFSError):
        recorder.flush(store)
    recorder.record(30, 16, "f", "alice", "job")
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE change_log_away RENAME TO change_log"))
    store.dispose()
    store = MetadataStore(store.url)
    assert recorder.flush(store) == 1
    (row,) = Namespace(store).read_changes()
    assert (row.operation, row.logical_time) == ("READ", 2)
    engine.dispose()
    store.dispose()
