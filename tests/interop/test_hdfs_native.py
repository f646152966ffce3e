"""hdfs-native (the Rust HDFS client, through its Python bindings and its fsspec driver) against a real
namenode process.

Every answer is checked field by field; errors are checked for the exception hdfs-native raises.
hdfs-native 0.14.7 turns FileNotFoundException and FileAlreadyExistsException into FileNotFoundError
and FileExistsError, and every other Java exception into RuntimeError('RPCError("<class>", "<message>")'),
AccessControlException included, so permission failures are matched by their Java class name.
It reads its user from HADOOP_USER_NAME when it first connects, which is why `_client_as` makes one
call right after setting the variable.
"""

from __future__ import annotations

import time

import fsspec
import pytest
from hdfs_native import Client, WriteOptions
from hdfs_native.fsspec import HdfsFileSystem
from support.cluster import NamenodeProcess
from support.raw_ipc import SUCCESS, RawIpcClient

from hopsfs.limits import LISTING_PAGE_ENTRIES_MAX
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto import hdfs_pb2

SUPERUSER = "hdfs"
SUPERGROUP = "supergroup"
DIRECTORY_PERMISSION = 0o755
FILE_PERMISSION = 0o644
BLOCK_SIZE_BYTES = 128 * 1024 * 1024
REPLICATION = 3
ACCESS_CONTROL = "org.apache.hadoop.security.AccessControlException"
# Byte order puts ASCII first, then the 2-byte "ü", then the 3-byte "名前"; the 4-byte emoji names
# start with "z" so that the first page of 1000 ends inside them and startAfter carries a 4-byte
# character.
WIDE_DIRECTORY_NAMES = (
    [f"a{index:05d}" for index in range(990)]
    + [f"z\U0001f600{index}" for index in range(100)]
    + [f"\u00fc{index}" for index in range(100)]
    + [f"\u540d\u524d{index}" for index in range(100)]
)


@pytest.fixture(autouse=True)
def _superuser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HADOOP_USER_NAME", SUPERUSER)


def _client_as(namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch, user: str) -> Client:
    monkeypatch.setenv("HADOOP_USER_NAME", user)
    client = Client(f"hdfs://{namenode.host}:{namenode.port}")
    assert client.get_file_info("/").isdir  # connects now, as `user`
    return client


def _filesystem(namenode: NamenodeProcess) -> HdfsFileSystem:
    filesystem = fsspec.filesystem("hdfs", host=namenode.host, port=namenode.port, skip_instance_cache=True)
    assert isinstance(filesystem, HdfsFileSystem)  # hdfs-native's driver, not pyarrow's
    return filesystem


def _directory_info(name: str, owner: str = SUPERUSER, group: str = SUPERGROUP) -> dict[str, object]:
    return {
        "name": name,
        "size": 0,
        "type": "directory",
        "permission": DIRECTORY_PERMISSION,
        "owner": owner,
        "group": group,
    }


def _without_times(info: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in info.items() if key not in ("modification_time", "access_time")}


def _touch(client: Client, path: str) -> None:
    """An empty file: create then complete with no block (hdfs-native writes nothing else)."""
    writer = client.create(path)
    writer.close()


# -- fsspec driver -------------------------------------------------------------------------------


def test_fsspec_mkdir_ls_info_exists(namenode: NamenodeProcess) -> None:
    fs = _filesystem(namenode)
    fs.mkdir("/data/nested/deeper")  # create_parents defaults to True
    fs.mkdir("/data/flat", create_parents=False)
    started_ms = int(time.time() * 1000)
    fs.touch("/data/empty")
    assert fs.ls("/data", detail=False) == ["/data/empty", "/data/flat", "/data/nested"]
    detailed = fs.ls("/data", detail=True)
    assert [_without_times(entry) for entry in detailed] == [
        {
            "name": "/data/empty",
            "size": 0,
            "type": "file",
            "permission": FILE_PERMISSION,
            "owner": SUPERUSER,
            "group": SUPERGROUP,
        },
        _directory_info("/data/flat"),
        _directory_info("/data/nested"),
    ]
    assert detailed[0]["modification_time"] >= started_ms
    assert _without_times(fs.info("/data/nested/deeper")) == _directory_info("/data/nested/deeper")
    assert fs.ls("/data/empty", detail=False) == ["/data/empty"]  # a file lists as itself
    assert (fs.exists("/data/nested/deeper"), fs.exists("/data/missing")) == (True, False)
    assert (fs.isdir("/data/flat"), fs.isfile("/data/empty"), fs.isdir("/data/empty")) == (True, True, False)
    assert fs.glob("/data/*") == ["/data/empty", "/data/flat", "/data/nested"]
    assert fs.find("/data", withdirs=True) == [
        "/data",
        "/data/empty",
        "/data/flat",
        "/data/nested",
        "/data/nested/deeper",
    ]


