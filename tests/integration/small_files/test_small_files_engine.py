"""Small files in the metadata store, at the engine: create-with-data, read-with-metadata, the batch
form, the per-directory threshold, and what delete, rename and overwrite do to the inline rows.
Runs on SQLite and MariaDB; every test ends with fsck (which checks the inline rows too)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, inspect, select, update
from support.fsck import assert_consistent

from hopsfs.errors import FileAlreadyExists, InvalidArgument, PermissionDenied, SchemaVersionMismatch
from hopsfs.types import Caller
from namenode import schema
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace
from namenode.ops.small_files import SmallFile

ROOT = Caller("hdfs")
ALICE = Caller("alice", ("users",))
# One size in each tier, the tier edges, a chunked file and the default threshold itself.
SIZES = (0, 1, 1024, 1025, 2000, 2001, 4000, 4001, 8000, 8001, 16000, 65536)


def _data(size: int, seed: int = 0) -> bytes:
    return bytes((index * 31 + seed) % 251 for index in range(size))


def _inline_row_count(namespace: Namespace) -> int:
    with namespace.store.engine.connect() as connection:
        return sum(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (*schema.inline_tier_tables, schema.inline_data)
        )


@pytest.mark.parametrize("size", SIZES)
def test_a_small_file_reads_back_with_its_status_in_one_call(namespace: Namespace, size: int) -> None:
    data = _data(size, size)
    created = namespace.create_with_data(ALICE, "/user/alice/f", data)
    assert created.status is not None and created.status.size == size
    assert not created.status.under_construction
    read = namespace.read_with_metadata(ALICE, "/user/alice/f")
    assert read.data == data
    assert read.status.size == size and read.status.inode_id == created.status.inode_id
    assert namespace.stat(ALICE, "/user/alice/f").size == size
    assert namespace.content_summary(ALICE, "/user/alice").length == size


def test_the_change_log_records_create_then_close_in_one_transaction(namespace: Namespace) -> None:
    before = len(namespace.read_changes(0, 10_000))
    namespace.create_with_data(ALICE, "/user/alice/logged", b"x" * 10)
    changes = namespace.read_changes(0, 10_000)[before:]
    assert [change.operation for change in changes if change.name == "logged"] == ["CREATE", "CLOSE"]


def test_a_file_over_the_threshold_is_refused_and_nothing_is_created(namespace: Namespace) -> None:
    created = namespace.create_with_data(
        ALICE, "/user/alice/big", _data(schema.INLINE_FILE_BYTES_DEFAULT + 1)
    )
    assert created.status is None and created.threshold_bytes == schema.INLINE_FILE_BYTES_DEFAULT
    assert not namespace.exists(ALICE, "/user/alice/big")
    assert _inline_row_count(namespace) == 0


def test_a_directory_policy_is_inherited_and_zero_forces_the_block_path(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/tiny/deeper")
    namespace.mkdirs(ALICE, "/user/alice/blocks")
    before = len(namespace.read_changes(0, 10_000))
    namespace.set_inline_threshold(ALICE, "/user/alice/tiny", 100)
    namespace.set_inline_threshold(ALICE, "/user/alice/blocks", 0)
    changes = namespace.read_changes(0, 10_000)[before:]
    assert [(change.operation, change.name) for change in changes] == [
        ("STORAGE_POLICY", "tiny"),
        ("STORAGE_POLICY", "blocks"),
    ]
    assert namespace.create_with_data(ALICE, "/user/alice/tiny/deeper/a", b"a" * 100).status is not None
    refused = namespace.create_with_data(ALICE, "/user/alice/tiny/deeper/b", b"b" * 101)
    assert refused.status is None and refused.threshold_bytes == 100
    assert namespace.create_with_data(ALICE, "/user/alice/blocks/c", b"c").status is None
    namespace.set_inline_threshold(ALICE, "/user/alice/tiny", None)  # back to the default
    assert namespace.create_with_data(ALICE, "/user/alice/tiny/deeper/b", b"b" * 101).status is not None
    with pytest.raises(PermissionDenied):
        namespace.set_inline_threshold(ALICE, "/user", 10)
    with pytest.raises(InvalidArgument):
        namespace.set_inline_threshold(ALICE, "/user/alice/tiny", schema.INLINE_FILE_BYTES_MAX + 1)
    with pytest.raises(InvalidArgument):
        namespace.set_inline_threshold(ALICE, "/user/alice/tiny/deeper/a", 10)
    namespace.delete(ALICE, "/user/alice/blocks", recursive=True)
    with namespace.store.engine.connect() as connection:
        remaining = connection.execute(select(func.count()).select_from(schema.inline_policies)).scalar_one()
    assert remaining == 0  # a policy goes with its directory


def test_overwrite_delete_and_rename_keep_the_rows_in_step(namespace: Namespace) -> None:
    namespace.create_with_data(ALICE, "/user/alice/f", _data(3000))
    with pytest.raises(FileAlreadyExists):
        namespace.create_with_data(ALICE, "/user/alice/f", b"again")
    namespace.create_with_data(ALICE, "/user/alice/f", _data(20_000, 7), overwrite=True)
    assert namespace.read_with_metadata(ALICE, "/user/alice/f").data == _data(20_000, 7)
    assert _inline_row_count(namespace) == 3  # 20,000 bytes: three 8000-byte chunk rows, the old row gone
    namespace.create_with_data(ALICE, "/user/alice/f", b"short", overwrite=True)
    assert _inline_row_count(namespace) == 1
    namespace.mkdirs(ALICE, "/user/alice/moved")
    namespace.rename(ALICE, "/user/alice/f", "/user/alice/moved/g")
    assert namespace.read_with_metadata(ALICE, "/user/alice/moved/g").data == b"short"
    assert _inline_row_count(namespace) == 1
    namespace.create(ALICE, "/user/alice/plain")  # a block-path file, replaced by a small one
    namespace.create_with_data(ALICE, "/user/alice/plain", b"now inline", overwrite=True)
    assert namespace.delete(ALICE, "/user/alice/moved", recursive=True)
    assert namespace.delete(ALICE, "/user/alice/plain", recursive=False)
    assert _inline_row_count(namespace) == 0


def test_a_block_file_reads_as_status_without_data(namespace: Namespace) -> None:
    namespace.create(ALICE, "/user/alice/empty-block-file")
    read = namespace.read_with_metadata(ALICE, "/user/alice/empty-block-file")
    assert read.data is None and read.status.size == 0


def test_append_and_block_reads_of_a_small_file_are_refused_clearly(namespace: Namespace) -> None:
    namespace.create_with_data(ALICE, "/user/alice/f", b"inline bytes")
    with pytest.raises(InvalidArgument, match="stored in the metadata store"):
        namespace.append(ALICE, "/user/alice/f", "client-1")
    with pytest.raises(InvalidArgument, match="stored in the metadata store"):
        namespace.get_block_locations(ALICE, "/user/alice/f", 0, 100)
    assert namespace.read_with_metadata(ALICE, "/user/alice/f").data == b"inline bytes"


def test_reading_needs_read_permission(namespace: Namespace) -> None:
    namespace.create_with_data(ALICE, "/user/alice/secret", b"s", permission=0o600)
    with pytest.raises(PermissionDenied):
        namespace.read_with_metadata(Caller("bob", ("others",)), "/user/alice/secret")


def test_a_batch_creates_all_its_files_or_none(namespace: Namespace) -> None:
    files = [
        SmallFile(f"/user/alice/batch/d{index % 3}/f{index}", _data(index * 37, index)) for index in range(50)
    ]
    statuses = namespace.batch_create_with_data(ALICE, files)
    assert isinstance(statuses, list) and len(statuses) == 50
    for entry in files:
        assert namespace.read_with_metadata(ALICE, entry.path).data == entry.data
    assert namespace.stat(ALICE, "/user/alice/batch/d0").children_count == 17
    again = [SmallFile("/user/alice/batch/new", b"n"), SmallFile("/user/alice/batch/d0/f0", b"clash")]
    with pytest.raises(FileAlreadyExists):
        namespace.batch_create_with_data(ALICE, again)
    assert not namespace.exists(ALICE, "/user/alice/batch/new")  # the whole batch rolled back
    too_big = [SmallFile("/user/alice/batch/ok", b"o"), SmallFile("/user/alice/batch/big", _data(70_000))]
    assert namespace.batch_create_with_data(ALICE, too_big).status is None  # type: ignore[union-attr]
    assert not namespace.exists(ALICE, "/user/alice/batch/ok")


def test_upgrade_from_schema_3_adds_the_small_file_tables(db_url: str) -> None:
    store = MetadataStore(db_url)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1)
    Namespace(store).create(ROOT, "/before-upgrade")
    for table in (*schema.inline_tier_tables, schema.inline_policies, schema.block_truncations):
        table.drop(store.engine)
    with store.engine.begin() as connection:
        connection.execute(delete(schema.inline_data))
        connection.execute(
            update(schema.settings).where(schema.settings.c.name == "schema_version").values(value="3")
        )
    store.dispose()
    store = MetadataStore(db_url)
    with pytest.raises(SchemaVersionMismatch, match="upgrade"):
        Namespace(store)
    assert store.upgrade() == (3, schema.SCHEMA_VERSION)
    assert schema.block_truncations.name in inspect(store.engine).get_table_names()
    namespace = Namespace(store)
    try:
        namespace.create_with_data(ROOT, "/after", b"small")
        assert namespace.read_with_metadata(ROOT, "/after").data == b"small"
        assert namespace.truncate(ROOT, "/after", 2, "truncator")
        assert namespace.read_with_metadata(ROOT, "/after").data == b"sm"
        assert namespace.exists(ROOT, "/before-upgrade")
    finally:
        namespace.close()
    assert_consistent(db_url)


def test_a_full_batch_takes_more_ids_than_one_allocator_batch(namespace: Namespace) -> None:
    files = [SmallFile(f"/user/alice/full/f{index}", b"%d" % index) for index in range(1000)]
    statuses = namespace.batch_create_with_data(ALICE, files)
    assert isinstance(statuses, list) and len({status.inode_id for status in statuses}) == 1000
    assert namespace.stat(ALICE, "/user/alice/full").children_count == 1000
    with pytest.raises(InvalidArgument):
        namespace.batch_create_with_data(ALICE, [*files, SmallFile("/user/alice/full/extra", b"")])
