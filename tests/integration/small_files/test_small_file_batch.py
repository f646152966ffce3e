"""The bulk path of batchCreateWithData (namenode/ops/small_file_batch.py) at the engine: a batch
answers, writes and logs what creating its files one after another in one transaction would, and
creates nothing when one file cannot be created. Runs on SQLite and MariaDB; every test ends with
fsck (inline rows, child counts, unique names)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hopsfs.errors import FileAlreadyExists, ParentNotDirectory, PermissionDenied, UnresolvedLink
from hopsfs.types import Caller, InodeKind
from namenode import schema
from namenode.engine.namespace import Namespace
from namenode.ops.small_files import SmallFile

ROOT = Caller("hdfs")
ALICE = Caller("alice", ("users",))


def _changes(namespace: Namespace, after: int = 0) -> list[tuple[str, str, int]]:
    """(operation, name, logical time) of the change-log rows after sequence `after`, in order."""
    table = schema.change_log
    query = (
        select(table.c.operation, table.c.name, table.c.logical_time)
        .where(table.c.sequence > after)
        .order_by(table.c.sequence)
    )
    with namespace.store.engine.connect() as connection:
        return [(str(operation), str(name), int(time)) for operation, name, time in connection.execute(query)]


def _last_sequence(namespace: Namespace) -> int:
    with namespace.store.engine.connect() as connection:
        return int(connection.execute(select(func.max(schema.change_log.c.sequence))).scalar_one() or 0)


def _inode_count(namespace: Namespace) -> int:
    with namespace.store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(schema.inodes)).scalar_one())


def test_a_batch_over_several_new_directories_matches_one_create_at_a_time(namespace: Namespace) -> None:
    names = ("a/x/f1", "a/f2", "a/x/f3", "b/deep/er/f4", "a/y/f5", "f6")
    batch = [SmallFile(f"/user/alice/batch/{name}", name.encode() * 3) for name in names]
    start = _last_sequence(namespace)
    statuses = namespace.batch_create_with_data(ALICE, batch)
    batch_changes = _changes(namespace, start)
    start = _last_sequence(namespace)
    for entry in batch:
        one = namespace.create_with_data(ALICE, entry.path.replace("/batch/", "/single/"), entry.data)
        assert one.status is not None
    single_changes = _changes(namespace, start)
    assert [row for row in batch_changes if row[1] != "batch"] == [
        row for row in single_changes if row[1] != "single"
    ]
    assert isinstance(statuses, list) and [status.path for status in statuses] == [e.path for e in batch]
    for entry, status in zip(batch, statuses, strict=True):
        assert status.kind is InodeKind.FILE and status.size == len(entry.data) and status.owner == "alice"
        assert namespace.read_with_metadata(ALICE, entry.path).data == entry.data
        single = namespace.stat(ALICE, entry.path.replace("/batch/", "/single/"))
        assert (single.permission, single.group) == (status.permission, status.group)
    for directory in ("", "/a", "/a/x", "/a/y", "/b", "/b/deep", "/b/deep/er"):
        listed = namespace.stat(ALICE, f"/user/alice/batch{directory}")
        single = namespace.stat(ALICE, f"/user/alice/single{directory}")
        assert (listed.children_count, listed.permission) == (single.children_count, single.permission)


def test_a_batch_with_one_name_already_present_creates_nothing(namespace: Namespace) -> None:
    namespace.create_with_data(ALICE, "/user/alice/d2/taken", b"first")
    inodes = _inode_count(namespace)
    start = _last_sequence(namespace)
    batch = [
        SmallFile("/user/alice/d1/new/f", b"1"),
        SmallFile("/user/alice/d2/free", b"2"),
        SmallFile("/user/alice/d2/taken", b"3"),
        SmallFile("/user/alice/d3/f", b"4"),
    ]
    with pytest.raises(FileAlreadyExists, match="taken"):
        namespace.batch_create_with_data(ALICE, batch)
    assert _inode_count(namespace) == inodes and _changes(namespace, start) == []
    assert not namespace.exists(ALICE, "/user/alice/d1")
    assert namespace.read_with_metadata(ALICE, "/user/alice/d2/taken").data == b"first"
    assert namespace.stat(ALICE, "/user/alice/d2").children_count == 1


def test_a_batch_where_one_directory_forbids_writing_creates_nothing(namespace: Namespace) -> None:
    namespace.mkdirs(ROOT, "/user/alice/locked", 0o755)  # owned by hdfs: alice may not write in it
    inodes = _inode_count(namespace)
    batch = [
        SmallFile("/user/alice/open/f1", b"1"),
        SmallFile("/user/alice/locked/f2", b"2"),
        SmallFile("/user/alice/open/f3", b"3"),
    ]
    with pytest.raises(PermissionDenied, match="WRITE"):
        namespace.batch_create_with_data(ALICE, batch)
    assert _inode_count(namespace) == inodes
    assert not namespace.exists(ALICE, "/user/alice/open")
    bob = Caller("bob", ("others",))
    namespace.set_permission(ROOT, "/user/alice", 0o750)  # bob cannot traverse it either
    with pytest.raises(PermissionDenied, match="EXECUTE"):
        namespace.batch_create_with_data(bob, [SmallFile("/user/alice/locked/f", b"b")])
    assert _inode_count(namespace) == inodes


def test_overwrite_replaces_existing_files_and_an_earlier_file_of_the_batch(namespace: Namespace) -> None:
    namespace.create_with_data(ALICE, "/user/alice/o/old", b"old bytes" * 500)
    namespace.create_with_data(ALICE, "/user/alice/o/keep", b"kept")
    batch = [
        SmallFile("/user/alice/o/old", b"new"),
        SmallFile("/user/alice/o/twice", b"first" * 900),
        SmallFile("/user/alice/o/twice", b"second"),
    ]
    with pytest.raises(FileAlreadyExists):
        namespace.batch_create_with_data(ALICE, batch)
    start = _last_sequence(namespace)
    statuses = namespace.batch_create_with_data(ALICE, batch, overwrite=True)
    assert isinstance(statuses, list) and len(statuses) == 3
    assert statuses[1].inode_id != statuses[2].inode_id
    assert namespace.read_with_metadata(ALICE, "/user/alice/o/old").data == b"new"
    assert namespace.read_with_metadata(ALICE, "/user/alice/o/twice").data == b"second"
    assert namespace.read_with_metadata(ALICE, "/user/alice/o/keep").data == b"kept"
    assert namespace.stat(ALICE, "/user/alice/o").children_count == 3
    operations = [(operation, name) for operation, name, _ in _changes(namespace, start)]
    assert operations == [
        ("DELETE", "old"),
        ("CREATE", "old"),
        ("CLOSE", "old"),
        ("CREATE", "twice"),
        ("CLOSE", "twice"),
        ("DELETE", "twice"),
        ("CREATE", "twice"),
        ("CLOSE", "twice"),
    ]


def test_a_file_of_the_batch_in_the_way_of_another_refuses_the_batch(namespace: Namespace) -> None:
    inodes = _inode_count(namespace)
    batch = [SmallFile("/user/alice/w/f", b"file"), SmallFile("/user/alice/w/f/g", b"below a file")]
    with pytest.raises(ParentNotDirectory):
        namespace.batch_create_with_data(ALICE, batch)
    batch = [SmallFile("/user/alice/w/d/g", b"makes d"), SmallFile("/user/alice/w/d", b"a file on d")]
    with pytest.raises(FileAlreadyExists, match="as a directory"):
        namespace.batch_create_with_data(ALICE, batch, overwrite=True)
    assert _inode_count(namespace) == inodes


def test_a_symlink_on_the_way_refuses_the_batch(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/real")
    namespace.create_symlink(ALICE, "/user/alice/real", "/user/alice/link")
    inodes = _inode_count(namespace)
    batch = [SmallFile("/user/alice/ok/f", b"1"), SmallFile("/user/alice/link/f", b"2")]
    with pytest.raises(UnresolvedLink):
        namespace.batch_create_with_data(ALICE, batch)
    assert _inode_count(namespace) == inodes


def test_each_directory_applies_its_own_threshold(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/t/small")
    namespace.set_inline_threshold(ALICE, "/user/alice/t/small", 100)
    fits = [SmallFile("/user/alice/t/big/f", b"x" * 5000), SmallFile("/user/alice/t/small/sub/f", b"y" * 100)]
    statuses = namespace.batch_create_with_data(ALICE, fits)
    assert isinstance(statuses, list) and len(statuses) == 2
    inodes = _inode_count(namespace)
    refused = namespace.batch_create_with_data(
        ALICE, [SmallFile("/user/alice/t/big/g", b"x" * 5000), SmallFile("/user/alice/t/small/g", b"y" * 101)]
    )
    assert not isinstance(refused, list)
    assert refused.status is None and refused.threshold_bytes == 100
    assert _inode_count(namespace) == inodes


def test_a_batch_of_many_files_in_one_directory_reads_back(namespace: Namespace) -> None:
    batch = [SmallFile(f"/user/alice/many/f{index:04}", b"%d" % index * 97) for index in range(1000)]
    statuses = namespace.batch_create_with_data(ALICE, batch)
    assert isinstance(statuses, list) and len({status.inode_id for status in statuses}) == 1000
    listing = namespace.list(ALICE, "/user/alice/many")
    assert [status.name for status in listing.entries] == [f"f{index:04}" for index in range(1000)]
    for index in (0, 499, 999):
        assert namespace.read_with_metadata(ALICE, batch[index].path).data == batch[index].data
