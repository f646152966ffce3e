"""open(path, "wb"/"xb") on a real cluster (hopsfs/client/small_output_stream.py): created at open
with its lease, as HDFS does; completed with its bytes stored inline when they stayed within the
offer; moved to blocks when they outgrow it, on hflush, or when the directory refuses them."""

from __future__ import annotations

import pytest
from support.data_cluster import DataCluster, payload

from hopsfs.errors import FileAlreadyExists, LeaseConflict
from hopsfs.types import Caller

SUPERUSER = Caller("hdfs")


def _inline(cluster: DataCluster, path: str) -> bytes | None:
    return cluster.engine().read_with_metadata(SUPERUSER, path).data


@pytest.mark.parametrize("size", [0, 1, 4_096, 65_536])
def test_a_small_stream_is_completed_inline(data_cluster: DataCluster, size: int) -> None:
    # Catches: small streams that still go to datanodes, bytes lost or reordered across writes.
    data = payload(size, seed=size)
    with data_cluster.connect() as client:
        with client.open("/s/f", "wb") as stream:
            for start in range(0, size, 1_000):
                stream.write(data[start : start + 1_000])
            assert stream.tell() == size
        assert _inline(data_cluster, "/s/f") == data
        assert client.read_bytes("/s/f") == data
        assert not data_cluster.engine().stat(SUPERUSER, "/s/f").under_construction  # fsck: no blocks


def test_a_stream_that_outgrows_the_offer_goes_to_blocks(data_cluster: DataCluster) -> None:
    data = payload(200_000, seed=1)
    with data_cluster.connect() as client:
        with client.open("/s/big", "wb") as stream:
            stream.write(data[:60_000])
            stream.write(data[60_000:])
            assert stream.tell() == len(data)
        assert _inline(data_cluster, "/s/big") is None
        assert client.read_bytes("/s/big") == data
    assert sum(block.block.num_bytes for block in data_cluster.blocks("/s/big")) == len(data)


def test_hflush_makes_a_small_stream_visible_through_blocks(data_cluster: DataCluster) -> None:
    with (
        data_cluster.connect() as client,
        client.connect_another() if False else data_cluster.connect() as reader,
    ):
        stream = client.open("/s/flushed", "wb")
        stream.write(b"visible")
        stream.hflush()
        assert reader.read_bytes("/s/flushed") == b"visible"  # an open file's hflushed bytes
        stream.write(b" and more")
        stream.close()
        assert reader.read_bytes("/s/flushed") == b"visible and more"
    assert _inline(data_cluster, "/s/flushed") is None


def test_the_create_happens_at_open_with_its_lease_and_errors(data_cluster: DataCluster) -> None:
    # Catches: a buffered stream that takes no lease (two writers racing) or reports "exists" late.
    with data_cluster.connect() as client, data_cluster.connect() as other:
        client.write_bytes("/s/exists", b"old")
        with pytest.raises(FileAlreadyExists):
            client.open("/s/exists", "xb")
        client.mkdirs("/s/dir")
        with pytest.raises(FileAlreadyExists, match="directory"):
            client.open("/s/dir", "wb")
        stream = client.open("/s/held", "wb")
        stream.write(b"mine")
        assert data_cluster.engine().stat(SUPERUSER, "/s/held").under_construction
        with pytest.raises(LeaseConflict):
            other.append("/s/held")
        stream.close()
        assert other.read_bytes("/s/held") == b"mine"


def test_a_directory_that_keeps_blocks_gets_the_bytes_through_blocks(data_cluster: DataCluster) -> None:
    with data_cluster.connect() as client:
        client.mkdirs("/blocks")
        client.set_inline_threshold("/blocks", 10)
        with client.open("/blocks/f", "wb") as stream:
            stream.write(b"more than ten bytes")
        assert _inline(data_cluster, "/blocks/f") is None
        assert client.read_bytes("/blocks/f") == b"more than ten bytes"
        with client.open("/blocks/g", "wb") as stream:
            stream.write(b"ten bytes!")
        assert _inline(data_cluster, "/blocks/g") == b"ten bytes!"


def test_an_aborted_small_stream_stores_nothing(data_cluster: DataCluster) -> None:
    with data_cluster.connect() as client:
        stream = client.open("/s/aborted", "wb")
        stream.write(b"never")
        stream.abort()
        aborted = data_cluster.engine().stat(SUPERUSER, "/s/aborted")
        assert aborted.size == 0 and aborted.under_construction  # the lease is left for recovery
        with data_cluster.connect() as other:
            assert other.recover_lease("/s/aborted")  # no block: closed at once, empty
        assert client.read_bytes("/s/aborted") == b""
        with client.open("/s/text.txt", "w") as text:  # text mode rides on the same stream
            text.write("héllo\n")
        assert client.read_bytes("/s/text.txt") == "héllo\n".encode()
