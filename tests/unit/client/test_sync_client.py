"""The blocking client's file API end to end: `hopsfs.connect()` -> Hadoop IPC (the block calls encoded
and decoded by the client's RPC layer) -> a namenode test peer, and DataTransferProtocol -> fake
datanodes."""

from __future__ import annotations

import dataclasses
import io
import shutil
from collections.abc import Iterator

import pytest
from client_support import BLOCK, TEST_SETTINGS, FakeCluster, payload
from fake_ipc_namenode import FakeIpcNamenode
from memory_namenode import POOL_ID

import hopsfs
from hopsfs.client import Client
from hopsfs.client.sync_streams import InputStream, OutputStream
from hopsfs.errors import FileAlreadyExists, FileNotFound, PipelineFailed


@pytest.fixture(name="namenode")
def namenode_fixture(cluster: FakeCluster) -> Iterator[FakeIpcNamenode]:
    namenode = FakeIpcNamenode(cluster.namespace)
    cluster.loop.run(namenode.start())
    try:
        yield namenode
    finally:
        cluster.loop.run(namenode.stop())


@pytest.fixture(name="client")
def client_fixture(namenode: FakeIpcNamenode) -> Iterator[Client]:
    settings = dataclasses.replace(TEST_SETTINGS, lease_renewal_interval_s=0.05)
    client = hopsfs.connect(namenode.url, user="tester", stream_settings=settings)
    try:
        yield client
    finally:
        client.close()


def test_open_write_then_read_with_file_object_semantics(client: Client) -> None:
    data = payload(2 * BLOCK + 1234)
    with client.open("/dir/f", "wb") as output:
        assert isinstance(output, OutputStream) and output.writable()
        shutil.copyfileobj(io.BytesIO(data), output, 100_000)
        assert output.tell() == len(data)
    with client.open("/dir/f") as stream:
        assert isinstance(stream, InputStream) and stream.seekable() and stream.readable()
        assert stream.length == len(data)
        assert stream.read(10) == data[:10]
        stream.seek(BLOCK - 3)
        assert stream.read(6) == data[BLOCK - 3 : BLOCK + 3]
        assert stream.read_at(5, 5) == data[5:10]
        assert stream.tell() == BLOCK + 3
        stream.seek(0)
        copy = io.BytesIO()
        shutil.copyfileobj(stream, copy)
        assert copy.getvalue() == data
    assert stream.closed
    assert client.stat("/dir/f").size == len(data)


def test_read_bytes_write_bytes_and_modes(client: Client) -> None:
    client.write_bytes("/b", b"0123456789")
    assert client.read_bytes("/b") == b"0123456789"
    assert client.read_bytes("/b", 3, 7) == b"3456"
    assert client.read_bytes("/b", 8, 100) == b"89"
    with pytest.raises(FileAlreadyExists):
        client.open("/b", "xb")
    with client.open("/b", "ab") as output:
        output.write(b"abc")
    with client.open("/new-by-append", "ab") as output:
        output.write(b"created")
    assert client.read_bytes("/b") == b"0123456789abc"
    assert client.read_bytes("/new-by-append") == b"created"
    with client.open("/b", "wb") as output:
        output.write(b"truncated")
    assert client.read_bytes("/b") == b"truncated"
    with pytest.raises(FileNotFound):
        client.read_bytes("/missing")
    with pytest.raises(ValueError, match="invalid mode"):
        client.open("/b", "rw")


def test_text_mode_and_line_iteration(client: Client) -> None:
    with client.open("/t.txt", "w") as output:
        output.write("first line\nsecond, ünïcode\nthird")
    with client.open("/t.txt", "r") as text:
        assert list(text) == ["first line\n", "second, ünïcode\n", "third"]
    with client.open("/t.txt", "rb") as binary:
        assert binary.readline() == b"first line\n"


def test_create_arguments_and_block_locations_over_rpc(client: Client, cluster: FakeCluster) -> None:
    data = payload(300_000)
    with client.create("/r", replication=2, block_size=128 * 1024, permission=0o600) as output:
        output.write(data)
    status = client.stat("/r")
    assert (status.replication, status.block_size, status.permission) == (2, 128 * 1024, 0o600)
    located = client.get_block_locations("/r", 0, 10**9)
    assert located.file_length == len(data) and not located.under_construction
    assert [block.offset for block in located.blocks] == [0, 128 * 1024, 256 * 1024]
    assert all(block.block.pool_id == POOL_ID for block in located.blocks)
    ports = {dn.port for dn in cluster.datanodes}
    assert all(
        len(block.locations) == 2 and {n.transfer_port for n in block.locations} <= ports
        for block in located.blocks
    )
    assert client.read_bytes("/r") == data


def test_pipeline_recovery_and_bad_block_reports_go_through_the_rpcs(
    client: Client, cluster: FakeCluster
) -> None:
    data = payload(BLOCK + 5000)
    cluster.datanodes[1].faults.die_after_packets = 4
    with client.open("/rec", "wb") as output:
        output.write(data)
    assert output.async_stream.recoveries >= 1
    assert cluster.namespace.calls["updatePipeline"] >= 1
    cluster.datanodes[0].faults.corrupt_reads = True
    assert client.read_bytes("/rec") == data
    first_block = cluster.namespace.inodes["/rec"].blocks[0].block_id
    assert (first_block, cluster.datanodes[0].uuid) in cluster.namespace.corrupt


def test_a_failed_write_raises_on_close_over_rpc(client: Client, cluster: FakeCluster) -> None:
    for datanode in cluster.datanodes:
        datanode.faults.die_after_packets = 2
    output = client.open("/lost", "wb")
    with pytest.raises(PipelineFailed):
        try:
            output.write(payload(BLOCK // 2))
        finally:
            output.close()
    assert cluster.namespace.calls["complete"] == 0


def test_the_lease_is_renewed_over_rpc_while_writing(client: Client, namenode: FakeIpcNamenode) -> None:
    import time

    output = client.open("/slow", "wb")
    output.write(b"x")
    deadline = time.monotonic() + 5
    while namenode.lease_renewals < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    output.close()
    assert namenode.lease_renewals >= 2


def test_recover_lease(client: Client, cluster: FakeCluster) -> None:
    output = client.open("/open", "wb")
    output.write(b"abc")
    output.hflush()
    assert client.recover_lease("/open") is False  # recovery started: the file was open
    assert client.recover_lease("/open") is True
    output.abort()


def test_closing_the_client_aborts_streams_left_open(namenode: FakeIpcNamenode, cluster: FakeCluster) -> None:
    client = hopsfs.connect(namenode.url, user="tester", stream_settings=TEST_SETTINGS)
    client.write_bytes("/r", payload(10_000))
    reader = client.open("/r")
    assert reader.read(10) == payload(10_000)[:10]
    writer = client.open("/w", "wb")
    writer.write(b"never completed")
    client.close()
    assert cluster.namespace.calls["complete"] == 1  # only /r's
    status = cluster.namespace.stat("/w")
    assert status is not None and status.under_construction
    assert writer.async_stream.closed and reader.async_stream.closed
    with pytest.raises(PipelineFailed, match="not completed"):
        writer.close()  # never a silent success for a file that was not completed
    reader.close()
