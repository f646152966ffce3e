"""One block's write pipeline: the connection to its first datanode, OP_WRITE_BLOCK, packets out and
acks in.

`WritePipeline.setup` sends OP_WRITE_BLOCK (the first datanode forwards it to the rest, `targets`) and
waits for the response; packets then go out with `send` while a responder task reads the acks and
hands each acknowledged seqno to `on_ack`. Anything that breaks the pipeline becomes one
`PipelineError` given to `on_failure` (or raised by `setup` / `send`), carrying the index of the
datanode to blame, as HDFS decides it:
- an error response: the datanode its firstBadLink names, else the first one;
- an ack with a non-SUCCESS status: the first datanode whose status is not SUCCESS;
- a broken or silent connection, or a protocol violation: the first datanode (the one we talk to).
The data streamer then rebuilds the pipeline without that datanode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from hopsfs.client.datanode_connection import DatanodeConnection, DatanodeUnreachable
from hopsfs.client.stream_settings import StreamSettings
from hopsfs.client.write_packets import WritePacket
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec
from hopsfs.protocol.dtp_events import AckReceived, ConnectionClosed, OperationResponse, TransferState
from hopsfs.protocol.dtp_wire import SEQNO_HEARTBEAT, SUCCESS, status_name
from hopsfs.protocol.errors import ProtocolError
from hopsfs.protocol.located_blocks import DatanodeInfo, ExtendedBlock
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BaseHeaderProto,
    BlockOpResponseProto,
    ClientOperationHeaderProto,
    OpWriteBlockProto,
)
from hopsfs.protocol.proto.hdfs_pb2 import DISK

log = logging.getLogger(__name__)

Stage = OpWriteBlockProto.BlockConstructionStage


class PipelineError(Exception):
    """The pipeline broke; `bad_index` is the datanode (position in the pipeline) to drop."""

    def __init__(self, reason: str, bad_index: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bad_index = bad_index


class WritePipeline:
    def __init__(
        self,
        connection: DatanodeConnection,
        nodes: tuple[DatanodeInfo, ...],
        settings: StreamSettings,
        on_ack: Callable[[int], None],
        on_failure: Callable[[PipelineError], None],
    ) -> None:
        self.nodes = nodes
        self._connection = connection
        self._settings = settings
        self._on_ack = on_ack
        self._on_failure = on_failure
        self._responder: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def setup(
        cls,
        nodes: Sequence[DatanodeInfo],
        request: OpWriteBlockProto,
        *,
        first_seqno: int,
        settings: StreamSettings,
        on_ack: Callable[[int], None],
        on_failure: Callable[[PipelineError], None],
    ) -> WritePipeline:
        """Connect to `nodes[0]`, send `request` and wait for the pipeline's answer."""
        check(len(nodes) >= 1, "a pipeline has at least one datanode")
        try:
            connection = await DatanodeConnection.open(nodes[0], settings.connect_timeout_s)
        except DatanodeUnreachable as error:
            raise PipelineError(str(error), 0) from error
        pipeline = cls(connection, tuple(nodes), settings, on_ack, on_failure)
        try:
            await pipeline._handshake(request, first_seqno)
        except BaseException:
            pipeline.close()
            raise
        pipeline._responder = asyncio.get_running_loop().create_task(
            pipeline._respond(), name=f"hopsfs-acks-{nodes[0].transfer_name}"
        )
        return pipeline

    def send(self, packet: WritePacket) -> None:
        """Hand `packet` to the socket (no wait; `drain` waits for room)."""
        codec = self._connection.codec
        try:
            if packet.last_in_block:
                seqno, frame = codec.send_last_packet(packet.offset_in_block, sync_block=packet.sync_block)
            else:
                seqno, frame = codec.send_packet(
                    packet.offset_in_block,
                    packet.data,
                    checksums=packet.checksums,
                    sync_block=packet.sync_block,
                )
            check(seqno == packet.seqno, "the codec numbers packets as the stream did")
            self._connection.send(frame)
        except (OSError, ProtocolError) as error:
            raise PipelineError(f"sending packet {packet.seqno} failed: {error}", 0) from error

    def send_heartbeat(self) -> None:
        try:
            self._connection.send(self._connection.codec.send_heartbeat())
        except (OSError, ProtocolError) as error:
            raise PipelineError(f"sending a heartbeat failed: {error}", 0) from error

    async def drain(self) -> None:
        try:
            await self._connection.drain(self._settings.ack_timeout_s)
        except TimeoutError as error:
            raise PipelineError("the first datanode stopped taking data", 0) from error
        except OSError as error:
            raise PipelineError(f"sending to the first datanode failed: {error}", 0) from error

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._responder is not None:
            self._responder.cancel()
        self._connection.close()

    async def wait_closed(self) -> None:
        self.close()
        if self._responder is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._responder

    # -- internals --------------------------------------------------------------------------------

    async def _handshake(self, request: OpWriteBlockProto, first_seqno: int) -> None:
        codec = self._connection.codec
        try:
            self._connection.send(codec.send_write_block(request, first_seqno=first_seqno))
            response = await self._response()
        except (OSError, ProtocolError) as error:
            raise PipelineError(
                f"pipeline setup with {self.nodes[0].transfer_name} failed: {error}", 0
            ) from error
        except TimeoutError as error:
            raise PipelineError(
                f"no answer from {self.nodes[0].transfer_name} to OP_WRITE_BLOCK", 0
            ) from error
        if response.status != SUCCESS:
            bad_index = _bad_link_index(self.nodes, response.firstBadLink)
            raise PipelineError(
                f"pipeline setup refused: {status_name(response.status)} {response.message} "
                f"(bad link: {self.nodes[bad_index].transfer_name})",
                bad_index,
            )

    async def _response(self) -> BlockOpResponseProto:
        while True:
            for event in await self._connection.receive(self._settings.read_timeout_s):
                if isinstance(event, OperationResponse):
                    return event.response
                if isinstance(event, ConnectionClosed):
                    raise ConnectionResetError("the datanode closed the connection")

    async def _respond(self) -> None:
        """Read acks until the block's last one, or the first failure."""
        try:
            await self._read_acks()
        except PipelineError as failure:
            if not self._closed:
                self._on_failure(failure)

    async def _read_acks(self) -> None:
        codec = self._connection.codec
        while True:
            try:
                events = await self._connection.receive(self._settings.ack_timeout_s)
            except TimeoutError as error:
                if not codec.acks_pending:
                    continue  # nothing outstanding: an idle pipeline is not a failure
                raise PipelineError(f"no ack for {self._settings.ack_timeout_s:.0f} s", 0) from error
            except (OSError, ProtocolError) as error:
                raise PipelineError(f"reading acks failed: {error}", 0) from error
            for event in events:
                if isinstance(event, ConnectionClosed):
                    raise PipelineError("the first datanode closed the connection", 0)
                if not isinstance(event, AckReceived) or event.out_of_band:
                    continue  # an out-of-band restart notice: the next ack tells what happened
                ack = event.ack
                if not ack.ok:
                    bad_index = next(index for index, status in enumerate(ack.statuses) if status != SUCCESS)
                    bad_index = min(bad_index, len(self.nodes) - 1)
                    statuses = ", ".join(status_name(status) for status in ack.statuses)
                    raise PipelineError(
                        f"ack for packet {ack.seqno} reports [{statuses}]: "
                        f"datanode {self.nodes[bad_index].transfer_name} failed",
                        bad_index,
                    )
                if ack.seqno != SEQNO_HEARTBEAT:
                    self._on_ack(ack.seqno)
                if not codec.acks_pending and codec.state is TransferState.IDLE:
                    return  # the end-of-block packet was acked: whatever follows is not this block's


