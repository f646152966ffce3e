"""`hopsfs dfs -put DIR` on a real cluster: a directory's many small files arrive in batches, stored
in the metadata store; larger files, and the few small files of another directory, through blocks;
a batch that cannot be created whole (existing files without -f) falls back to the one-by-one path
with Hadoop's per-file messages."""

from __future__ import annotations

from pathlib import Path

from support.data_cluster import DataCluster, payload, run_dfs

from hopsfs.types import Caller


def _local_tree(root: Path) -> dict[str, bytes]:
    tree = {f"many/f{index:04d}": payload(index * 7 % 5000, seed=index) for index in range(1200)}
    tree["many/large.bin"] = payload(70_000, seed=99)
    tree["many/sub/inner"] = payload(10, seed=98)
    for relative, data in tree.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tree


def test_put_of_a_directory_batches_its_small_files(data_cluster: DataCluster, tmp_path: Path) -> None:
    tree = _local_tree(tmp_path)
    done = run_dfs(data_cluster.url, "-put", str(tmp_path / "many"), "/many")
    assert (done.returncode, done.stderr) == (0, b""), done.stderr.decode()
    engine = data_cluster.engine()
    assert engine.read_with_metadata(Caller("hdfs"), "/many/f0007").data == tree["many/f0007"]
    # A directory with fewer than BATCH_PUT_FILES_MIN small files is put one by one, each completed
    # inline at close (create + completeWithData).
    assert engine.read_with_metadata(Caller("hdfs"), "/many/sub/inner").data == tree["many/sub/inner"]
    assert engine.read_with_metadata(Caller("hdfs"), "/many/large.bin").data is None  # blocks
    with data_cluster.connect() as client:
        assert len(client.list("/many")) == 1202
        for relative, data in tree.items():
            assert client.read_bytes(f"/{relative}") == data, relative
    again = run_dfs(data_cluster.url, "-put", str(tmp_path / "many"), "/")
    assert again.returncode == 1
    assert b"-put: `/many/f0001': File exists" in again.stderr
    forced = run_dfs(data_cluster.url, "-put", "-f", str(tmp_path / "many"), "/")
    assert (forced.returncode, forced.stderr) == (0, b""), forced.stderr.decode()