def test_fsspec_mv_and_rm(namenode: NamenodeProcess) -> None:
    fs = _filesystem(namenode)
    fs.mkdir("/source/inner/leaf")
    fs.touch("/source/inner/file")
    fs.mv("/source/inner", "/moved")
    assert fs.exists("/source/inner") is False
    assert fs.ls("/moved", detail=False) == ["/moved/file", "/moved/leaf"]
    with pytest.raises(RuntimeError, match="PathIsNotEmptyDirectoryException"):
        fs.rm("/moved")
    fs.rm("/moved", recursive=True)
    assert fs.exists("/moved") is False
    assert fs.ls("/", detail=False) == ["/source"]


def test_fsspec_errors(namenode: NamenodeProcess) -> None:
    fs = _filesystem(namenode)
    fs.touch("/file")
    with pytest.raises(FileNotFoundError):
        fs.info("/missing")
    with pytest.raises(FileNotFoundError):
        fs.ls("/missing")
    with pytest.raises(FileExistsError, match="Path is not a directory: /file"):
        fs.mkdir("/file")
    with pytest.raises(FileExistsError):
        fs.makedirs("/file", exist_ok=False)


# -- hdfs_native.Client --------------------------------------------------------------------------


def test_client_file_info_and_listing(namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client_as(namenode, monkeypatch, SUPERUSER)
    started_ms = int(time.time() * 1000)
    client.mkdirs("/tree/sub", create_parent=True)
    _touch(client, "/tree/sub/file")
    directory = client.get_file_info("/tree/sub")
    assert (directory.path, directory.isdir, directory.length, directory.permission) == (
        "/tree/sub",
        True,
        0,
        DIRECTORY_PERMISSION,
    )
    assert (directory.owner, directory.group, directory.replication, directory.blocksize) == (
        SUPERUSER,
        SUPERGROUP,
        0,
        0,
    )
    file = client.get_file_info("/tree/sub/file")
    assert (file.isdir, file.length, file.permission, file.owner, file.group) == (
        False,
        0,
        FILE_PERMISSION,
        SUPERUSER,
        SUPERGROUP,
    )
    assert (file.replication, file.blocksize) == (REPLICATION, BLOCK_SIZE_BYTES)
    assert file.modification_time >= started_ms and file.access_time >= started_ms
    assert [status.path for status in client.list_status("/tree")] == ["/tree/sub"]
    assert [status.path for status in client.list_status("/tree", recursive=True)] == [
        "/tree/sub",
        "/tree/sub/file",
    ]


def test_client_rename_and_delete(namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client_as(namenode, monkeypatch, SUPERUSER)
    client.mkdirs("/work/dir", create_parent=True)
    _touch(client, "/work/one")
    _touch(client, "/work/two")
    one_modified_ms = client.get_file_info("/work/one").modification_time
    client.rename("/work/dir", "/work/renamed")
    with pytest.raises(FileExistsError):
        client.rename("/work/one", "/work/two")
    client.rename("/work/one", "/work/two", overwrite=True)
    assert [status.path for status in client.list_status("/work")] == ["/work/renamed", "/work/two"]
    assert client.get_file_info("/work/two").modification_time == one_modified_ms
    with pytest.raises(RuntimeError, match="PathIsNotEmptyDirectoryException"):
        client.delete("/work", recursive=False)
    assert client.delete("/work/two") is True
    assert client.delete("/work/two") is False
    assert client.delete("/work", recursive=True) is True
    with pytest.raises(FileNotFoundError):
        client.get_file_info("/work")


def test_client_set_attributes_and_content_summary(
    namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client_as(namenode, monkeypatch, SUPERUSER)
    client.mkdirs("/attrs/a/b", create_parent=True)
    _touch(client, "/attrs/a/file")
    _touch(client, "/attrs/other")
    client.set_permission("/attrs/a/file", 0o600)
    client.set_owner("/attrs/a/file", "alice", "analysts")
    client.set_owner("/attrs/a", group="analysts")
    client.set_times("/attrs/a/file", 1_000, 2_000)
    file = client.get_file_info("/attrs/a/file")
    assert (file.permission, file.owner, file.group) == (0o600, "alice", "analysts")
    assert (file.modification_time, file.access_time) == (1_000, 2_000)
    directory = client.get_file_info("/attrs/a")
    assert (directory.owner, directory.group) == (SUPERUSER, "analysts")
    summary = client.get_content_summary("/attrs")
    assert (summary.length, summary.file_count, summary.directory_count) == (0, 2, 3)
    assert summary.space_consumed == 0
    # HDFS sends "no quota" as -1 in a uint64 field.
    assert (summary.quota, summary.space_quota) == (2**64 - 1, 2**64 - 1)


def test_client_empty_files(namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client_as(namenode, monkeypatch, SUPERUSER)
    client.mkdirs("/files")
    _touch(client, "/files/empty")
    assert client.get_file_info("/files/empty").length == 0
    with pytest.raises(FileExistsError):
        _touch(client, "/files/empty")
    overwrite = WriteOptions()
    overwrite.overwrite = True
    client.create("/files/empty", overwrite).close()
    assert [(status.path, status.length) for status in client.list_status("/files")] == [("/files/empty", 0)]


def test_client_errors(namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client_as(namenode, monkeypatch, SUPERUSER)
    _touch(client, "/plain")
    for call in (
        lambda: client.get_file_info("/missing"),
        lambda: list(client.list_status("/missing")),
        lambda: client.get_content_summary("/missing"),
        lambda: client.rename("/missing", "/elsewhere"),
        lambda: client.set_permission("/missing", 0o700),
        lambda: client.mkdirs("/missing/child", create_parent=False),
    ):
        with pytest.raises(FileNotFoundError):
            call()
    with pytest.raises(FileExistsError, match="Path is not a directory: /plain"):
        client.mkdirs("/plain")
    with pytest.raises(RuntimeError, match="ParentNotDirectoryException"):
        client.mkdirs("/plain/child", create_parent=True)


def test_other_users_private_directory_is_refused(
    namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    superuser = _client_as(namenode, monkeypatch, SUPERUSER)
    superuser.mkdirs("/user/alice", create_parent=True)
    superuser.set_owner("/user/alice", "alice", "alice")
    superuser.set_permission("/user/alice", 0o700)
    alice = _client_as(namenode, monkeypatch, "alice")
    bob = _client_as(namenode, monkeypatch, "bob")
    alice.mkdirs("/user/alice/private")
    private = alice.get_file_info("/user/alice/private")
    assert (private.owner, private.group) == ("alice", "alice")  # the group comes from the parent
    for call in (
        lambda: bob.get_file_info("/user/alice/private"),
        lambda: list(bob.list_status("/user/alice")),
        lambda: bob.mkdirs("/user/alice/intruder"),
        lambda: bob.delete("/user/alice/private", recursive=True),
        lambda: bob.set_permission("/user/alice", 0o777),
        lambda: bob.rename("/user/alice/private", "/stolen"),
    ):
        with pytest.raises(RuntimeError, match=ACCESS_CONTROL):
            call()
    assert [status.path for status in alice.list_status("/user/alice")] == ["/user/alice/private"]
    assert alice.get_file_info("/user/alice").permission == 0o700


# -- listings longer than one page ---------------------------------------------------------------


def _make_wide_directory(namenode: NamenodeProcess, path: str) -> list[str]:
    """WIDE_DIRECTORY_NAMES under `path` (pipelined over one raw connection); their paths in byte order."""
    with RawIpcClient(namenode.address) as raw:
        raw.handshake()
        permission = hdfs_pb2.FsPermissionProto(perm=DIRECTORY_PERMISSION)
        for name in WIDE_DIRECTORY_NAMES:
            raw.send_call(
                "mkdirs", pb.MkdirsRequestProto(src=f"{path}/{name}", masked=permission, createParent=True)
            )
        responses = [raw.read_response() for _ in WIDE_DIRECTORY_NAMES]
    assert all(response.status == SUCCESS for response in responses)
    return [f"{path}/{name}" for name in sorted(WIDE_DIRECTORY_NAMES, key=lambda name: name.encode())]


def _assert_wide_listing(namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _make_wide_directory(namenode, "/wide")
    assert len(expected) > LISTING_PAGE_ENTRIES_MAX
    client = _client_as(namenode, monkeypatch, SUPERUSER)
    assert [status.path for status in client.list_status("/wide")] == expected
    assert _filesystem(namenode).ls("/wide", detail=False) == expected


def test_listing_more_than_one_page_returns_every_entry(
    namenode: NamenodeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_wide_listing(namenode, monkeypatch)


def test_fsspec_and_paging_on_every_backend(
    namenode_any_backend: NamenodeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = _filesystem(namenode_any_backend)
    fs.mkdir("/backend/a/b")
    fs.touch("/backend/a/file")
    fs.mv("/backend/a", "/backend/c")
    assert fs.ls("/backend", detail=False) == ["/backend/c"]
    assert _without_times(fs.info("/backend/c/b")) == _directory_info("/backend/c/b")
    fs.rm("/backend", recursive=True)
    assert fs.exists("/backend") is False
    _assert_wide_listing(namenode_any_backend, monkeypatch)
