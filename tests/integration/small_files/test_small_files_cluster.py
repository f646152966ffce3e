"""Small files on a real cluster: the hopsfs client writes and reads them in one namenode round trip
each (write_bytes, read_bytes, open('rb')), batches many in one call, falls back to blocks above a
directory's threshold, and many clients write one directory at once. HDFS-style calls still write
blocks, and a block read of an inline file is served by the namenode."""

from __future__ import annotations

import threading

import pytest
from support.data_cluster import DataCluster, payload

from hopsfs.types import Caller

SUPERUSER = Caller("hdfs")
SIZES = (0, 1, 1024, 4000, 4001, 20_000, 65_536)


def _stored_inline(cluster: DataCluster, path: str) -> bool:
    return cluster.engine().read_with_metadata(SUPERUSER, path).data is not None


@pytest.mark.parametrize("size", SIZES)
def test_a_small_file_is_written_inline_and_reads_back(data_cluster: DataCluster, size: int) -> None:
    data = payload(size, seed=size)
    with data_cluster.connect() as client:
        client.write_bytes("/small/f", data)
        assert _stored_inline(data_cluster, "/small/f")
        assert client.read_bytes("/small/f") == data
        assert client.read_bytes("/small/f", 3, 900) == data[3:900]
        assert client.stat("/small/f").size == size
        with client.open("/small/f", "rb") as stream:
            stream.seek(size // 2)
            assert stream.read() == data[size // 2 :]
        client.write_bytes("/small/f", b"replaced")  # overwrite, inline again
        assert client.read_bytes("/small/f") == b"replaced"


def test_a_block_read_of_an_inline_file_is_served_by_the_namenode(data_cluster: DataCluster) -> None:
    with data_cluster.connect() as client:
        client.write_bytes("/small/g", b"inline")
        (block,) = client.get_block_locations("/small/g").blocks
        (location,) = block.locations
        datanode_ports = {data_cluster.datanode_port(index) for index in data_cluster.datanode_indexes()}
        assert block.block.num_bytes == 6 and location.transfer_port not in datanode_ports
        assert client.read_bytes("/small/g") == b"inline"


def test_large_data_and_block_streams_use_blocks(data_cluster: DataCluster) -> None:
    big = payload(65_537, seed=3)
    with data_cluster.connect() as client:
        client.write_bytes("/big", big)  # above the threshold: never offered inline
        assert not _stored_inline(data_cluster, "/big")
        with client.create("/streamed") as stream:  # create(): an HDFS create + addBlock + complete
            stream.write(b"tiny but streamed")
        assert not _stored_inline(data_cluster, "/streamed")
        assert client.read_bytes("/big") == big
        assert client.read_bytes("/streamed") == b"tiny but streamed"
    assert len(data_cluster.blocks("/big")) == 1
    assert len(data_cluster.blocks("/streamed")) == 1


def test_a_directory_threshold_sends_larger_files_to_blocks(data_cluster: DataCluster) -> None:
    with data_cluster.connect() as client:
        client.mkdirs("/limited")
        client.set_inline_threshold("/limited", 100)
        client.write_bytes("/limited/small", b"s" * 100)
        client.write_bytes("/limited/larger", b"l" * 101)  # refused inline, written through blocks
        assert _stored_inline(data_cluster, "/limited/small")
        assert not _stored_inline(data_cluster, "/limited/larger")
        assert client.read_bytes("/limited/larger") == b"l" * 101
        client.set_inline_threshold("/limited", 0)
        client.write_bytes("/limited/none", b"n")
        assert not _stored_inline(data_cluster, "/limited/none")


def test_a_batch_creates_many_files_in_one_call(data_cluster: DataCluster) -> None:
    files = [(f"/batch/d{index % 4}/f{index}", payload(index * 13, seed=index)) for index in range(200)]
    with data_cluster.connect() as client:
        statuses = client.batch_create_with_data(files)
        assert statuses is not None and [status.size for status in statuses] == [len(d) for _, d in files]
        for path, data in files:
            assert client.read_bytes(path) == data
        assert client.batch_create_with_data([("/batch/too-big", b"x" * 70_000)]) is None


def test_many_clients_write_small_files_in_one_directory(data_cluster: DataCluster) -> None:
    writers, files_each = 6, 25
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with data_cluster.connect() as client:
                for index in range(files_each):
                    client.write_bytes(f"/shared/w{writer}-{index}", payload(100 + index * 50, seed=writer))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    with data_cluster.connect() as client:
        assert len(client.list("/shared")) == writers * files_each
        assert client.stat("/shared").children_count == writers * files_each
        for writer in range(writers):
            for index in range(files_each):
                expected = payload(100 + index * 50, seed=writer)
                assert client.read_bytes(f"/shared/w{writer}-{index}") == expected


def test_appending_moves_a_small_file_to_blocks(data_cluster: DataCluster) -> None:
    old, new = payload(3000, seed=8), payload(70_000, seed=9)
    with data_cluster.connect() as client:
        client.write_bytes("/grow", old)
        with client.open("/grow", "ab") as stream:
            assert stream.tell() == len(old)
            stream.write(new)
        assert not _stored_inline(data_cluster, "/grow")
        assert client.read_bytes("/grow") == old + new
        assert client.stat("/grow").size == len(old + new)
        with client.open("/grow", "ab") as stream:  # now a block file: the HDFS append
            stream.write(b"tail")
        assert client.read_bytes("/grow") == old + new + b"tail"
    assert sum(block.block.num_bytes for block in data_cluster.blocks("/grow")) == len(old + new) + 4
