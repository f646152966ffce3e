"""hdfs-native 0.14.7, an unmodified HDFS client, on small files that hopsfs stores inline in the
metadata store: it reads them block-wise from the namenode's transfer server, its own small writes
land in blocks on datanodes, and an append to an inline file is refused with a message that says
what to do (docs/architecture.md, "Small files and HDFS clients")."""

from __future__ import annotations

import fsspec
import pytest
from hdfs_native import WriteOptions
from support.data_cluster import DataCluster, payload
from support.native import native_client

SIZES = (0, 1, 511, 512, 513, 4_096, 65_536)


def test_hdfs_native_reads_inline_files_of_every_size(cluster: DataCluster) -> None:
    # Catches: inline files an HDFS client cannot open, or reads whole, ranged or after a seek that
    # come back short, shifted or rejected for their checksums.
    files = {f"/inline/f{size}": payload(size, seed=size) for size in SIZES}
    with cluster.connect() as client:
        for path, data in files.items():
            client.write_bytes(path, data)
            assert client.inline_bytes(path) == data
    native = native_client(cluster)
    for path, data in files.items():
        assert native.get_file_info(path).length == len(data)
        with native.read(path) as reader:
            assert reader.read() == data
        if len(data) > 600:
            with native.read(path) as reader:
                assert reader.read_range(500, 30) == data[500:530]
                reader.seek(len(data) - 7)
                assert reader.read(100) == data[-7:]
    host, port = cluster.url.removeprefix("hopsfs://").rsplit(":", 1)
    filesystem = fsspec.filesystem("hdfs", host=host, port=int(port), skip_instance_cache=True)
    assert filesystem.cat_file("/inline/f4096") == files["/inline/f4096"]
    assert filesystem.cat_file("/inline/f65536", start=100, end=600) == files["/inline/f65536"][100:600]


def test_hdfs_native_small_write_lands_in_blocks_and_hopsfs_reads_it(cluster: DataCluster) -> None:
    # Catches: a small file written by an HDFS client that is lost, or half inline and half blocks.
    data = payload(4_096, seed=9)
    native = native_client(cluster)
    with native.create("/native/small", WriteOptions(replication=3)) as writer:
        writer.write(data)
    assert [block.block.num_bytes for block in cluster.blocks("/native/small")] == [len(data)]
    with cluster.connect() as client:
        assert client.inline_bytes("/native/small") is None
        assert client.read_bytes("/native/small") == data


def test_hdfs_native_append_to_an_inline_file_is_refused_and_loses_nothing(cluster: DataCluster) -> None:
    # Catches: an HDFS append that corrupts an inline file, or fails with a message nobody can act on.
    data = payload(2_000, seed=10)
    with cluster.connect() as client:
        client.write_bytes("/inline/append", data)
    native = native_client(cluster)
    with pytest.raises(Exception, match="small file stored in the metadata store"):
        native.append("/inline/append")
    with native.read("/inline/append") as reader:
        assert reader.read() == data
    with cluster.connect() as client:
        with client.append("/inline/append") as stream:  # the hopsfs client moves it to blocks
            stream.write(b"tail")
        assert client.inline_bytes("/inline/append") is None
    with native.read("/inline/append") as reader:
        assert reader.read() == data + b"tail"
    with native.append("/inline/append") as writer:  # in blocks now: HDFS's append
        writer.write(b"!")
    with native.read("/inline/append") as reader:
        assert reader.read() == data + b"tail!"
