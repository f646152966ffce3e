"""truncate on a real cluster (SQLite and MariaDB): cuts on a block boundary release the blocks past
the end, cuts inside a block finish through block recovery (replication 3: every replica is cut on
disk), small files stored inline are cut in one transaction, and block files cut to a small size move
inline (their replicas are deleted). HDFS's refusals and messages; the CLI's -truncate -w."""

from __future__ import annotations

import pytest
from support.cluster import wait_until
from support.data_cluster import BLOCK_BYTES, EVENTUAL_TIMEOUT_S, DataCluster, payload, run_dfs, write_file

import hopsfs
from hopsfs.errors import FileNotFound, InvalidArgument, LeaseConflict, PermissionDenied
from hopsfs.types import Caller
from namenode.ops.truncate import ExpectedFile

SUPERUSER = Caller("hdfs")
THREE_BLOCKS = 2 * BLOCK_BYTES + BLOCK_BYTES // 2


def _stored_inline(cluster: DataCluster, path: str) -> bool:
    return cluster.engine().read_with_metadata(SUPERUSER, path).data is not None


def _block_ids(cluster: DataCluster, path: str) -> list[int]:
    return [located.block.block_id for located in cluster.blocks(path)]


def _replicas_gone(cluster: DataCluster, block_ids: list[int]) -> bool:
    return not any(
        cluster.replica_files(index, block_id)
        for index in cluster.datanode_indexes()
        for block_id in block_ids
    )


def test_a_cut_on_a_block_boundary_drops_the_blocks_past_it(data_cluster: DataCluster) -> None:
    data = payload(THREE_BLOCKS, seed=1)
    with data_cluster.connect() as client:
        write_file(client, "/f", data)
        dropped = _block_ids(data_cluster, "/f")[1:]
        assert client.truncate("/f", BLOCK_BYTES, wait=False)
        assert client.stat("/f").size == BLOCK_BYTES and not data_cluster.being_written("/f")
        assert client.read_bytes("/f") == data[:BLOCK_BYTES]
        assert len(data_cluster.blocks("/f")) == 1
        assert client.truncate("/f", BLOCK_BYTES, wait=False)  # re-sent: same length, True again
        assert wait_until(lambda: _replicas_gone(data_cluster, dropped), EVENTUAL_TIMEOUT_S)
    changes = [event.operation for event in data_cluster.engine().read_changes() if event.name == "f"]
    assert "TRUNCATE" in changes


def test_a_cut_inside_a_block_recovers_every_replica_and_appends_after(data_cluster: DataCluster) -> None:
    data = payload(THREE_BLOCKS, seed=2)
    new_length = BLOCK_BYTES + 12_345
    with data_cluster.connect() as client:
        write_file(client, "/f", data, replication=3)
        assert not client.truncate("/f", new_length, wait=False)
        assert data_cluster.being_written("/f")
        assert not client.truncate("/f", new_length, wait=False)  # re-sent while recovering
        with pytest.raises(LeaseConflict, match="is being truncated"):
            client.truncate("/f", new_length - 1, wait=False)
        assert client.truncate("/f", new_length)  # waits for the recovery to close the file
        assert client.stat("/f").size == new_length and client.is_file_closed("/f")
        assert client.read_bytes("/f") == data[:new_length]
        assert wait_until(lambda: data_cluster.fully_replicated("/f", 3), EVENTUAL_TIMEOUT_S)
        assert data_cluster.replica_mismatches("/f", data[:new_length]) == []
        with client.open("/f", "ab") as stream:
            stream.write(b"appended after the truncate")
        assert client.read_bytes("/f") == data[:new_length] + b"appended after the truncate"


def test_a_cut_to_zero_empties_the_file(data_cluster: DataCluster) -> None:
    with data_cluster.connect(inline_offer_bytes_max=0) as client:  # the HDFS way: stays in blocks
        write_file(client, "/f", payload(5000, seed=3))
        dropped = _block_ids(data_cluster, "/f")
        assert client.truncate("/f", 0)
        assert client.stat("/f").size == 0 and client.read_bytes("/f") == b""
        assert data_cluster.blocks("/f") == []
        assert wait_until(lambda: _replicas_gone(data_cluster, dropped), EVENTUAL_TIMEOUT_S)


