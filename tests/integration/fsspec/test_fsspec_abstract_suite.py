"""fsspec's own conformance suites (`fsspec.tests.abstract`: copy, get, put, open, pipe) run against
the `hopsfs://` driver on a real cluster, wired the way fsspec intends for outside drivers: the
fixtures `fs`, `fs_path` and `fs_join` from a subclass of `AbstractFixtures`, the tests inherited.

fsspec's mv tests are module-level functions bound to the local filesystem, so their two cases
(a missing target parent, a read-only target directory) are restated here for hopsfs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator

import fsspec.tests.abstract as abstract
import pytest
from support.data_cluster import DataCluster

from hopsfs.fsspec import HopsFileSystem


class HopsFixtures(abstract.AbstractFixtures):
    @pytest.fixture
    def fs(self, hopsfs_fs: HopsFileSystem) -> HopsFileSystem:
        return hopsfs_fs

    @pytest.fixture
    def fs_path(self, test_dir: str) -> str:
        return test_dir

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return posixpath.join

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return True


class TestHopsCopy(abstract.AbstractCopyTests, HopsFixtures):
    pass


class TestHopsGet(abstract.AbstractGetTests, HopsFixtures):
    pass


class TestHopsPut(abstract.AbstractPutTests, HopsFixtures):
    pass


class TestHopsOpen(abstract.AbstractOpenTests, HopsFixtures):
    pass


class TestHopsPipe(abstract.AbstractPipeTests, HopsFixtures):
    pass


@pytest.fixture(name="unprivileged_fs")
def unprivileged_fs_fixture(hopsfs_url: str) -> Iterator[HopsFileSystem]:
    """The driver as an ordinary user: permissions apply (the superuser bypasses them)."""
    fs = HopsFileSystem(url=hopsfs_url, user="alice", skip_instance_cache=True)
    yield fs
    fs.close()


def test_move_to_a_missing_parent_raises_file_not_found(hopsfs_fs: HopsFileSystem, test_dir: str) -> None:
    source = f"{test_dir}/source_file.txt"
    hopsfs_fs.pipe_file(source, b"content")
    with pytest.raises(FileNotFoundError):
        hopsfs_fs.mv(source, f"{test_dir}/non_existent_directory/destination_file.txt")
    assert hopsfs_fs.cat_file(source) == b"content"


@pytest.mark.parametrize("recursive", [True, False])
def test_move_into_a_read_only_directory_raises_permission_error(
    fsspec_cluster: DataCluster, unprivileged_fs: HopsFileSystem, test_dir: str, recursive: bool
) -> None:
    home = f"{test_dir}/alice"
    protected = f"{test_dir}/protected"
    with fsspec_cluster.connect() as admin:
        admin.mkdirs(home)
        admin.set_owner(home, "alice")
        admin.mkdirs(protected, 0o555)
    source = f"{home}/source_file.txt"
    unprivileged_fs.pipe_file(source, b"content")
    with pytest.raises(PermissionError):
        unprivileged_fs.mv(source, f"{protected}/destination_file.txt", recursive=recursive)
    assert not unprivileged_fs.exists(f"{protected}/destination_file.txt")
    assert unprivileged_fs.cat_file(source) == b"content"
