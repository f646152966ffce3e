"""The errors a real cluster gives, as the driver raises them: the builtin Python users expect,
with its errno and the path, chained to the hopsfs error (see hopsfs/fsspec/errors.py)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import pytest
from support.data_cluster import DataCluster

from hopsfs import errors
from hopsfs.fsspec import HopsFileSystem


@pytest.fixture(name="alice_fs")
def alice_fs_fixture(hopsfs_url: str) -> Iterator[HopsFileSystem]:
    fs = HopsFileSystem(url=hopsfs_url, user="alice", skip_instance_cache=True)
    yield fs
    fs.close()


def test_file_not_found(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    for action in (hopsfs_fs.info, hopsfs_fs.ls, hopsfs_fs.cat_file, lambda p: hopsfs_fs.open(p, "rb")):
        with pytest.raises(FileNotFoundError) as raised:
            action(f"{test_dir}/missing")
        assert raised.value.errno == errno.ENOENT
        assert raised.value.filename == f"{test_dir}/missing"
        assert isinstance(raised.value.__cause__, errors.FileNotFound)


def test_file_exists(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.pipe_file(f"{test_dir}/f", b"x")
    with pytest.raises(FileExistsError) as raised:
        hopsfs_fs.pipe_file(f"{test_dir}/f", b"y", mode="create")
    assert isinstance(raised.value.__cause__, errors.FileAlreadyExists)
    with pytest.raises(FileExistsError):
        hopsfs_fs.open(f"{test_dir}/f", "xb")
    with pytest.raises(FileExistsError):
        hopsfs_fs.open(test_dir, "xb")  # a directory there: as Python's open(dir, "xb")


def test_is_a_directory(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    for action in (
        lambda: hopsfs_fs.open(test_dir, "rb"),
        lambda: hopsfs_fs.open(test_dir, "wb"),
        lambda: hopsfs_fs.cat_file(test_dir),
    ):
        with pytest.raises(IsADirectoryError) as raised:
            action()
        assert raised.value.errno == errno.EISDIR


def test_not_a_directory(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.pipe_file(f"{test_dir}/file", b"x")
    with pytest.raises(NotADirectoryError) as raised:
        hopsfs_fs.pipe_file(f"{test_dir}/file/below", b"y")
    assert isinstance(raised.value.__cause__, errors.ParentNotDirectory)
    with pytest.raises(NotADirectoryError):
        hopsfs_fs.mkdir(f"{test_dir}/file/below")
    with pytest.raises(NotADirectoryError):
        hopsfs_fs.rmdir(f"{test_dir}/file")


def test_permission_denied(hopsfs_fs: HopsFileSystem, alice_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.pipe_file(f"{test_dir}/root-only", b"secret")
    with pytest.raises(PermissionError) as raised:
        alice_fs.pipe_file(f"{test_dir}/alice-file", b"x")
    assert raised.value.errno == errno.EACCES
    assert isinstance(raised.value.__cause__, errors.PermissionDenied)
    with pytest.raises(PermissionError):
        alice_fs.rm(f"{test_dir}/root-only")


def test_directory_not_empty_and_invalid_rename(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.pipe_file(f"{test_dir}/d/f", b"x")
    with pytest.raises(OSError) as raised:
        hopsfs_fs.rm(f"{test_dir}/d")
    assert raised.value.errno == errno.ENOTEMPTY
    assert isinstance(raised.value.__cause__, errors.DirectoryNotEmpty)
    with pytest.raises(OSError) as renamed:
        hopsfs_fs.mv(f"{test_dir}/d", f"{test_dir}/d/inside/itself")
    # The namenode sends InvalidRename as a bare java.io.IOException (as HDFS does), which the client
    # cannot tell apart from other IOExceptions: it arrives as RemoteError, hence EIO, not EINVAL.
    assert renamed.value.errno == errno.EIO
    assert isinstance(renamed.value.__cause__, errors.RemoteError)
    assert "under source" in str(renamed.value)


def test_missing_extended_attribute(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.touch(f"{test_dir}/f")
    for action in (hopsfs_fs.getxattr, hopsfs_fs.removexattr):
        with pytest.raises(OSError) as raised:
            action(f"{test_dir}/f", "user.absent")
        assert raised.value.errno == errno.ENODATA


def test_lease_conflict_is_busy(hopsfs_url: str, hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    other = HopsFileSystem(url=hopsfs_url, user="hdfs", skip_instance_cache=True)
    try:
        with hopsfs_fs.open(f"{test_dir}/open", "wb") as writing:
            writing.write(b"held")
            with pytest.raises(OSError) as raised:
                other.open(f"{test_dir}/open", "ab")
            assert raised.value.errno == errno.EBUSY
            assert isinstance(raised.value.__cause__, errors.LeaseConflict)
    finally:
        other.close()


def test_unreachable_namenode_is_a_connection_error() -> None:
    with socket.socket() as placeholder:  # a port nothing listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    fs = HopsFileSystem(
        "127.0.0.1",
        port,
        client_options={"attempts_max": 1, "connect_timeout_s": 1.0},
        skip_instance_cache=True,
    )
    with pytest.raises(ConnectionError) as raised:
        fs.info("/")
    assert isinstance(raised.value.__cause__, errors.NamenodeUnavailable)


def test_namespace_stays_consistent(fsspec_cluster: DataCluster) -> None:
    fsspec_cluster.check_namespace()