def test_truncate_refuses_as_hdfs_does(data_cluster: DataCluster) -> None:
    with data_cluster.connect() as client, hopsfs.connect(data_cluster.url, user="alice") as alice:
        client.write_bytes("/small", b"0123456789")
        message = "Cannot truncate to a larger file size. Current size: 10, truncate size: 11."
        with pytest.raises(InvalidArgument, match=message):
            client.truncate("/small", 11)
        with pytest.raises(InvalidArgument, match="negative file size"):
            client.truncate("/small", -1)
        client.mkdirs("/dir")
        with pytest.raises(FileNotFound, match="Path is not a file"):
            client.truncate("/dir", 0)
        with pytest.raises(FileNotFound):
            client.truncate("/missing", 0)
        with pytest.raises(PermissionDenied):
            alice.truncate("/small", 1)
        with client.create("/open") as stream:  # an HDFS create: open under the client's lease
            stream.write(b"being written")
            with pytest.raises(LeaseConflict, match="Failed to TRUNCATE_FILE /open"):
                client.truncate("/open", 0)  # its own lease: "already the current lease holder"
            with data_cluster.connect() as other, pytest.raises(LeaseConflict, match="currently owned"):
                other.truncate("/open", 0)
        assert client.read_bytes("/small") == b"0123456789"


def test_an_inline_file_is_cut_in_place_across_tiers(data_cluster: DataCluster) -> None:
    data = payload(9000, seed=4)  # chunk rows, then the 4k, 2k and 1k tiers, then no row
    with data_cluster.connect() as client:
        client.write_bytes("/f", data)
        for length in (8001, 4000, 3999, 1500, 1024, 7, 0):
            assert client.truncate("/f", length)
            assert _stored_inline(data_cluster, "/f")
            assert client.stat("/f").size == length
            assert client.read_bytes("/f") == data[:length]


def test_a_block_file_cut_to_a_small_size_moves_inline(data_cluster: DataCluster) -> None:
    data = payload(THREE_BLOCKS, seed=5)
    with data_cluster.connect() as client:
        write_file(client, "/f", data)
        blocks = _block_ids(data_cluster, "/f")
        assert client.truncate("/f", 1000)
        assert _stored_inline(data_cluster, "/f")
        assert client.read_bytes("/f") == data[:1000]
        assert wait_until(lambda: _replicas_gone(data_cluster, blocks), EVENTUAL_TIMEOUT_S)
        client.mkdirs("/blocks-only")
        client.set_inline_threshold("/blocks-only", 0)
        write_file(client, "/blocks-only/g", data)
        assert client.truncate("/blocks-only/g", 1000)  # refused inline: a cut on the HDFS path
        assert not _stored_inline(data_cluster, "/blocks-only/g")
        assert client.read_bytes("/blocks-only/g") == data[:1000]


def test_a_move_inline_of_a_changed_file_is_refused(data_cluster: DataCluster) -> None:
    data = payload(5000, seed=6)
    engine = data_cluster.engine()
    with data_cluster.connect() as client:
        write_file(client, "/f", data)
        status = client.stat("/f")
        stale = ExpectedFile(status.inode_id, status.size, status.modification_time_ms - 1)
        refused = engine.truncate_to_inline(SUPERUSER, "/f", data[:100], stale)
        assert not refused.moved and "changed" in refused.reason
        other = ExpectedFile(status.inode_id + 1, status.size, status.modification_time_ms)
        assert not engine.truncate_to_inline(SUPERUSER, "/f", data[:100], other).moved
        assert not _stored_inline(data_cluster, "/f")
        assert client.read_bytes("/f") == data
        current = ExpectedFile(status.inode_id, status.size, status.modification_time_ms)
        assert engine.truncate_to_inline(SUPERUSER, "/f", data[:100], current).moved
        assert client.read_bytes("/f") == data[:100]


def test_the_cli_truncates_and_waits(data_cluster: DataCluster) -> None:
    data = payload(THREE_BLOCKS, seed=7)
    with data_cluster.connect() as client:
        write_file(client, "/cli/a", data)
        write_file(client, "/cli/b", data)
    cut = BLOCK_BYTES + 777
    done = run_dfs(data_cluster.url, "-truncate", "-w", str(cut), "/cli/a", "/cli/b")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines == [
        "Waiting for /cli/a ...",
        f"Truncated /cli/a to length: {cut}",
        "Waiting for /cli/b ...",
        f"Truncated /cli/b to length: {cut}",
    ]
    boundary = run_dfs(data_cluster.url, "-truncate", str(BLOCK_BYTES), "/cli/a")
    assert boundary.stdout.decode().splitlines() == [f"Truncated /cli/a to length: {BLOCK_BYTES}"]
    larger = run_dfs(data_cluster.url, "-truncate", str(THREE_BLOCKS), "/cli/b")
    assert larger.returncode == 1 and b"Cannot truncate to a larger file size" in larger.stderr
    with data_cluster.connect() as client:
        assert client.read_bytes("/cli/a") == data[:BLOCK_BYTES]
        assert client.read_bytes("/cli/b") == data[:cut]