def write_block_request(
    block: ExtendedBlock,
    nodes: Sequence[DatanodeInfo],
    *,
    client_name: str,
    stage: int,
    latest_generation_stamp: int,
    min_bytes_received: int,
    max_bytes_received: int,
    block_size: int,
    checksum: ChecksumSpec,
) -> OpWriteBlockProto:
    """OP_WRITE_BLOCK for a pipeline through `nodes`, as HDFS's client builds it: the header names the
    block as the datanodes hold it (numBytes carries the file's block size, a hint for space),
    `targets` are the datanodes after the first."""
    header_block = block.with_length(block_size).to_proto()
    targets = list(nodes[1:])
    return OpWriteBlockProto(
        header=ClientOperationHeaderProto(
            baseHeader=BaseHeaderProto(block=header_block), clientName=client_name
        ),
        targets=[node.to_proto() for node in targets],
        stage=stage,  # type: ignore[arg-type]
        pipelineSize=len(nodes),
        minBytesRcvd=min_bytes_received,
        maxBytesRcvd=max_bytes_received,
        latestGenerationStamp=latest_generation_stamp,
        requestedChecksum=checksum.to_proto(),
        storageType=DISK,
        targetStorageTypes=[DISK] * len(targets),
        storageId=nodes[0].storage_id,
        targetStorageIds=[node.storage_id for node in targets],
    )


def _bad_link_index(nodes: tuple[DatanodeInfo, ...], first_bad_link: str) -> int:
    """The position of the datanode firstBadLink names ("ip:port"), or 0 (the first datanode itself)."""
    if first_bad_link:
        for index, node in enumerate(nodes):
            if (
                node.transfer_name == first_bad_link
                or f"{node.host_name}:{node.transfer_port}" == first_bad_link
            ):
                return index
    return 0
