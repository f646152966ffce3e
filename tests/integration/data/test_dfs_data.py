"""`hopsfs dfs` moving file data on a real cluster, run as the real entry point
(`python -m hopsfs.cli.main dfs -fs URL ...`): -put of a directory tree and of a large file, -get
back, -cat, -tail, -appendToFile (files and standard input), -setrep -w down and up. Every effect is
checked through a separate client and on the datanodes' volumes, never through the CLI alone.

The large file is put with `-D dfs.blocksize=1m -D dfs.replication=2`: three blocks on two datanodes.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

from support.data_cluster import EVENTUAL_TIMEOUT_S, DataCluster, payload, run_dfs, wait_until

TREE = {
    "a.txt": payload(1000, seed=1),
    "sub/b.bin": payload(70_000, seed=2),
    "sub/deeper/empty": b"",
    "sub/deeper/c.bin": payload(513, seed=3),
}
LARGE = payload(3_000_000, seed=4)
# Every non-empty file above the 64 KiB small-file threshold: whichever way -put writes them (one by
# one, in batches, inline or not), they live in blocks on the datanodes, which -setrep -w waits for.
REPLICATED_TREE = {
    "a.bin": payload(70_000, seed=5),
    "sub/b.bin": payload(65_537, seed=6),
    "sub/deeper/empty": b"",
}


def make_local_tree(root: Path, tree: dict[str, bytes] = TREE) -> Path:
    for relative, data in tree.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def dfs_ok(cluster: DataCluster, *arguments: str, stdin: bytes | None = None) -> bytes:
    """Run the command; it must exit 0 with nothing on stderr. Its standard output."""
    done = run_dfs(cluster.url, *arguments, stdin=stdin)
    assert (done.returncode, done.stderr) == (0, b""), (arguments, done.returncode, done.stderr.decode())
    return done.stdout


def test_put_get_cat_tail_and_append_move_exact_bytes(
    sqlite_data_cluster: DataCluster, tmp_path: Path
) -> None:
    # Catches: -put/-get losing, truncating or reordering bytes of a tree or a large file, empty files
    # or subdirectories dropped, -cat/-tail printing other bytes, -appendToFile not appending in order.
    cluster = sqlite_data_cluster
    source = make_local_tree(tmp_path / "source")
    (tmp_path / "large.bin").write_bytes(LARGE)
    dfs_ok(cluster, "-put", str(source), "/tree")
    dfs_ok(
        cluster,
        "-D",
        "dfs.blocksize=1m",
        "-Ddfs.replication=2",
        "-put",
        str(tmp_path / "large.bin"),
        "/large.bin",
    )
    # Catches: the generic -D settings not reaching the files -put writes.
    with cluster.connect() as client:
        status = client.stat("/large.bin")
    assert (status.block_size, status.replication) == (1 << 20, 2)
    assert wait_until(lambda: cluster.fully_replicated("/large.bin", 2), EVENTUAL_TIMEOUT_S)
    assert len(cluster.blocks("/large.bin")) == 3
    with cluster.connect() as client:
        for relative, data in TREE.items():
            assert client.read_bytes(f"/tree/{relative}") == data, relative
        assert client.read_bytes("/large.bin") == LARGE
        assert not client.exists("/large.bin._COPYING_")
    assert cluster.replica_mismatches("/large.bin", LARGE) == []

    target = tmp_path / "back"
    target.mkdir()
    dfs_ok(cluster, "-get", "/tree", str(target / "tree"))
    dfs_ok(cluster, "-get", "/large.bin", str(target / "large.bin"))
    comparison = filecmp.dircmp(source, target / "tree")
    assert _tree_bytes(source) == _tree_bytes(target / "tree"), comparison.report()
    assert (target / "large.bin").read_bytes() == LARGE

    assert dfs_ok(cluster, "-cat", "/tree/a.txt", "/tree/sub/b.bin") == TREE["a.txt"] + TREE["sub/b.bin"]
    assert dfs_ok(cluster, "-tail", "/large.bin") == LARGE[-1024:]

    first, second = payload(700, seed=5), payload(70_000, seed=6)
    (tmp_path / "first").write_bytes(first)
    (tmp_path / "second").write_bytes(second)
    dfs_ok(cluster, "-appendToFile", str(tmp_path / "first"), str(tmp_path / "second"), "/tree/a.txt")
    from_stdin = payload(3000, seed=7)
    dfs_ok(cluster, "-appendToFile", "-", "/tree/a.txt", stdin=from_stdin)
    dfs_ok(cluster, "-appendToFile", "-", "/new-from-stdin", stdin=from_stdin)
    appended = TREE["a.txt"] + first + second + from_stdin
    with cluster.connect() as client:
        assert client.read_bytes("/tree/a.txt") == appended
        assert client.read_bytes("/new-from-stdin") == from_stdin
    assert dfs_ok(cluster, "-cat", "/tree/a.txt") == appended


def test_setrep_w_waits_until_the_replicas_match(sqlite_data_cluster: DataCluster, tmp_path: Path) -> None:
    # Catches: -setrep -w returning before the datanodes hold (or dropped) the replicas, a namenode that
    # never removes excess replicas or never adds the missing ones, copies that differ from the original.
    cluster = sqlite_data_cluster
    (tmp_path / "large.bin").write_bytes(LARGE)
    source = make_local_tree(tmp_path / "source", REPLICATED_TREE)
    dfs_ok(cluster, "-put", str(tmp_path / "large.bin"), "/large.bin")
    dfs_ok(cluster, "-put", str(source), "/tree")

    output = dfs_ok(cluster, "-setrep", "-w", "1", "/large.bin").decode()
    assert "Replication 1 set: /large.bin" in output
    assert [len(nodes) for nodes in cluster.holders("/large.bin")] == [1]
    (block,) = cluster.blocks("/large.bin")
    keeper = cluster.datanode_index(block.locations[0].uuid)

    def holding() -> list[int]:
        return [index for index in (1, 2, 3) if cluster.finalized_replica(index, block.block.block_id)]

    assert wait_until(lambda: holding() == [keeper], EVENTUAL_TIMEOUT_S), (
        holding()
    )  # the others deleted theirs

    dfs_ok(cluster, "-setrep", "-w", "3", "/large.bin")
    assert cluster.fully_replicated("/large.bin", 3)
    assert cluster.replica_mismatches("/large.bin", LARGE) == []

    output = dfs_ok(cluster, "-setrep", "-w", "2", "/tree").decode()  # every file below a directory
    assert output.count("Replication 2 set:") == len(REPLICATED_TREE)
    for relative, data in REPLICATED_TREE.items():
        if data:
            assert cluster.fully_replicated(f"/tree/{relative}", 2), relative
            assert cluster.replica_mismatches(f"/tree/{relative}", data) == []


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else b"<dir>"
        for path in sorted(root.rglob("*"))
    }
