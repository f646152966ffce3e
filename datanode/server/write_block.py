"""OP_WRITE_BLOCK: set up the replica and the rest of the pipeline, answer, then run the packet phase.

Setup order (Hadoop's DataXceiver.writeBlock): stop an older writer of the block when recovering;
prepare the local replica for the stage (replica_setup); connect to the first of `targets` and send it
the same operation minus itself; wait for its response (client writes); answer upstream. A mirror that
cannot be reached, or answers with an error, makes the answer ERROR with `firstBadLink` naming the
first datanode at fault (the mirror's own bad link when it reports one), and a replica created for this
write is removed again. A replication write (no client name) continues without a failed mirror.

Reports: `receiving` once the replica is being written, `received` once it is finalized.
A write always ends its connection (Hadoop closes it too).
"""

from __future__ import annotations

import logging

from datanode.server.active_writes import ActiveWrite
from datanode.server.channel import Channel, EventSource
from datanode.server.context import ServerContext
from datanode.server.mirror import Mirror, MirrorAddress, MirrorFailed, downstream_request
from datanode.server.pipeline import PacketPipeline, WriteTarget
from datanode.server.replica_setup import (
    CREATE_STAGES,
    RECOVERY_STAGES,
    PreparedReplica,
    check_write_checksum,
    prepare_replica,
    stage_name,
)
from datanode.server.statuses import message_of, status_of
from datanode.storage import ReplicaState
from datanode.storage.errors import ReplicaNotFound
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_codec import DataTransferServerConnection
from hopsfs.protocol.dtp_events import ServerEvent, WriteBlockRequested
from hopsfs.protocol.dtp_wire import ERROR, SUCCESS, error_response, status_name
from hopsfs.protocol.proto.datatransfer_pb2 import BlockOpResponseProto

LOGGER = logging.getLogger("hopsfs.datanode.write")


async def serve_write_block(
    context: ServerContext,
    upstream: EventSource[ServerEvent],
    codec: DataTransferServerConnection,
    event: WriteBlockRequested,
) -> str | None:
    """Run one write; the name of the error status it ended with, or None."""
    request = event.request
    block = request.header.baseHeader.block
    channel = upstream.channel
    LOGGER.info(
        "WRITE_BLOCK blk_%d_%d %s from %s (client %r, %d targets)",
        block.blockId,
        block.generationStamp,
        stage_name(request.stage),
        channel.peer,
        request.header.clientName,
        len(request.targets),
    )
    try:
        context.check_block_pool(block.poolId)
        check_write_checksum(event.checksum)
        await _stop_older_writer(context, event)
        prepared = await context.run_blocking(prepare_replica, context.store, request, event.checksum)
        write = context.active_writes.begin(block.blockId, prepared.record.length)
    except (HopsFSError, OSError) as error:
        status = status_of(error)
        LOGGER.warning("WRITE_BLOCK blk_%d from %s refused: %s", block.blockId, channel.peer, error)
        if event.expects_response:
            await _answer(channel, codec, error_response(status, message_of(error)), context)
        return status_name(status)
    if prepared.created:
        context.bad_replicas.forget(block.blockId)
    try:
        return await _write_prepared(context, upstream, codec, event, prepared, write)
    finally:
        context.active_writes.end(write)


async def _write_prepared(
    context: ServerContext,
    upstream: EventSource[ServerEvent],
    codec: DataTransferServerConnection,
    event: WriteBlockRequested,
    prepared: PreparedReplica,
    write: ActiveWrite,
) -> str | None:
    record = prepared.record
    if record.state is ReplicaState.RBW:
        context.events.replica_receiving(record)
    mirror, refusal = await _set_up_mirror(context, event)
    try:
        if refusal is not None:
            await _answer(upstream.channel, codec, refusal, context)
            if prepared.created:
                await _remove_quietly(context, record.block_id)
            return status_name(refusal.status)
        accepted = BlockOpResponseProto(status=SUCCESS)  # type: ignore[arg-type]
        if event.expects_response and not await _answer(upstream.channel, codec, accepted, context):
            return status_name(ERROR)
        if prepared.closed:
            context.events.replica_received(record)
            return None
        target = WriteTarget(record.block_id, record.genstamp, prepared.finalize_at_end)
        outcome = await PacketPipeline(context, upstream, codec, mirror, target, write).run()
    finally:
        if mirror is not None:
            mirror.close()
    final = outcome.final_record
    if final is not None and final.state is ReplicaState.FINALIZED:
        LOGGER.info("received blk_%d_%d: %d bytes", final.block_id, final.genstamp, final.length)
    return None if outcome.completed else status_name(ERROR)


async def _set_up_mirror(
    context: ServerContext, event: WriteBlockRequested
) -> tuple[Mirror | None, BlockOpResponseProto | None]:
    """The connected mirror (or None without targets), or the refusal to send upstream."""
    request = event.request
    if not request.targets:
        return None, None
    limits = context.limits
    address = MirrorAddress.of(request.targets[0])
    mirror: Mirror | None = None
    try:
        mirror = await Mirror.connect(
            address, limits.connect_timeout_s, limits.io_timeout_s, limits.receive_bytes_max
        )
        await mirror.send_operation(downstream_request(request))
        if not event.expects_response:
            return mirror, None
        response = await mirror.read_response()
    except MirrorFailed as error:
        if mirror is not None:
            mirror.close()
        LOGGER.warning(
            "blk_%d: mirror %s failed at setup: %s",
            request.header.baseHeader.block.blockId,
            address.name,
            error,
        )
        if not event.expects_response:
            return None, None  # a replication write goes on without the mirror (Hadoop does too)
        return None, error_response(ERROR, f"mirror {address.name} failed: {error}", address.name)
    if response.status == SUCCESS:
        return mirror, None
    mirror.close()
    bad_link = response.firstBadLink or address.name
    return None, error_response(response.status, response.message or "mirror refused the write", bad_link)


async def _stop_older_writer(context: ServerContext, event: WriteBlockRequested) -> None:
    """Recovery takes over from the old pipeline; a create replaces a writer of an older stamp."""
    request = event.request
    block = request.header.baseHeader.block
    if context.active_writes.acked_length(block.blockId) is None:
        return
    if request.stage in RECOVERY_STAGES:
        await context.active_writes.stop(block.blockId)
    elif request.stage in CREATE_STAGES:
        try:
            existing = await context.run_blocking(context.store.get, block.blockId)
        except ReplicaNotFound:
            return
        if existing.genstamp < block.generationStamp:
            await context.active_writes.stop(block.blockId)


async def _answer(
    channel: Channel,
    codec: DataTransferServerConnection,
    response: BlockOpResponseProto,
    context: ServerContext,
) -> bool:
    try:
        await channel.send(codec.send_response(response), context.limits.io_timeout_s)
    except (OSError, TimeoutError) as error:
        LOGGER.info("cannot answer %s: %r", channel.peer, error)
        return False
    return True


async def _remove_quietly(context: ServerContext, block_id: int) -> None:
    try:
        await context.run_blocking(context.store.delete, block_id)
    except (HopsFSError, OSError) as error:
        LOGGER.warning("blk_%d: cannot remove the replica of a failed setup: %s", block_id, error)
    context.events.replica_deleted(block_id)
