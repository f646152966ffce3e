"""Namespace operations on both backends: the behaviours a user of HDFS relies on, one by one.

The hypothesis model test (tests/property) covers random interleavings; these pin down specific
semantics, error types and bounds, and each ends with fsck.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.fsck import assert_consistent

from hopsfs import limits
from hopsfs.errors import (
    AlreadyFormatted,
    DirectoryNotEmpty,
    FileAlreadyExists,
    FileNotFound,
    InvalidArgument,
    InvalidPath,
    InvalidRename,
    LimitExceeded,
    NotFormatted,
    ParentNotDirectory,
    PermissionDenied,
    SchemaVersionMismatch,
    UnresolvedLink,
    XAttrNotFound,
)
from hopsfs.types import Caller, InodeKind, XAttrSetFlag
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

ROOT = Caller("hdfs")
ALICE = Caller("alice", ("users",))
BOB = Caller("bob", ("users",))
CAROL = Caller("carol")


@pytest.fixture(name="namespace")
def namespace_fixture(db_url_every_driver: str) -> Iterator[Namespace]:
    db_url = db_url_every_driver
    store = MetadataStore(db_url)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1)
    namespace = Namespace(store)
    namespace.mkdirs(ROOT, "/user/alice", 0o755)
    namespace.set_owner(ROOT, "/user/alice", "alice", "users")
    yield namespace
    namespace.close()
    assert_consistent(db_url.replace("mariadb+mariadbconnector://", "mysql+pymysql://", 1))


def test_format_refuses_a_formatted_store_and_open_refuses_an_empty_one(db_url: str) -> None:
    store = MetadataStore(db_url)
    with pytest.raises(NotFormatted, match="hopsfs format"):
        Namespace(store)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1)
    with pytest.raises(AlreadyFormatted, match="--force"):
        store.format(superuser="hdfs", supergroup="supergroup", now_ms=2)
    namespace = Namespace(store)
    namespace.mkdirs(ROOT, "/keep")
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=3, force=True)
    assert not Namespace(store).exists(ROOT, "/keep")
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE settings SET value = '999' WHERE name = 'schema_version'")
    with pytest.raises(SchemaVersionMismatch):
        Namespace(store)
    store.dispose()


def test_mkdirs_semantics(namespace: Namespace) -> None:
    assert namespace.mkdirs(ALICE, "/user/alice/a/b/c", 0o750)
    assert namespace.stat(ALICE, "/user/alice/a/b/c").permission == 0o750
    assert namespace.stat(ALICE, "/user/alice/a").permission == 0o750 | 0o300
    assert namespace.mkdirs(ALICE, "/user/alice/a")  # existing directory: true, as in HDFS
    with pytest.raises(FileNotFound):
        namespace.mkdirs(ALICE, "/user/alice/x/y", create_parent=False)
    namespace.create(ALICE, "/user/alice/file")
    with pytest.raises(FileAlreadyExists, match="not a directory"):
        namespace.mkdirs(ALICE, "/user/alice/file")
    with pytest.raises(ParentNotDirectory):
        namespace.mkdirs(ALICE, "/user/alice/file/sub")
    with pytest.raises(PermissionDenied, match="user=bob, access=WRITE"):
        namespace.mkdirs(BOB, "/user/alice/bobs")
    with pytest.raises(InvalidArgument):
        namespace.mkdirs(ALICE, "/user/alice/bad", 0o10000)


def test_create_semantics(namespace: Namespace) -> None:
    status = namespace.create(ALICE, "/user/alice/f", 0o600, replication=2, block_size=1 << 20)
    assert (status.kind, status.owner, status.group, status.replication) == (
        InodeKind.FILE,
        "alice",
        "users",
        2,
    )
    with pytest.raises(FileAlreadyExists):
        namespace.create(ALICE, "/user/alice/f")
    replaced = namespace.create(ALICE, "/user/alice/f", overwrite=True)
    assert replaced.inode_id != status.inode_id
    namespace.mkdirs(ALICE, "/user/alice/sub")
    with pytest.raises(FileAlreadyExists, match="directory"):
        namespace.create(ALICE, "/user/alice/sub", overwrite=True)
    with pytest.raises(PermissionDenied):  # HDFS checks WRITE on the parent before what exists
        namespace.create(ALICE, "/user/alice", overwrite=True)
    with pytest.raises(FileNotFound):
        namespace.create(ALICE, "/user/alice/no/such/f", create_parent=False)
    assert namespace.create(ALICE, "/user/alice/made/on/the/way").is_file
    with pytest.raises(InvalidArgument, match="replication"):
        namespace.create(ALICE, "/user/alice/g", replication=0)
    with pytest.raises(InvalidArgument, match="block size"):
        namespace.create(ALICE, "/user/alice/g", block_size=1000)
    with pytest.raises(FileAlreadyExists):
        namespace.create(ROOT, "/")


def test_names_are_case_sensitive_unicode_and_listed_in_byte_order(namespace: Namespace) -> None:
    names = ["b", "B", "Ärger", "ärger", "a b", "z", "ß", "日本"]
    for name in names:
        namespace.create(ALICE, f"/user/alice/{name}")
    listed = [entry.name for entry in namespace.list(ALICE, "/user/alice").entries]
    assert listed == sorted(names, key=lambda name: name.encode("utf-8"))


def test_listing_pages_with_start_after_and_remaining(namespace: Namespace) -> None:
    for index in range(25):
        namespace.create(ALICE, f"/user/alice/f{index:03d}")
    first = namespace.list(ALICE, "/user/alice", limit=10)
    assert [entry.name for entry in first.entries] == [f"f{index:03d}" for index in range(10)]
    assert first.remaining == 15
    last = namespace.list(ALICE, "/user/alice", start_after="f019", limit=10)
    assert [entry.name for entry in last.entries] == [f"f{index:03d}" for index in range(20, 25)]
    assert last.remaining == 0
    assert len(namespace.list_all(ALICE, "/user/alice")) == 25
    file_listing = namespace.list(ALICE, "/user/alice/f000")
    assert [entry.path for entry in file_listing.entries] == ["/user/alice/f000"]
    with pytest.raises(InvalidArgument):
        namespace.list(ALICE, "/user/alice", limit=0)


def test_root_listing_spans_its_hash_partitions(namespace: Namespace) -> None:
    names = [f"top{index:02d}" for index in range(40)]
    for name in names:
        namespace.mkdirs(ROOT, f"/{name}")
    listed = [entry.name for entry in namespace.list_all(ROOT, "/")]
    assert listed == sorted([*names, "user"])
    page = namespace.list(ROOT, "/", limit=7)
    assert len(page.entries) == 7 and page.remaining == len(names) + 1 - 7


def test_delete_semantics(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/d/e")
    namespace.create(ALICE, "/user/alice/d/e/f")
    with pytest.raises(DirectoryNotEmpty):
        namespace.delete(ALICE, "/user/alice/d")
    assert not namespace.delete(ALICE, "/user/alice/missing")
    assert not namespace.delete(ROOT, "/", recursive=True)
    with pytest.raises(PermissionDenied):
        namespace.delete(CAROL, "/user/alice/d", recursive=True)
    assert namespace.delete(ALICE, "/user/alice/d", recursive=True)
    assert not namespace.exists(ALICE, "/user/alice/d")
    assert namespace.stat(ALICE, "/user/alice").children_count == 0


def test_recursive_delete_needs_all_access_on_every_directory(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/shared")
    namespace.set_permission(ALICE, "/user/alice/shared", 0o777)
    namespace.mkdirs(BOB, "/user/alice/shared/bobs/deep")
    namespace.set_permission(BOB, "/user/alice/shared/bobs/deep", 0o555)
    with pytest.raises(PermissionDenied):
        namespace.delete(ALICE, "/user/alice/shared", recursive=True)
    assert namespace.exists(ALICE, "/user/alice/shared/bobs/deep")


def test_sticky_directory(namespace: Namespace) -> None:
    namespace.mkdirs(ROOT, "/tmp", 0o1777)
    namespace.create(ALICE, "/tmp/alices")
    with pytest.raises(PermissionDenied, match="sticky"):
        namespace.delete(BOB, "/tmp/alices")
    with pytest.raises(PermissionDenied, match="sticky"):
        namespace.rename(BOB, "/tmp/alices", "/tmp/bobs")
    assert namespace.delete(ALICE, "/tmp/alices")
    namespace.create(ALICE, "/tmp/a", 0o666)
    namespace.create(BOB, "/tmp/b", 0o666)
    with pytest.raises(PermissionDenied, match="sticky"):  # POSIX; HDFS would only check WRITE here
        namespace.rename(BOB, "/tmp/b", "/tmp/a", overwrite=True)
    assert namespace.stat(ROOT, "/tmp/a").owner == "alice"


def test_rename2_semantics(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/src/inner")
    namespace.create(ALICE, "/user/alice/file")
    namespace.mkdirs(ALICE, "/user/alice/empty")
    with pytest.raises(FileNotFound):
        namespace.rename(ALICE, "/user/alice/none", "/user/alice/x")
    with pytest.raises(FileAlreadyExists, match="same"):
        namespace.rename(ALICE, "/user/alice/file", "/user/alice/file")
    with pytest.raises(InvalidRename, match="under source"):
        namespace.rename(ALICE, "/user/alice/src", "/user/alice/src/inner/x")
    with pytest.raises(FileNotFound):
        namespace.rename(ALICE, "/user/alice/file", "/user/alice/nodir/x")
    with pytest.raises(ParentNotDirectory):
        namespace.rename(ALICE, "/user/alice/src", "/user/alice/file/x")
    with pytest.raises(FileAlreadyExists):
        namespace.rename(ALICE, "/user/alice/src", "/user/alice/empty")
    with pytest.raises(InvalidRename, match="file"):
        namespace.rename(ALICE, "/user/alice/src", "/user/alice/file", overwrite=True)
    with pytest.raises(InvalidRename, match="not empty"):
        namespace.rename(ALICE, "/user/alice/empty", "/user/alice/src", overwrite=True)
    source_id = namespace.stat(ALICE, "/user/alice/src").inode_id
    namespace.rename(ALICE, "/user/alice/src", "/user/alice/empty", overwrite=True)
    moved = namespace.stat(ALICE, "/user/alice/empty")
    assert moved.inode_id == source_id and moved.children_count == 1
    assert namespace.exists(ALICE, "/user/alice/empty/inner")
    with pytest.raises(InvalidRename):
        namespace.rename(ROOT, "/", "/x")


def test_legacy_rename_moves_into_directories_and_returns_false_on_conflict(namespace: Namespace) -> None:
    namespace.create(ALICE, "/user/alice/f")
    namespace.mkdirs(ALICE, "/user/alice/d")
    assert namespace.rename_legacy(ALICE, "/user/alice/f", "/user/alice/d")
    assert namespace.exists(ALICE, "/user/alice/d/f")
    namespace.create(ALICE, "/user/alice/f")
    assert not namespace.rename_legacy(ALICE, "/user/alice/f", "/user/alice/d")  # d/f exists
    assert not namespace.rename_legacy(ALICE, "/user/alice/f", "/user/alice/none/g")
    assert namespace.rename_legacy(ALICE, "/user/alice/f", "/user/alice/f")


def test_directory_rename_keeps_the_subtree_and_refreshes_stale_hints(namespace: Namespace) -> None:
    other = Namespace(MetadataStore(namespace.store.url))
    namespace.mkdirs(ALICE, "/user/alice/a/b/c")
    assert other.exists(ALICE, "/user/alice/a/b/c")  # warms the other namenode's hints
    namespace.rename(ALICE, "/user/alice/a", "/user/alice/z")
    namespace.mkdirs(ALICE, "/user/alice/a/b")  # a new inode under the old name
    assert not other.exists(ALICE, "/user/alice/a/b/c")
    assert other.exists(ALICE, "/user/alice/z/b/c")
    assert other.context.hint_cache.repairs >= 1
    other.close()


def test_attributes(namespace: Namespace) -> None:
    namespace.create(ALICE, "/user/alice/f")
    with pytest.raises(PermissionDenied):
        namespace.set_permission(BOB, "/user/alice/f", 0o777)
    namespace.set_permission(ALICE, "/user/alice/f", 0o1640)
    assert namespace.stat(BOB, "/user/alice/f").permission == 0o1640
    with pytest.raises(PermissionDenied, match="super user"):
        namespace.set_owner(ALICE, "/user/alice/f", "bob")
    with pytest.raises(PermissionDenied, match="does not belong"):
        namespace.set_owner(ALICE, "/user/alice/f", group="eng")
    namespace.set_owner(ROOT, "/user/alice/f", "bob", "eng")
    status = namespace.stat(ALICE, "/user/alice/f")
    assert (status.owner, status.group) == ("bob", "eng")
    namespace.set_times(ROOT, "/user/alice/f", 1234, -1)
    status = namespace.stat(ALICE, "/user/alice/f")
    assert status.modification_time_ms == 1234 and status.access_time_ms > 1234
    assert namespace.set_replication(ROOT, "/user/alice/f", 5)
    assert namespace.stat(ALICE, "/user/alice/f").replication == 5
    assert not namespace.set_replication(ROOT, "/user/alice", 5)
    with pytest.raises(InvalidArgument):
        namespace.set_replication(ROOT, "/user/alice/f", limits.REPLICATION_MAX + 1)
    with pytest.raises(InvalidArgument):
        namespace.set_times(ROOT, "/user/alice/f", -5, -1)


def test_traverse_needs_execute_on_every_ancestor(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/private/inner")
    namespace.set_permission(ALICE, "/user/alice/private", 0o700)
    with pytest.raises(PermissionDenied, match="EXECUTE"):
        namespace.stat(BOB, "/user/alice/private/inner")
    with pytest.raises(PermissionDenied, match="READ_EXECUTE"):
        namespace.list(BOB, "/user/alice/private")
    assert namespace.stat(ROOT, "/user/alice/private/inner").is_directory


def test_xattrs(namespace: Namespace) -> None:
    namespace.create(ALICE, "/user/alice/f")
    namespace.set_xattr(ALICE, "/user/alice/f", "user.color", b"red", XAttrSetFlag.CREATE)
    with pytest.raises(FileAlreadyExists):
        namespace.set_xattr(ALICE, "/user/alice/f", "user.color", b"blue", XAttrSetFlag.CREATE)
    with pytest.raises(XAttrNotFound):
        namespace.set_xattr(ALICE, "/user/alice/f", "user.size", b"1", XAttrSetFlag.REPLACE)
    namespace.set_xattr(ALICE, "/user/alice/f", "user.color", b"blue", XAttrSetFlag.REPLACE)
    namespace.set_xattr(ROOT, "/user/alice/f", "trusted.secret", b"\x00\xff")
    assert namespace.get_xattrs(ALICE, "/user/alice/f") == {"user.color": b"blue"}
    assert namespace.get_xattrs(ROOT, "/user/alice/f") == {
        "trusted.secret": b"\x00\xff",
        "user.color": b"blue",
    }
    assert namespace.list_xattrs(ALICE, "/user/alice/f") == ["user.color"]
    with pytest.raises(PermissionDenied):
        namespace.set_xattr(ALICE, "/user/alice/f", "trusted.mine", b"x")
    with pytest.raises(InvalidArgument):
        namespace.set_xattr(ALICE, "/user/alice/f", "security.x", b"x")
    with pytest.raises(LimitExceeded):
        namespace.set_xattr(ALICE, "/user/alice/f", "user.big", b"x" * limits.XATTR_SIZE_BYTES_MAX)
    with pytest.raises(XAttrNotFound):
        namespace.get_xattrs(ALICE, "/user/alice/f", ["user.none"])
    namespace.remove_xattr(ALICE, "/user/alice/f", "user.color")
    with pytest.raises(XAttrNotFound):
        namespace.remove_xattr(ALICE, "/user/alice/f", "user.color")
    for index in range(limits.XATTRS_PER_INODE_MAX - 1):
        namespace.set_xattr(ALICE, "/user/alice/f", f"user.k{index}", b"v")
    with pytest.raises(LimitExceeded):
        namespace.set_xattr(ALICE, "/user/alice/f", "user.one_too_many", b"v")
    namespace.delete(ALICE, "/user/alice/f")  # fsck checks its xattrs went with it


def test_symlinks(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/real")
    link = namespace.create_symlink(ALICE, "/user/alice/real", "/user/alice/link")
    assert link.kind is InodeKind.SYMLINK and link.symlink_target == "/user/alice/real"
    assert namespace.get_link_target(ALICE, "/user/alice/link") == "/user/alice/real"
    with pytest.raises(UnresolvedLink) as caught:
        namespace.stat(ALICE, "/user/alice/link/child")
    assert (caught.value.link_path, caught.value.remainder) == ("/user/alice/link", "/child")
    with pytest.raises(FileAlreadyExists):
        namespace.create_symlink(ALICE, "/elsewhere", "/user/alice/link")
    with pytest.raises(InvalidArgument):
        namespace.get_link_target(ALICE, "/user/alice/real")
    with pytest.raises(InvalidPath):
        namespace.create_symlink(ALICE, "", "/user/alice/empty_target")


def test_content_summary(namespace: Namespace) -> None:
    namespace.mkdirs(ALICE, "/user/alice/s/t")
    for index in range(3):
        namespace.create(ALICE, f"/user/alice/s/t/f{index}")
    namespace.create_symlink(ALICE, "/x", "/user/alice/s/l")
    summary = namespace.content_summary(ALICE, "/user/alice/s")
    assert (summary.directory_count, summary.file_count, summary.symlink_count) == (2, 3, 1)


def test_every_change_is_logged_in_order_with_per_inode_logical_time(namespace: Namespace) -> None:
    start = namespace.read_changes()[-1].sequence
    namespace.create(ALICE, "/user/alice/f")
    namespace.set_permission(ALICE, "/user/alice/f", 0o600)
    namespace.rename(ALICE, "/user/alice/f", "/user/alice/g")
    namespace.delete(ALICE, "/user/alice/g")
    with pytest.raises(FileNotFound):
        namespace.set_permission(ALICE, "/user/alice/g", 0o600)  # a refused operation logs nothing
    changes = namespace.read_changes(start)
    assert [change.operation for change in changes] == ["CREATE", "SET_PERMISSION", "RENAME", "DELETE"]
    assert len({change.inode_id for change in changes}) == 1
    assert [change.logical_time for change in changes] == [1, 2, 3, 4]
    assert (changes[2].previous_name, changes[2].name) == ("f", "g")
    assert all(change.user == "alice" for change in changes)
