"""Pure logic of the fsspec driver: URLs and paths, byte ranges, listing entries."""

from __future__ import annotations

import pytest

from hopsfs.fsspec.entries import checksum_of, entry_of, modified_of
from hopsfs.fsspec.paths import kwargs_from_url, namenode_url, normalize, strip_protocol
from hopsfs.fsspec.transfers import byte_range
from hopsfs.types import FileStatus, InodeKind


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("hopsfs://nn:8020/data/x.parquet", "/data/x.parquet"),
        ("hopsfs:///data/x/", "/data/x"),
        ("hopsfs://nn1:1,nn2:2/a//b", "/a/b"),
        ("hopsfs://nn", "/"),
        ("hopsfs::/a", "/a"),
        ("/a/./b/", "/a/b"),
        ("a/b", "/a/b"),
        ("", "/"),
    ],
)
def test_strip_protocol(given: str, expected: str) -> None:
    assert strip_protocol(given) == expected
    assert normalize(expected) == expected


def test_kwargs_from_url_and_back() -> None:
    assert kwargs_from_url("hopsfs://nn1:1,nn2:2/x") == {"host": "nn1:1,nn2:2"}
    assert kwargs_from_url("hopsfs:///x") == {}
    assert namenode_url("nn1:1,nn2:2", None) == "hopsfs://nn1:1,nn2:2"
    assert namenode_url("nn", 9000) == "hopsfs://nn:9000"
    assert namenode_url(None, None) is None
    with pytest.raises(ValueError, match="already names"):
        namenode_url("nn:1", 2)
    with pytest.raises(ValueError, match="without a host"):
        namenode_url(None, 2)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, (0, 10)),
        (2, None, (2, 10)),
        (None, 4, (0, 4)),
        (-3, None, (7, 10)),
        (2, -1, (2, 9)),
        (-20, 50, (0, 10)),
        (8, 3, (8, 8)),
        (12, 15, (10, 10)),
    ],
)
def test_byte_range(start: int | None, end: int | None, expected: tuple[int, int]) -> None:
    assert byte_range(start, end, 10) == expected
    data = bytes(range(10))
    assert data[slice(*expected)] == data[start:end]


def _status(kind: InodeKind, size: int, mtime_ms: int) -> FileStatus:
    return FileStatus("/d/f", 7, kind, 0o644, "alice", "staff", size, mtime_ms, 0, 3, 1 << 20, 0)


def test_entries_carry_what_fsspec_requires() -> None:
    entry = entry_of(_status(InodeKind.FILE, 12, 1_500), "/d/f")
    assert (entry["name"], entry["size"], entry["type"], entry["mtime"]) == ("/d/f", 12, "file", 1.5)
    directory = entry_of(_status(InodeKind.DIRECTORY, 99, 0), "/d")
    assert (directory["size"], directory["type"]) == (0, "directory")
    assert entry_of(_status(InodeKind.SYMLINK, 0, 0), "/l")["type"] == "other"
    assert modified_of(entry).timestamp() == 1.5


def test_checksum_changes_with_size_and_mtime() -> None:
    base = checksum_of(entry_of(_status(InodeKind.FILE, 12, 1_500), "/d/f"))
    assert base == checksum_of(entry_of(_status(InodeKind.FILE, 12, 1_500), "/d/f"))
    assert base != checksum_of(entry_of(_status(InodeKind.FILE, 13, 1_500), "/d/f"))
    assert base != checksum_of(entry_of(_status(InodeKind.FILE, 12, 1_501), "/d/f"))
