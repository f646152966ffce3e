"""The harness's targets: parsing target strings, and the same calls with the same meaning on a real
directory (os) and on fsspec's memory:// (a `file://` URL goes through the same fsspec target)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.errors import BadTarget, UnsupportedOperation
from bench.harness.targets import DATA, FSSPEC, HOPSFS, LOCAL, Target, join_path, open_target, parse_target


def test_target_strings() -> None:
    hopsfs = parse_target("hopsfs://alice@127.0.0.1:8020,127.0.0.1:8021/bench/runs")
    assert (hopsfs.kind, hopsfs.url, hopsfs.user) == (
        HOPSFS,
        "hopsfs://127.0.0.1:8020,127.0.0.1:8021",
        "alice",
    )
    assert hopsfs.base_path == "/bench/runs"
    assert parse_target("hopsfs://127.0.0.1:8020").base_path == "/"
    memory = parse_target("memory://")
    assert (memory.kind, memory.base_path, memory.shared_between_processes) == (FSSPEC, "/", False)
    local_file = parse_target("file:///tmp")
    assert (local_file.kind, local_file.base_path, local_file.shared_between_processes) == (
        FSSPEC,
        "/tmp",
        True,
    )
    directory = parse_target("/tmp", label="scratch")
    assert (directory.kind, directory.base_path, directory.label) == (LOCAL, "/tmp", "scratch")
    assert join_path("/", "a", "b") == "/a/b" and join_path("/x/", "y") == "/x/y"


@pytest.mark.parametrize(
    "text",
    ["", "/no/such/directory", "nosuchprotocol://x", "hopsfs:///path-only", "hopsfs://@host:1"],
)
def test_bad_target_strings_say_why(text: str) -> None:
    with pytest.raises(BadTarget):
        parse_target(text)
    with pytest.raises(BadTarget):
        join_path("/", "a/b")


@pytest.fixture(params=["os", "memory", "file"])
def target_and_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Target, str]]:
    if request.param == "os":
        spec = parse_target(str(tmp_path))
    elif request.param == "file":
        spec = parse_target(f"file://{tmp_path}")
    else:
        spec = parse_target("memory://")
    target = open_target(spec)
    root = join_path(spec.base_path, f"t-{uuid.uuid4().hex[:8]}")
    target.mkdirs(root)
    yield target, root
    target.delete(root, recursive=True)
    target.close()


def test_the_same_calls_mean_the_same_everywhere(target_and_root: tuple[Target, str]) -> None:
    target, root = target_and_root
    target.mkdirs(f"{root}/d/e")
    target.mkdirs(f"{root}/d/e")  # an existing directory is fine
    target.create(f"{root}/d/empty", b"")
    target.create(f"{root}/d/data", b"x" * 5000)
    assert target.stat(f"{root}/d").is_directory
    assert (target.stat(f"{root}/d/data").is_directory, target.stat(f"{root}/d/data").size) == (False, 5000)
    assert target.list(f"{root}/d") == 3
    assert target.list(f"{root}/d/data") == 1  # `ls FILE` lists the file
    assert target.read(f"{root}/d/data") == b"x" * 5000
    assert target.read(f"{root}/d/empty") == b""
    target.rename(f"{root}/d/data", f"{root}/d/e/moved")
    with pytest.raises(FileNotFoundError):
        target.stat(f"{root}/d/data")
    assert target.list(f"{root}/d/e") == 1
    target.delete(f"{root}/d/e/moved")
    with pytest.raises(FileNotFoundError):
        target.delete(f"{root}/d/e/moved")
    with target.open_write(f"{root}/big") as stream:
        stream.write(b"a" * 100)
        stream.write(b"b" * 100)
    with target.open_read(f"{root}/big") as stream:
        assert stream.read(150) == b"a" * 100 + b"b" * 50
        assert stream.read(100) == b"b" * 50
    assert DATA in target.capabilities
    target.delete(f"{root}/d", recursive=True)
    with pytest.raises(FileNotFoundError):
        target.stat(f"{root}/d/e")


def test_a_call_a_target_lacks_is_unsupported_with_its_reason(target_and_root: tuple[Target, str]) -> None:
    target, root = target_and_root
    target.create(f"{root}/f", b"")
    with pytest.raises(UnsupportedOperation) as raised:
        target.set_replication(f"{root}/f", 3)
    assert raised.value.operation == "set_replication" and raised.value.reason
    if "chmod" in target.capabilities:
        target.chmod(f"{root}/f", 0o600)
    else:
        with pytest.raises(UnsupportedOperation, match="chmod"):
            target.chmod(f"{root}/f", 0o600)


def test_local_create_never_overwrites(tmp_path: Path) -> None:
    target = open_target(parse_target(str(tmp_path)))
    target.create(f"{tmp_path}/f", b"first")
    with pytest.raises(FileExistsError):
        target.create(f"{tmp_path}/f", b"second")
    assert target.read(f"{tmp_path}/f") == b"first"
    target.chown(f"{tmp_path}/f")  # to its own user: what any owner may do
    target.chmod(f"{tmp_path}/f", 0o600)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o600
