"""hdfs-native 0.14.7 (the Rust HDFS client: its Python bindings and its fsspec driver) moving file
data through a real hopsfs cluster: a namenode and three datanode processes over real sockets.

Multi-block files (2.5 MB with 1 MiB blocks) are written and read byte for byte, appended to, and
crossed over with the hopsfs client in both directions; the replicas on the datanodes' volumes are
compared with what was written. (Not tested: hdfs-native gives up when a datanode dies right before a
new block's pipeline is set up; it has no retry there.)
"""

from __future__ import annotations

import fsspec
from hdfs_native import Client, WriteOptions
from hdfs_native.fsspec import HdfsFileSystem
from support.data_cluster import (
    BLOCK_BYTES,
    EVENTUAL_TIMEOUT_S,
    DataCluster,
    payload,
    wait_until,
    write_file,
)
from support.native import native_client

SIZE = 2_500_000  # two full 1 MiB blocks and a partial third


def native_write(client: Client, path: str, data: bytes, piece_bytes: int = 100_000) -> None:
    with client.create(path, WriteOptions(block_size=BLOCK_BYTES, replication=3)) as writer:
        for start in range(0, len(data), piece_bytes):
            writer.write(data[start : start + piece_bytes])


def native_read(client: Client, path: str) -> bytes:
    with client.read(path) as reader:
        return reader.read()


def assert_stored(cluster: DataCluster, path: str, data: bytes) -> None:
    """The namenode lists one block per MiB, each on 3 datanodes holding exactly its bytes."""
    assert wait_until(lambda: cluster.fully_replicated(path, 3), EVENTUAL_TIMEOUT_S), cluster.holders(path)
    assert [block.offset for block in cluster.blocks(path)] == list(range(0, len(data), BLOCK_BYTES))
    assert cluster.replica_mismatches(path, data) == []


def test_hdfs_native_writes_reads_and_appends_multi_block_files(cluster: DataCluster) -> None:
    # Catches: packets, checksums, acks or block boundaries hdfs-native sends that our datanodes
    # mishandle (a file that is short, shifted or differently split into blocks), reads it cannot
    # parse, an append protocol (stamps, PIPELINE_SETUP_APPEND, a partial last chunk) it cannot follow.
    client = native_client(cluster)
    data = payload(SIZE, seed=1)
    native_write(client, "/native/file", data, piece_bytes=65_537)
    assert client.get_file_info("/native/file").length == SIZE
    assert native_read(client, "/native/file") == data
    with client.read("/native/file") as reader:
        assert reader.read_range(BLOCK_BYTES - 10, 20) == data[BLOCK_BYTES - 10 : BLOCK_BYTES + 10]
        reader.seek(2 * BLOCK_BYTES - 3)
        assert reader.read(100) == data[2 * BLOCK_BYTES - 3 : 2 * BLOCK_BYTES + 97]
    assert_stored(cluster, "/native/file", data)
    # Appends: mid-chunk into the partial last block, then across into a fourth block.
    for number, extra in enumerate([payload(1000, seed=2), payload(BLOCK_BYTES, seed=3)]):
        with client.append("/native/file") as writer:
            writer.write(extra)
        data += extra
        assert native_read(client, "/native/file") == data, number
        assert_stored(cluster, "/native/file", data)
    with cluster.connect() as hopsfs_client:
        assert hopsfs_client.read_bytes("/native/file") == data


def test_files_cross_between_the_hopsfs_client_and_hdfs_native(cluster: DataCluster) -> None:
    # Catches: anything one client writes that the other reads differently (checksum type or chunk
    # size, packet layout, block lengths, a last block not reported complete), including appends.
    native = native_client(cluster)
    from_hopsfs = payload(SIZE, seed=4)
    from_native = payload(SIZE, seed=5)
    with cluster.connect() as client:
        write_file(client, "/cross/from-hopsfs", from_hopsfs, piece_bytes=7919)
        native_write(native, "/cross/from-native", from_native)
        assert native_read(native, "/cross/from-hopsfs") == from_hopsfs
        with native.read("/cross/from-hopsfs") as reader:
            for start, length in [(0, 1), (511, 2), (BLOCK_BYTES - 1, 2), (SIZE - 5, 5)]:
                assert reader.read_range(start, length) == from_hopsfs[start : start + length]
        assert client.read_bytes("/cross/from-native") == from_native
        assert (
            client.read_bytes("/cross/from-native", BLOCK_BYTES - 7, BLOCK_BYTES + 7)
            == (from_native[BLOCK_BYTES - 7 : BLOCK_BYTES + 7])
        )
        # Each appends to the other's file (once all replicas are reported, so the append's pipeline
        # has all three: see test_an_append_right_after_close_writes_every_replica).
        for path in ("/cross/from-hopsfs", "/cross/from-native"):
            assert wait_until(lambda p=path: cluster.fully_replicated(p, 3), EVENTUAL_TIMEOUT_S)
        with native.append("/cross/from-hopsfs") as writer:
            writer.write(b"native tail")
        with client.append("/cross/from-native") as stream:
            stream.write(b"hopsfs tail")
        assert client.read_bytes("/cross/from-hopsfs") == from_hopsfs + b"native tail"
        assert native_read(native, "/cross/from-native") == from_native + b"hopsfs tail"
    assert_stored(cluster, "/cross/from-hopsfs", from_hopsfs + b"native tail")
    assert_stored(cluster, "/cross/from-native", from_native + b"hopsfs tail")


def test_hdfs_native_fsspec_driver_pipes_cats_and_opens(cluster: DataCluster) -> None:
    # Catches: the fsspec driver's write path (its own create options, small writes) or its ranged
    # and seeking reads meeting data our datanodes store or serve wrongly.
    host, port = cluster.url.removeprefix("hopsfs://").rsplit(":", 1)
    filesystem = fsspec.filesystem("hdfs", host=host, port=int(port), skip_instance_cache=True)
    assert isinstance(filesystem, HdfsFileSystem)  # hdfs-native's driver, not pyarrow's
    small = payload(70_000, seed=6)
    filesystem.pipe("/fsspec/small", small)
    assert filesystem.cat("/fsspec/small") == small
    assert filesystem.cat_file("/fsspec/small", start=100, end=600) == small[100:600]
    data = payload(SIZE, seed=7)
    with filesystem.open("/fsspec/large", "wb", block_size=BLOCK_BYTES, replication=3) as writer:
        for start in range(0, SIZE, 300_000):
            writer.write(data[start : start + 300_000])
    assert filesystem.info("/fsspec/large")["size"] == SIZE
    assert filesystem.cat("/fsspec/large") == data
    with filesystem.open("/fsspec/large", "rb") as reader:
        reader.seek(BLOCK_BYTES + 5)
        assert reader.read(1000) == data[BLOCK_BYTES + 5 : BLOCK_BYTES + 1005]
        reader.seek(-10, 2)
        assert reader.read() == data[-10:]
    assert_stored(cluster, "/fsspec/large", data)
    with cluster.connect() as client:
        assert client.read_bytes("/fsspec/small") == small
        assert client.read_bytes("/fsspec/large") == data
