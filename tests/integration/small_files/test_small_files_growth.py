"""The growth path at the engine: appendInline reopens a small file with its bytes and keeps them
in the store; lease recovery of an append that never completed drops its blocks and closes the file
as it was; completing it moves the file to blocks and drops the inline rows in that transaction.
Readers see the old bytes until then. SQLite and MariaDB; fsck after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.fsck import assert_consistent

from hopsfs.errors import InvalidArgument, LeaseConflict
from hopsfs.types import Caller
from namenode.block_entities import DatanodeRegistration, StorageReport
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

ROOT = Caller("hdfs")
OTHER = Caller("hdfs", app_id="recoverer")
OLD = bytes(range(256)) * 20  # 5120 bytes: the chunked tier


@pytest.fixture(name="namespace")
def namespace_fixture(db_url: str) -> Iterator[Namespace]:
    store = MetadataStore(db_url)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1)
    namespace = Namespace(store)
    now_ms = namespace.context.clock_ms()  # add_block judges liveness by the real clock
    registration = DatanodeRegistration("dn", "storage", "host", 9866)
    namespace.block_manager.register_datanode(registration, StorageReport(1 << 40, 0, 1 << 40), now_ms)
    yield namespace
    namespace.close()
    assert_consistent(db_url)


def test_append_inline_hands_over_the_bytes_and_readers_still_see_them(namespace: Namespace) -> None:
    namespace.create_with_data(ROOT, "/f", OLD)
    reopened = namespace.append_inline(ROOT, "/f", "writer")
    assert reopened.data == OLD and reopened.status.under_construction
    read = namespace.read_with_metadata(ROOT, "/f")
    assert read.data == OLD and read.status.size == len(OLD)
    with pytest.raises(LeaseConflict):
        namespace.append_inline(ROOT, "/f", "another-writer")
    with pytest.raises(InvalidArgument, match="metadata store"):
        namespace.append(ROOT, "/f", "hdfs-client")  # the HDFS call cannot carry the bytes
    namespace.create(ROOT, "/blocks")
    assert namespace.append_inline(ROOT, "/blocks", "writer").data is None  # left alone
    assert not namespace.stat(ROOT, "/blocks").under_construction


@pytest.mark.parametrize("with_block", [False, True])
def test_lease_recovery_of_an_unfinished_append_restores_the_small_file(
    namespace: Namespace, with_block: bool
) -> None:
    namespace.create_with_data(ROOT, "/f", OLD)
    namespace.append_inline(ROOT, "/f", "writer")
    if with_block:
        located = namespace.add_block(ROOT, "/f", "writer", None)
        assert located.offset == 0  # the old bytes go first, into the file's first block
    namespace.recover_lease(OTHER, "/f", "recoverer")
    status = namespace.stat(ROOT, "/f")
    assert not status.under_construction and status.size == len(OLD)
    assert namespace.read_with_metadata(ROOT, "/f").data == OLD
    with pytest.raises(InvalidArgument, match="metadata store"):
        namespace.get_block_locations(ROOT, "/f", 0, 10)  # still inline: no blocks


def test_completing_the_append_moves_the_file_to_blocks(namespace: Namespace) -> None:
    namespace.create_with_data(ROOT, "/f", b"")
    namespace.append_inline(ROOT, "/f", "writer")
    assert namespace.complete(ROOT, "/f", "writer")  # nothing appended: an empty file in blocks
    read = namespace.read_with_metadata(ROOT, "/f")
    assert read.data is None and read.status.size == 0
    assert namespace.get_block_locations(ROOT, "/f", 0, 10).blocks == []


def test_deleting_a_file_mid_append_drops_its_inline_rows(namespace: Namespace) -> None:
    namespace.create_with_data(ROOT, "/f", OLD[:100])
    namespace.append_inline(ROOT, "/f", "writer")
    namespace.add_block(ROOT, "/f", "writer", None)
    assert namespace.delete(ROOT, "/f")
