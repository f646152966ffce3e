"""A blocking DataTransferProtocol client for the benchmark: the real codec over one socket.

Write packets (data and their CRC32C checksums) are built before the clock starts, as bench.storage
does: computing checksums is the writer's cost, not the datanode's. Reads do not verify by default
(what the datanode serves is measured), and may (what a verifying reader gets).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType, compute_checksums
from hopsfs.protocol.dtp_codec import DataTransferClientConnection
from hopsfs.protocol.dtp_events import AckReceived, ClientEvent, OperationResponse, PacketReceived
from hopsfs.protocol.proto import datatransfer_pb2 as dt
from hopsfs.protocol.proto.hdfs_pb2 import DatanodeInfoProto, ExtendedBlockProto

CRC32C = ChecksumSpec(ChecksumType.CRC32C, 512)
RECEIVE_BYTES = 1 << 20
PACKETS_IN_FLIGHT_MAX = 80
Packet = tuple[bytes, bytes]


def make_packets(data: bytes, packet_bytes: int) -> list[Packet]:
    return [
        (
            data[offset : offset + packet_bytes],
            compute_checksums(CRC32C, data[offset : offset + packet_bytes]),
        )
        for offset in range(0, len(data), packet_bytes)
    ]


class BenchClient:
    def __init__(self, port: int, pool_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pool_id = pool_id
        self._pending: list[ClientEvent] = []

    def close(self) -> None:
        self.sock.close()

    def write_block(
        self, block_id: int, packets: Sequence[Packet], targets: Sequence[DatanodeInfoProto]
    ) -> int:
        """Write one block from prebuilt packets; return its length once every ack came back SUCCESS."""
        codec = DataTransferClientConnection(verify_checksums=False)
        header = self._header(block_id)
        request = dt.OpWriteBlockProto(
            header=header,
            targets=list(targets),
            stage=dt.OpWriteBlockProto.PIPELINE_SETUP_CREATE,
            pipelineSize=len(targets) + 1,
            minBytesRcvd=0,
            maxBytesRcvd=0,
            latestGenerationStamp=1,
            requestedChecksum=CRC32C.to_proto(),
        )
        self.sock.sendall(codec.send_write_block(request))
        response = self._next(codec)
        check(isinstance(response, OperationResponse) and response.ok, "the datanode accepts the write")
        offset = 0
        for data, checksums in packets:
            # At most PACKETS_IN_FLIGHT_MAX unacknowledged packets, as HDFS clients keep (80).
            while len(codec.acks_pending) >= PACKETS_IN_FLIGHT_MAX:
                event = self._next(codec)
                check(isinstance(event, AckReceived) and event.ack.ok, "every ack is SUCCESS")
            _, frame = codec.send_packet(offset, data, checksums=checksums)
            self.sock.sendall(frame)
            offset += len(data)
        self.sock.sendall(codec.send_last_packet(offset)[1])
        while codec.acks_pending:
            event = self._next(codec)
            check(isinstance(event, AckReceived) and event.ack.ok, "every ack is SUCCESS")
        return offset

    def read_block(self, block_id: int, length: int, verify: bool) -> int:
        """Read the whole block; return the data bytes received."""
        codec = DataTransferClientConnection(verify_checksums=verify)
        request = dt.OpReadBlockProto(header=self._header(block_id), offset=0, len=length)
        self.sock.sendall(codec.send_read_block(request))
        response = self._next(codec)
        check(isinstance(response, OperationResponse) and response.ok, "the datanode serves the read")
        received = 0
        while True:
            event = self._next(codec)
            check(isinstance(event, PacketReceived), "read packets follow")
            assert isinstance(event, PacketReceived)
            if event.header.last_packet_in_block:
                break
            received += len(event.data)
        self.sock.sendall(codec.send_read_status())
        return received

    def _header(self, block_id: int) -> dt.ClientOperationHeaderProto:
        block = ExtendedBlockProto(poolId=self.pool_id, blockId=block_id, generationStamp=1)
        return dt.ClientOperationHeaderProto(baseHeader=dt.BaseHeaderProto(block=block), clientName="bench")

    def _next(self, codec: DataTransferClientConnection) -> ClientEvent:
        while not self._pending:
            data = self.sock.recv(RECEIVE_BYTES)
            self._pending.extend(codec.receive_data(data))
        return self._pending.pop(0)
