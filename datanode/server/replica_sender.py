"""Sending a stored replica to other datanodes with OP_WRITE_BLOCK: re-replication (a TRANSFER
command: stage PIPELINE_SETUP_CREATE, no client name, the targets chained) and pipeline recovery
(OP_TRANSFER_BLOCK: TRANSFER_RBW or TRANSFER_FINALIZED with the client's name, one target).

Packets carry the stored checksums, verified here while reading: a corrupt replica is never copied;
it is marked bad and reported instead. Every packet must be acknowledged with SUCCESS by every
target (between hopsfs datanodes transfers are acked like client writes; Hadoop's are not).
The receiving datanode reports the new replica to the namenode, not this one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from datanode.server.context import ServerContext
from datanode.server.mirror import Mirror, MirrorAddress, MirrorFailed
from datanode.server.replica_ranges import read_packet
from datanode.server.statuses import ReplicaKnownBad, RequestRefused
from datanode.storage import ReplicaReader, ReplicaState
from datanode.storage.errors import ReplicaCorrupt
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_events import TransferState
from hopsfs.protocol.dtp_wire import SUCCESS, status_name, write_expects_response
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BaseHeaderProto,
    ClientOperationHeaderProto,
    OpWriteBlockProto,
)
from hopsfs.protocol.proto.hdfs_pb2 import DatanodeInfoProto, ExtendedBlockProto

LOGGER = logging.getLogger("hopsfs.datanode.transfer")


class TransferFailed(HopsFSError):
    """A target refused or lost the copy."""


async def send_replica(
    context: ServerContext,
    block_id: int,
    genstamp: int,
    targets: Sequence[DatanodeInfoProto],
    client_name: str,
    stage: int,
    length: int | None = None,
) -> int:
    """Copy the replica (its first `length` bytes, or all it shows) to `targets`; return bytes sent."""
    if not targets:
        raise RequestRefused(f"blk_{block_id}: a transfer needs at least one target")
    if context.bad_replicas.is_bad(block_id):
        raise ReplicaKnownBad(f"blk_{block_id} failed verification here and is not copied")
    acked = context.active_writes.acked_length(block_id)
    reader = await context.run_blocking(context.store.open_for_read, block_id, genstamp)
    try:
        if reader.record.state is ReplicaState.RBW and acked is not None:
            reader.limit_to(acked)
        if length is not None and length < reader.length:
            # A longer request is what the client sent, not what was acknowledged: Hadoop's
            # transferReplicaForPipelineRecovery copies the visible length, and the client re-sends
            # the rest through the rebuilt pipeline.
            reader.limit_to(length)
        return await _copy(context, reader, targets, client_name, stage)
    except ReplicaCorrupt as error:
        LOGGER.error("blk_%d is corrupt here (%s): not copied, reported", block_id, error)
        if context.bad_replicas.mark(block_id, reader.record.genstamp):
            context.events.replica_bad(block_id, reader.record.genstamp, reader.record.length)
        raise
    finally:
        reader.close()


async def _copy(
    context: ServerContext,
    reader: ReplicaReader,
    targets: Sequence[DatanodeInfoProto],
    client_name: str,
    stage: int,
) -> int:
    limits = context.limits
    address = MirrorAddress.of(targets[0])
    mirror = await Mirror.connect(
        address, limits.connect_timeout_s, limits.io_timeout_s, limits.receive_bytes_max
    )
    try:
        request = _write_request(context, reader, targets, client_name, stage)
        await mirror.send_operation(request)
        if write_expects_response(request):
            response = await mirror.read_response()
            if response.status != SUCCESS:
                raise TransferFailed(f"{address.name} refused the copy: {response.message}")
        acks = asyncio.create_task(_take_acks(mirror))
        try:
            sent = await _send_packets(context, reader, mirror)
            await acks
        finally:
            acks.cancel()
        return sent
    except MirrorFailed as error:
        raise TransferFailed(str(error)) from error
    finally:
        mirror.close()


def _write_request(
    context: ServerContext,
    reader: ReplicaReader,
    targets: Sequence[DatanodeInfoProto],
    client_name: str,
    stage: int,
) -> OpWriteBlockProto:
    record = reader.record
    block = ExtendedBlockProto(
        poolId=context.block_pool_id,
        blockId=record.block_id,
        generationStamp=record.genstamp,
        numBytes=reader.length,
    )
    return OpWriteBlockProto(
        header=ClientOperationHeaderProto(baseHeader=BaseHeaderProto(block=block), clientName=client_name),
        targets=list(targets[1:]),
        stage=stage,  # type: ignore[arg-type]
        pipelineSize=len(targets),
        minBytesRcvd=0,
        maxBytesRcvd=reader.length,
        latestGenerationStamp=record.genstamp,
        requestedChecksum=reader.spec.to_proto(),
    )


async def _send_packets(context: ServerContext, reader: ReplicaReader, mirror: Mirror) -> int:
    packet_bytes = max(1, context.limits.read_packet_bytes // reader.spec.bytes_per_checksum)
    packet_bytes *= reader.spec.bytes_per_checksum
    position = 0
    # One packet per round, each at least one byte: the loop ends at the replica's length.
    while position < reader.length:
        count = min(packet_bytes, reader.length - position)
        packet = await context.run_blocking(
            read_packet, reader, context.checksum_functions, position, count, True
        )
        _, frame = mirror.codec.send_packet(position, packet.data, checksums=packet.checksums)
        await mirror.send_frame(frame)
        position += count
    _, frame = mirror.codec.send_last_packet(position)
    await mirror.send_frame(frame)
    return position


async def _take_acks(mirror: Mirror) -> None:
    """Every ack until the last packet's, each SUCCESS from every target."""
    # One ack per round; the codec ends the write (IDLE) after the last packet's ack, or raises.
    while mirror.codec.state is not TransferState.IDLE:
        ack = await mirror.next_ack()
        if not ack.ok:
            names = [status_name(status) for status in ack.statuses]
            raise TransferFailed(f"{mirror.address.name} acked packet {ack.seqno} with {names}")
