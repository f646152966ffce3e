"""Short-circuit reads against a real cluster: a client on the datanodes' host that knows their domain
socket reads replicas from the files the datanodes hand it, and falls back to TCP whenever that cannot
give verified bytes (a corrupt replica, a block still being written, a missing socket), without ever
delivering a wrong byte or blaming a good replica."""

from __future__ import annotations

import random
import socket
import time

from support.data_cluster import (
    BLOCK_BYTES,
    EVENTUAL_TIMEOUT_S,
    READ_BLOCK_OPS,
    DataCluster,
    StartDataCluster,
    payload,
    wait_until,
    write_file,
)

from hopsfs.protocol.dtp_wire import ERROR_UNSUPPORTED, Opcode, encode_op
from hopsfs.protocol.proto.datatransfer_pb2 import BlockOpResponseProto
from hopsfs.protocol.short_circuit import recv_response, socket_path

SHORT_CIRCUIT_REPLICAS = "hopsfs_datanode_short_circuit_replicas_total"
SIZE = 2 * BLOCK_BYTES + 12_345  # three blocks, the last one partial


def metric(cluster: DataCluster, index: int, name: str) -> float:
    return cluster.datanode_metrics(index).get(name, 0.0)


def totals(cluster: DataCluster, name: str) -> float:
    return sum(metric(cluster, index, name) for index in cluster.datanode_indexes())


def test_local_replicas_are_read_from_their_files(sqlite_data_cluster: DataCluster) -> None:
    # Catches: a short-circuit read that silently goes over TCP, or returns shifted bytes at a chunk,
    # piece or block edge, or for a ranged read that starts mid-chunk.
    cluster = sqlite_data_cluster
    data = payload(SIZE, seed=11)
    with cluster.connect() as writer:
        write_file(writer, "/sc/file", data, replication=1)
    tcp_reads_before = totals(cluster, READ_BLOCK_OPS)
    with cluster.connect(domain_socket=cluster.domain_socket) as client:
        assert client.read_bytes("/sc/file") == data
        rng = random.Random(5)
        with client.open("/sc/file", "rb") as stream:
            for _ in range(40):
                offset = rng.randrange(SIZE)
                size = rng.randrange(1, 300_000)
                stream.seek(offset)
                assert stream.read(size) == data[offset : offset + size]
    assert totals(cluster, SHORT_CIRCUIT_REPLICAS) >= 3  # one per block, then cached
    assert totals(cluster, READ_BLOCK_OPS) == tcp_reads_before


def test_corrupt_local_replicas_are_reread_over_tcp_and_reported(sqlite_data_cluster: DataCluster) -> None:
    # Catches: corrupt bytes delivered from a local file, a short-circuit mismatch that fails the read
    # instead of falling back, or one that is never reported (the TCP reread reports it). Two of the
    # three replicas are damaged; readers start at a random replica, so reads go on until both have
    # been tried, reported and dropped, and every read in between returns the right bytes.
    cluster = sqlite_data_cluster
    data = payload(BLOCK_BYTES, seed=12)
    with cluster.connect() as writer:
        write_file(writer, "/sc/corrupt", data, replication=3)
    assert wait_until(lambda: cluster.fully_replicated("/sc/corrupt", 3), EVENTUAL_TIMEOUT_S)
    (block,) = cluster.blocks("/sc/corrupt")
    damaged_on = sorted(cluster.datanode_index(node.uuid) for node in block.locations)[:2]
    for index in damaged_on:
        replica = cluster.finalized_replica(index, block.block.block_id)
        assert replica is not None
        damaged = bytearray(replica.read_bytes())
        damaged[777_777] ^= 0x10
        replica.write_bytes(bytes(damaged))

    def damaged_still_listed() -> bool:
        return bool(set(damaged_on) & cluster.holders("/sc/corrupt")[0])

    for _ in range(60):
        if not damaged_still_listed():
            break
        with cluster.connect(domain_socket=cluster.domain_socket) as client:
            assert client.read_bytes("/sc/corrupt") == data
    assert wait_until(lambda: not damaged_still_listed(), EVENTUAL_TIMEOUT_S)


def test_a_block_being_written_is_read_over_tcp(sqlite_data_cluster: DataCluster) -> None:
    # Catches: a replica being written handed out (its bytes and checksums still change), or a reader
    # that fails instead of reading the visible bytes over TCP.
    cluster = sqlite_data_cluster
    data = payload(300_000, seed=13)
    with cluster.connect() as writer, cluster.connect(domain_socket=cluster.domain_socket) as reader:
        stream = writer.create("/sc/open", replication=1)
        try:
            stream.write(data)
            stream.hflush()
            assert reader.read_bytes("/sc/open") == data
        finally:
            stream.close()
        assert reader.read_bytes("/sc/open") == data


def test_a_missing_socket_falls_back_to_tcp(sqlite_data_cluster: DataCluster, tmp_path: object) -> None:
    # Catches: a misconfigured socket path turning every read into an error.
    cluster = sqlite_data_cluster
    data = payload(BLOCK_BYTES + 1, seed=14)
    with cluster.connect() as writer:
        write_file(writer, "/sc/nosocket", data, replication=1)
    with cluster.connect(domain_socket="/nonexistent/hopsfs/dn._PORT") as client:
        assert client.read_bytes("/sc/nosocket") == data
        assert client.read_bytes("/sc/nosocket") == data


def test_appended_bytes_are_read_after_a_short_circuit_read(sqlite_data_cluster: DataCluster) -> None:
    # Catches: cached descriptors of the block before the append serving the old length or a stale
    # checksum of the last partial chunk (which an append rewrites in place).
    cluster = sqlite_data_cluster
    data = payload(100_000, seed=15)
    extra = payload(50_001, seed=16)
    with cluster.connect() as writer, cluster.connect(domain_socket=cluster.domain_socket) as reader:
        write_file(writer, "/sc/append", data, replication=1)
        assert reader.read_bytes("/sc/append") == data
        with writer.append("/sc/append") as stream:
            stream.write(extra)
        assert reader.read_bytes("/sc/append") == data + extra
        assert reader.read_bytes("/sc/append") == data + extra


def test_the_domain_socket_refuses_bad_requests_and_keeps_serving(
    start_data_cluster: StartDataCluster, sqlite_url: str
) -> None:
    # Catches: a datanode that serves other operations on its domain socket, dies on garbage, or
    # stops serving short-circuit reads after a bad client.
    cluster = start_data_cluster(sqlite_url, datanodes=1)
    data = payload(70_000, seed=17)
    with cluster.connect() as writer:
        write_file(writer, "/sc/bad", data, replication=1)
    path = socket_path(cluster.domain_socket, cluster.datanode_port(1))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(encode_op(Opcode.READ_BLOCK, b""))  # any body: the opcode alone is refused
        response = BlockOpResponseProto.FromString(recv_response(sock))
        assert response.status == ERROR_UNSUPPORTED
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(b"\x00\x1c\x57\xff\xff\xff\xff\xff")  # op 87 with a length varint that never ends
        assert sock.recv(100) == b""  # the datanode hangs up on it
    deadline = time.monotonic() + 10
    with cluster.connect(domain_socket=cluster.domain_socket) as client:
        assert client.read_bytes("/sc/bad") == data
    assert time.monotonic() < deadline
    assert metric(cluster, 1, SHORT_CIRCUIT_REPLICAS) >= 1
    assert cluster.datanode(1).alive()
