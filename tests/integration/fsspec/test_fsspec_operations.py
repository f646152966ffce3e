"""The `hopsfs://` driver's fsspec API on a real cluster: registration, listings, copies, renames,
deletes, bulk cat/pipe, put/get with callbacks, ranged and buffered reads across blocks, metadata
(checksum, modified, touch) and extended attributes."""

from __future__ import annotations

import errno
import random
from pathlib import Path

import fsspec
import pytest
from fsspec.callbacks import Callback
from support.data_cluster import BLOCK_BYTES, DataCluster, payload, write_file

from hopsfs.fsspec import HopsFile, HopsFileSystem


class CountingCallback(Callback):
    """Records what a transfer reported: the sizes set and the bytes or files completed."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []
        self.branches = 0

    def set_size(self, size: int) -> None:
        self.sizes.append(size)
        super().set_size(size)

    def branched(self, path_1: str, path_2: str, **kwargs: object) -> Callback:
        self.branches += 1
        return CountingCallback()


def test_registered_through_the_entry_point(hopsfs_url: str, test_dir: str) -> None:
    assert fsspec.get_filesystem_class("hopsfs") is HopsFileSystem
    url = f"{hopsfs_url}{test_dir}/hello.txt"
    with fsspec.open(url, "w", user="hdfs") as text:
        text.write("hello from fsspec.open\n")
    with fsspec.open(url, "r", user="hdfs") as text:
        assert text.read() == "hello from fsspec.open\n"
    fs, path = fsspec.core.url_to_fs(url, user="hdfs")
    assert isinstance(fs, HopsFileSystem) and path == f"{test_dir}/hello.txt"
    assert fs.unstrip_protocol(path) == url


def test_info_ls_find_glob_walk_du(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.pipe({f"{test_dir}/a/x.csv": b"12", f"{test_dir}/a/b/y.csv": b"345", f"{test_dir}/z": b""})
    hopsfs_fs.makedirs(f"{test_dir}/empty")
    info = hopsfs_fs.info(f"{test_dir}/a/b/y.csv")
    assert (info["name"], info["size"], info["type"]) == (f"{test_dir}/a/b/y.csv", 3, "file")
    assert hopsfs_fs.info(f"hopsfs://ignored:1{test_dir}/a")["type"] == "directory"
    listing = hopsfs_fs.ls(test_dir, detail=True)
    assert [(e["name"], e["type"]) for e in listing] == [
        (f"{test_dir}/a", "directory"),
        (f"{test_dir}/empty", "directory"),
        (f"{test_dir}/z", "file"),
    ]
    assert hopsfs_fs.ls(f"{test_dir}/z", detail=False) == [f"{test_dir}/z"]
    assert hopsfs_fs.find(test_dir) == [f"{test_dir}/a/b/y.csv", f"{test_dir}/a/x.csv", f"{test_dir}/z"]
    assert f"{test_dir}/empty" in hopsfs_fs.find(test_dir, withdirs=True)
    assert hopsfs_fs.glob(f"{test_dir}/**/*.csv") == [f"{test_dir}/a/b/y.csv", f"{test_dir}/a/x.csv"]
    walked = {root: (sorted(dirs), sorted(files)) for root, dirs, files in hopsfs_fs.walk(test_dir)}
    assert walked[f"{test_dir}/a"] == (["b"], ["x.csv"])
    assert hopsfs_fs.du(test_dir) == 5
    assert hopsfs_fs.du(test_dir, total=False)[f"{test_dir}/a/b/y.csv"] == 3
    assert hopsfs_fs.isdir(f"{test_dir}/empty") and hopsfs_fs.isfile(f"{test_dir}/z")
    assert not hopsfs_fs.exists(f"{test_dir}/z/below-a-file")


def test_mkdir_makedirs_rmdir_rm(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.mkdir(f"{test_dir}/d")
    with pytest.raises(FileExistsError):
        hopsfs_fs.mkdir(f"{test_dir}/d")
    with pytest.raises(FileNotFoundError):
        hopsfs_fs.mkdir(f"{test_dir}/no/parent", create_parents=False)
    with pytest.raises(FileExistsError):
        hopsfs_fs.makedirs(f"{test_dir}/d")
    hopsfs_fs.makedirs(f"{test_dir}/d/e/f", exist_ok=True)
    hopsfs_fs.rmdir(f"{test_dir}/d/e/f")
    hopsfs_fs.pipe({f"{test_dir}/d/e/1": b"1", f"{test_dir}/d/2": b"2"})
    with pytest.raises(OSError) as refused:
        hopsfs_fs.rm(f"{test_dir}/d")
    assert refused.value.errno == errno.ENOTEMPTY
    hopsfs_fs.rm(f"{test_dir}/d/*", recursive=True)
    assert hopsfs_fs.ls(f"{test_dir}/d") == []
    hopsfs_fs.pipe({f"{test_dir}/d/e/1": b"1", f"{test_dir}/d/2": b"2"})
    hopsfs_fs.rm([f"{test_dir}/d", f"{test_dir}/d/e/1"], recursive=True)  # a child listed too
    assert not hopsfs_fs.exists(f"{test_dir}/d")
    with pytest.raises(FileNotFoundError):
        hopsfs_fs.rm(f"{test_dir}/d", recursive=True)


def test_mv_is_one_rename(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    hopsfs_fs.pipe({f"{test_dir}/src/a": b"a", f"{test_dir}/src/sub/b": b"b"})
    inode = hopsfs_fs.info(f"{test_dir}/src")["inode_id"]
    hopsfs_fs.mv(f"{test_dir}/src", f"{test_dir}/dst")
    assert hopsfs_fs.info(f"{test_dir}/dst")["inode_id"] == inode  # moved, not copied
    assert hopsfs_fs.cat(f"{test_dir}/dst/sub/b") == b"b"
    hopsfs_fs.makedirs(f"{test_dir}/into")
    hopsfs_fs.mv(f"{test_dir}/dst/a", f"{test_dir}/into")  # an existing directory: into it
    assert hopsfs_fs.cat(f"{test_dir}/into/a") == b"a"
    hopsfs_fs.pipe(f"{test_dir}/other", b"other")
    hopsfs_fs.mv(f"{test_dir}/other", f"{test_dir}/into/a")  # replaces a file, as mv does
    assert hopsfs_fs.cat(f"{test_dir}/into/a") == b"other"
    hopsfs_fs.mv([f"{test_dir}/into/a"], f"{test_dir}/listed")
    assert hopsfs_fs.ls(f"{test_dir}/listed", detail=False) == [f"{test_dir}/listed/a"]


def test_cp_file_copies_content_and_directories(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    data = payload(3 * 1024 * 1024 + 17, seed=1)
    hopsfs_fs.pipe(f"{test_dir}/tree/big", data)
    hopsfs_fs.makedirs(f"{test_dir}/tree/empty")
    hopsfs_fs.cp(f"{test_dir}/tree", f"{test_dir}/copy", recursive=True)
    assert hopsfs_fs.cat(f"{test_dir}/copy/big") == data
    assert hopsfs_fs.isdir(f"{test_dir}/copy/empty")
    hopsfs_fs.cp_file(f"{test_dir}/copy/big", f"{test_dir}/copy/big")  # onto itself: unchanged
    assert hopsfs_fs.cat(f"{test_dir}/copy/big") == data


def test_pipe_and_cat_many_files_concurrently(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    contents = {f"{test_dir}/many/{index:03}": f"file {index}".encode() for index in range(120)}
    hopsfs_fs.pipe(contents)
    assert hopsfs_fs.cat(f"{test_dir}/many/*") == contents
    assert hopsfs_fs.cat(list(contents)[:3]) == dict(list(contents.items())[:3])
    missing = f"{test_dir}/many/missing"
    found = hopsfs_fs.cat([*list(contents)[:2], missing], on_error="return")
    assert isinstance(found[missing], FileNotFoundError)
    assert hopsfs_fs.cat_file(f"{test_dir}/many/007", start=2, end=-1) == b"le "
    assert hopsfs_fs.cat_file(f"{test_dir}/many/007", start=-1) == b"7"
    assert hopsfs_fs.cat_ranges([f"{test_dir}/many/001"] * 2, [0, 5], [4, 6]) == [b"file", b"1"]


def test_put_and_get_with_callbacks(hopsfs_fs: HopsFileSystem, test_dir: str, local_dir: Path) -> None:
    source = local_dir / "up"
    (source / "sub").mkdir(parents=True)
    big = payload(9 * 1024 * 1024 + 5, seed=2)  # more than one transfer chunk
    (source / "big.bin").write_bytes(big)
    (source / "sub" / "small.txt").write_bytes(b"small")
    callback = CountingCallback()
    hopsfs_fs.put(str(source), f"{test_dir}/up", recursive=True, callback=callback)
    assert callback.sizes == [2] and callback.branches == 2
    assert hopsfs_fs.cat(f"{test_dir}/up/big.bin") == big
    single = CountingCallback()
    hopsfs_fs.put_file(str(source / "big.bin"), f"{test_dir}/one.bin", callback=single)
    assert single.sizes == [len(big)] and single.value == len(big)
    target = local_dir / "down"
    fetched = CountingCallback()
    hopsfs_fs.get(f"{test_dir}/up", str(target), recursive=True, callback=fetched)
    assert (target / "big.bin").read_bytes() == big
    assert (target / "sub" / "small.txt").read_bytes() == b"small"
    one = CountingCallback()
    hopsfs_fs.get_file(f"{test_dir}/one.bin", str(local_dir / "one.bin"), callback=one)
    assert one.value == len(big) and (local_dir / "one.bin").read_bytes() == big


def test_buffered_reads_across_blocks(
    fsspec_cluster: DataCluster, hopsfs_fs: HopsFileSystem, test_dir: str
) -> None:
    data = payload(5 * BLOCK_BYTES + 123, seed=3)
    with fsspec_cluster.connect() as client:
        write_file(client, f"{test_dir}/blocks", data)  # 1 MiB blocks: reads cross block edges
    rng = random.Random(4)
    for cache_type in ("readahead", "blockcache", "bytes", "none"):
        with hopsfs_fs.open(f"{test_dir}/blocks", "rb", block_size=300_000, cache_type=cache_type) as file:
            assert isinstance(file, HopsFile) and file.size == len(data)
            for _ in range(20):
                start = rng.randrange(len(data))
                size = rng.randrange(3 * BLOCK_BYTES)
                file.seek(start)
                assert file.read(size) == data[start : start + size]
            file.seek(-10, 2)
            assert file.read() == data[-10:]
    with hopsfs_fs.open(f"{test_dir}/blocks", "rb") as file:
        assert file.read() == data


def test_buffered_writes_and_append(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    path = f"{test_dir}/written"
    data = payload(2 * 1024 * 1024 + 1, seed=5)
    with hopsfs_fs.open(path, "wb", block_size=256 * 1024) as file:
        for start in range(0, len(data), 100_000):
            file.write(data[start : start + 100_000])
    assert hopsfs_fs.cat(path) == data
    with hopsfs_fs.open(path, "ab") as file:
        assert file.tell() == len(data)
        file.write(b"tail")
    assert hopsfs_fs.cat(path) == data + b"tail"
    with hopsfs_fs.open(f"{test_dir}/new-by-append", "ab") as file:
        file.write(b"fresh")
    assert hopsfs_fs.cat(f"{test_dir}/new-by-append") == b"fresh"
    with pytest.raises(NotImplementedError):
        hopsfs_fs.open(f"{test_dir}/tx", "wb", autocommit=False)


def test_checksum_modified_created_touch(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    path = f"{test_dir}/touched"
    hopsfs_fs.touch(path)
    assert hopsfs_fs.cat(path) == b""
    first = hopsfs_fs.checksum(path)
    assert first == hopsfs_fs.checksum(path)
    modified = hopsfs_fs.modified(path)
    assert modified.tzinfo is not None
    hopsfs_fs.pipe(path, b"content")
    assert hopsfs_fs.checksum(path) != first
    assert hopsfs_fs.ukey(path) != ""
    hopsfs_fs.touch(path, truncate=False)  # keeps the content, moves the mtime
    assert hopsfs_fs.cat(path) == b"content"
    assert hopsfs_fs.modified(path) >= modified
    hopsfs_fs.touch(path)  # truncates
    assert hopsfs_fs.size(path) == 0
    with pytest.raises(NotImplementedError, match="creation time"):
        hopsfs_fs.created(path)


def test_extended_attributes(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    path = f"{test_dir}/attributed"
    hopsfs_fs.touch(path)
    hopsfs_fs.setxattr(path, "user.owner-team", "storage")
    hopsfs_fs.setxattr(path, "user.raw", b"\x00\x01")
    assert hopsfs_fs.getxattr(path, "user.owner-team") == b"storage"
    assert sorted(hopsfs_fs.listxattr(path)) == ["user.owner-team", "user.raw"]
    assert hopsfs_fs.getxattrs(path) == {"user.owner-team": b"storage", "user.raw": b"\x00\x01"}
    hopsfs_fs.removexattr(path, "user.raw")
    assert hopsfs_fs.listxattr(path) == ["user.owner-team"]
