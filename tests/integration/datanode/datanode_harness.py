"""Datanodes for tests, as real processes or in-process on a background event loop, and a blocking
DataTransferProtocol client (the real codec over a real socket) to talk to them."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop
from support.fake_namenode_grpc import BLOCK_POOL_ID, FakeNamenode, datanode_info
from support.worker_launcher import worker_environment

from datanode.config import ScanSettings, TransferLimits
from datanode.node import Datanode, DatanodeOptions
from hopsfs.announce import DATANODE_READY
from hopsfs.cli.cluster import ManagedProcess
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.dtp_codec import DataTransferClientConnection
from hopsfs.protocol.dtp_events import (
    AckReceived,
    ClientEvent,
    ConnectionClosed,
    OperationResponse,
    PacketReceived,
    TransferState,
)
from hopsfs.protocol.dtp_wire import Ack
from hopsfs.protocol.proto import datatransfer_pb2 as dt
from hopsfs.protocol.proto.hdfs_pb2 import DatanodeInfoProto, ExtendedBlockProto

CRC32C = ChecksumSpec(ChecksumType.CRC32C, 512)
STAGES = dt.OpWriteBlockProto
START_TIMEOUT_S = 30.0
SOCKET_TIMEOUT_S = 20.0
PACKET_BYTES = 64 * 1024


class InProcessDatanode:
    """A whole datanode (server, namenode link, scanner) on its own event loop thread."""

    def __init__(self, options: DatanodeOptions) -> None:
        self._loop = uvloop.new_event_loop()  # as `hopsfs datanode` runs
        self._thread = threading.Thread(target=self._loop.run_forever, name="datanode-loop", daemon=True)
        self._thread.start()
        self.node = Datanode(options)
        self.run(self.node.start(), START_TIMEOUT_S)

    @classmethod
    def start(
        cls,
        data_dir: Path,
        namenode: FakeNamenode,
        limits: TransferLimits | None = None,
        scan: ScanSettings | None = None,
    ) -> InProcessDatanode:
        options = DatanodeOptions(
            data_dir=data_dir,
            namenodes=(namenode.address,),
            limits=limits or TransferLimits(),
            scan=scan or ScanSettings(enabled=False),
            stop_grace_s=1.0,
        )
        return cls(options)

    @property
    def port(self) -> int:
        return self.node.port

    @property
    def uuid(self) -> str:
        return self.node.identity.datanode_uuid

    @property
    def info(self) -> DatanodeInfoProto:
        return datanode_info("127.0.0.1", self.port, self.uuid)

    @property
    def store(self) -> Any:
        assert self.node.context is not None
        return self.node.context.store

    def run(self, coroutine: Any, timeout_s: float = 30.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout_s)

    def stop(self) -> None:
        try:
            self.run(self.node.stop(), 30.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


@dataclass
class DatanodeProcess:
    """`hopsfs datanode` as a child process."""

    managed: ManagedProcess
    port: int
    uuid: str
    data_dir: Path

    @classmethod
    def start(
        cls, data_dir: Path, namenode_address: str, extra_arguments: Sequence[str] = ()
    ) -> DatanodeProcess:
        command = [
            sys.executable,
            "-m",
            "hopsfs.cli.main",
            "datanode",
            "--data-dir",
            str(data_dir),
            "--namenode",
            namenode_address,
            *extra_arguments,
        ]
        managed = ManagedProcess(
            "datanode", command, environment=worker_environment(), output_lines_max=100_000
        )
        match = managed.start(DATANODE_READY, START_TIMEOUT_S)
        return cls(managed, int(match.group(2)), match.group(3), data_dir)

    @property
    def info(self) -> DatanodeInfoProto:
        return datanode_info("127.0.0.1", self.port, self.uuid)

    @property
    def output(self) -> str:
        return "\n".join(self.managed.output_lines)

    def stop(self) -> int | None:
        return self.managed.stop(signal.SIGTERM)

    def kill(self) -> None:
        self.managed.kill()


def wait_until(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Poll `condition` until it is truthy; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def extended_block(block_id: int, genstamp: int, length: int = 0) -> ExtendedBlockProto:
    return ExtendedBlockProto(
        poolId=BLOCK_POOL_ID, blockId=block_id, generationStamp=genstamp, numBytes=length
    )


def operation_header(
    block_id: int, genstamp: int, client_name: str = "DFSClient_test", length: int = 0
) -> Any:
    return dt.ClientOperationHeaderProto(
        baseHeader=dt.BaseHeaderProto(block=extended_block(block_id, genstamp, length)),
        clientName=client_name,
    )


def write_request(
    block_id: int,
    genstamp: int,
    targets: Sequence[DatanodeInfoProto] = (),
    stage: int = STAGES.PIPELINE_SETUP_CREATE,
    latest_genstamp: int | None = None,
    acked_bytes: int = 0,
    client_name: str = "DFSClient_test",
    spec: ChecksumSpec = CRC32C,
) -> dt.OpWriteBlockProto:
    return dt.OpWriteBlockProto(
        header=operation_header(block_id, genstamp, client_name),
        targets=list(targets),
        stage=stage,  # type: ignore[arg-type]
        pipelineSize=len(targets) + 1,
        minBytesRcvd=acked_bytes,
        maxBytesRcvd=acked_bytes,
        latestGenerationStamp=genstamp if latest_genstamp is None else latest_genstamp,
        requestedChecksum=spec.to_proto(),
    )


def read_request(block_id: int, genstamp: int, offset: int, length: int, checksums: bool = True) -> Any:
    return dt.OpReadBlockProto(
        header=operation_header(block_id, genstamp), offset=offset, len=length, sendChecksums=checksums
    )


@dataclass
class ReadResult:
    response: dt.BlockOpResponseProto
    chunk_offset: int = 0
    data: bytes = b""
    packets: list[PacketReceived] = field(default_factory=list)


class DtpClient:
    """A blocking DataTransferProtocol client on one connection."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.codec = DataTransferClientConnection()
        self._pending: list[ClientEvent] = []

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> DtpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_event(self) -> ClientEvent:
        while not self._pending:
            data = self.sock.recv(1 << 20)
            self._pending.extend(self.codec.receive_data(data))
        return self._pending.pop(0)

    def read_raw_response(self) -> dt.BlockOpResponseProto:
        event = self.next_event()
        assert isinstance(event, OperationResponse), event
        return event.response

    def start_write(self, request: dt.OpWriteBlockProto) -> dt.BlockOpResponseProto | None:
        self.send(self.codec.send_write_block(request))
        if self.codec.state is TransferState.AWAITING_RESPONSE:
            return self.read_raw_response()
        return None

    def send_data(self, data: bytes, start_offset: int = 0, packet_bytes: int = PACKET_BYTES) -> list[int]:
        seqnos = []
        for offset in range(0, len(data), packet_bytes):
            seqno, frame = self.codec.send_packet(start_offset + offset, data[offset : offset + packet_bytes])
            self.send(frame)
            seqnos.append(seqno)
        return seqnos

    def finish_write(self, end_offset: int) -> list[Ack]:
        """Send the last packet and collect every ack still due."""
        self.send(self.codec.send_last_packet(end_offset)[1])
        return self.collect_acks()

    def collect_acks(self) -> list[Ack]:
        acks = []
        # Due: those the codec still waits for, and those it already decoded into pending events.
        while self.codec.acks_pending or any(isinstance(event, AckReceived) for event in self._pending):
            event = self.next_event()
            if isinstance(event, ConnectionClosed):
                break
            assert isinstance(event, AckReceived), event
            acks.append(event.ack)
            if not event.ack.ok:
                break
        return acks

    def write_block(
        self, request: dt.OpWriteBlockProto, data: bytes, start_offset: int = 0
    ) -> tuple[dt.BlockOpResponseProto | None, list[Ack]]:
        response = self.start_write(request)
        if response is not None and response.status != dt.SUCCESS:
            return response, []
        self.send_data(data, start_offset)
        return response, self.finish_write(start_offset + len(data))

    def read(self, request: dt.OpReadBlockProto, status: int = dt.CHECKSUM_OK) -> ReadResult:
        self.send(self.codec.send_read_block(request))
        response = self.read_raw_response()
        result = ReadResult(response)
        if response.status != dt.SUCCESS:
            return result
        result.chunk_offset = response.readOpChecksumInfo.chunkOffset
        parts = []
        # Events come out of the codec in bursts: stop at the empty last packet, not at the state.
        while True:
            event = self.next_event()
            assert isinstance(event, PacketReceived), event
            if event.header.last_packet_in_block:
                break
            result.packets.append(event)
            parts.append(bytes(event.data))
        result.data = b"".join(parts)
        self.send(self.codec.send_read_status(status))
        return result

    def read_bytes(self, block_id: int, genstamp: int, offset: int, length: int) -> bytes:
        result = self.read(read_request(block_id, genstamp, offset, length))
        assert result.response.status == dt.SUCCESS, result.response
        start = offset - result.chunk_offset
        return result.data[start : start + length]


def write_whole_block(
    port: int, block_id: int, genstamp: int, data: bytes, targets: Sequence[DatanodeInfoProto] = ()
) -> list[Ack]:
    """Write `data` as a new block through the pipeline starting at `port`; every ack must be SUCCESS."""
    with DtpClient(port) as client:
        response, acks = client.write_block(write_request(block_id, genstamp, targets), data)
    assert response is not None and response.status == dt.SUCCESS, response
    assert acks and all(ack.ok for ack in acks), acks
    return acks
