"""OP_READ_BLOCK: validate the range, answer, stream chunk-aligned packets with the stored checksums,
then take the reader's ClientReadStatusProto.

Validation (Hadoop's BlockSender): the block pool is ours; the replica exists, is not known bad, and its
stamp is at least the reader's; offset and length are not negative (the proto's uint64 carries Java's
negative longs as huge values) and end within the replica (for a replica being written: within what
its pipeline acknowledged). Refusals: ERROR_INVALID for a bad range, ERROR otherwise, with a message;
the connection then ends.

Streaming: packets of `read_packet_bytes` data from the chunk holding `offset` to the chunk end holding
`offset + len` (never past the replica), then an empty last packet. It runs in a pool thread that owns
the socket meanwhile: header and checksums go out with sendmsg, data with sendfile (or pread + send
when sendfile is off), so disk reads never stall the event loop. A reader may hang up early; one that
answers ERROR_CHECKSUM makes this datanode verify the replica and report it when it is bad.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from datanode.server.blocking_send import send_buffers, send_file_range
from datanode.server.channel import Channel, EventSource
from datanode.server.context import ServerContext
from datanode.server.replica_ranges import packet_checksums
from datanode.server.statuses import ReplicaKnownBad, message_of, status_of
from datanode.storage import ReplicaReader, ReplicaState
from datanode.storage.errors import InvalidReplicaOffset
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.dtp_codec import DataTransferServerConnection
from hopsfs.protocol.dtp_events import ReadStatusReceived, ServerEvent
from hopsfs.protocol.dtp_wire import ERROR_CHECKSUM, error_response, read_response, status_name
from hopsfs.protocol.hdfs_values import from_uint64
from hopsfs.protocol.proto.datatransfer_pb2 import OpReadBlockProto

LOGGER = logging.getLogger("hopsfs.datanode.read")


@dataclass(slots=True)
class ReadPlan:
    reader: ReplicaReader
    wire_spec: ChecksumSpec  # the replica's, or NULL when the reader asked for no checksums
    offset: int
    chunk_offset: int
    end: int  # aligned end of the data sent (a chunk boundary or the visible end)


async def serve_read_block(
    context: ServerContext,
    events: EventSource[ServerEvent],
    codec: DataTransferServerConnection,
    request: OpReadBlockProto,
) -> tuple[bool, str | None]:
    """Serve one read: (whether the connection may carry another operation, error status name or None)."""
    block = request.header.baseHeader.block
    channel = events.channel
    acked = context.active_writes.acked_length(block.blockId)
    try:
        plan = await context.run_blocking(open_read, context, request, acked)
    except (HopsFSError, OSError) as error:
        status = status_of(error)
        LOGGER.warning("READ_BLOCK blk_%d from %s refused: %s", block.blockId, channel.peer, error)
        await channel.send(
            codec.send_response(error_response(status, message_of(error))), context.limits.io_timeout_s
        )
        return False, status_name(status)
    try:
        response = read_response(plan.wire_spec, plan.chunk_offset)
        await channel.send(codec.send_response(response), context.limits.io_timeout_s)
        sent = await _stream_in_thread(context, channel, codec, plan)
    except (OSError, TimeoutError) as error:
        LOGGER.info("READ_BLOCK blk_%d to %s ended early: %r", block.blockId, channel.peer, error)
        return False, None
    finally:
        plan.reader.close()
    context.metrics.add("bytes_read", sent)
    return await _take_read_status(context, events, plan), None


async def _stream_in_thread(
    context: ServerContext, channel: Channel, codec: DataTransferServerConnection, plan: ReadPlan
) -> int:
    """Lend the socket to a pool thread for the packets; never give it back while the thread runs."""
    descriptor = channel.lend_socket()
    work = asyncio.ensure_future(context.run_blocking(stream_packets, context, descriptor, codec, plan))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        channel.shutdown()  # the thread fails at once; the descriptor stays open until it is done
        await asyncio.wait({work})
        raise
    finally:
        channel.take_socket_back()


def open_read(context: ServerContext, request: OpReadBlockProto, acked: int | None) -> ReadPlan:
    """The validated plan of a read (blocking: opens the replica's files)."""
    block = request.header.baseHeader.block
    context.check_block_pool(block.poolId)
    if context.bad_replicas.is_bad(block.blockId):
        raise ReplicaKnownBad(f"blk_{block.blockId} failed verification here and is not served")
    offset, length = from_uint64(request.offset), from_uint64(request.len)
    reader = context.store.open_for_read(block.blockId, block.generationStamp)
    try:
        if reader.record.state is ReplicaState.RBW and acked is not None:
            reader.limit_to(acked)
        if offset < 0 or length < 0:
            raise InvalidReplicaOffset(f"blk_{block.blockId}: negative offset {offset} or length {length}")
        if offset + length > reader.length:
            raise InvalidReplicaOffset(
                f"blk_{block.blockId}: range [{offset}, {offset + length}) is past the end of "
                f"{reader.length} readable bytes"
            )
        bytes_per_checksum = reader.spec.bytes_per_checksum
        chunk_offset = offset - offset % bytes_per_checksum
        end = min(reader.length, -(-(offset + length) // bytes_per_checksum) * bytes_per_checksum)
        wire_spec = (
            reader.spec if request.sendChecksums else ChecksumSpec(ChecksumType.NULL, bytes_per_checksum)
        )
        return ReadPlan(reader, wire_spec, offset, chunk_offset, end)
    except BaseException:
        reader.close()
        raise


def stream_packets(
    context: ServerContext, descriptor: int, codec: DataTransferServerConnection, plan: ReadPlan
) -> int:
    """Send every packet of the plan and the empty last one (in a pool thread); return data bytes sent."""
    limits = context.limits
    spec, reader = plan.wire_spec, plan.reader
    packet_bytes = max(1, limits.read_packet_bytes // spec.bytes_per_checksum) * spec.bytes_per_checksum
    position = plan.chunk_offset
    # The end of the range the kernel was asked to read ahead; renewed once half of it is sent.
    readahead_end = position
    # Each round sends one packet of at least one byte, so the loop ends at plan.end.
    while position < plan.end:
        count = min(packet_bytes, plan.end - position)
        if limits.readahead_bytes and readahead_end - position < limits.readahead_bytes // 2:
            start = max(readahead_end, position)
            readahead_end = min(plan.end, position + limits.readahead_bytes)
            reader.read_ahead(start, readahead_end)
        prefix = codec.send_packet_header(position, count)
        if spec.checksum_type is ChecksumType.NULL:
            checksums = b""
        else:
            checksums = packet_checksums(reader, context.checksum_functions, position, position + count)
        if limits.sendfile:
            send_buffers(descriptor, (prefix, checksums), limits.io_timeout_s)
            region = reader.data_region(position, count)
            send_file_range(
                descriptor, region.descriptor, region.chunk_offset, region.count, limits.io_timeout_s
            )
        else:
            data = reader.read(position, count).data
            send_buffers(descriptor, (prefix, checksums, data), limits.io_timeout_s)
        position += count
    send_buffers(descriptor, (codec.send_last_packet(),), limits.io_timeout_s)
    return position - plan.chunk_offset


async def _take_read_status(context: ServerContext, events: EventSource[ServerEvent], plan: ReadPlan) -> bool:
    """The reader's verdict; True when the connection may carry another operation."""
    try:
        event = await events.next_event(context.limits.io_timeout_s)
    except (OSError, TimeoutError, HopsFSError) as error:
        LOGGER.info("no read status from %s: %r", events.channel.peer, error)
        return False
    if not isinstance(event, ReadStatusReceived):
        return False  # the reader hung up after the data: allowed
    if event.status == ERROR_CHECKSUM:
        record = plan.reader.record
        LOGGER.warning("%s reports a checksum error reading blk_%d", events.channel.peer, record.block_id)
        context.spawn(verify_and_report(context, record.block_id), f"verify-blk_{record.block_id}")
    return True


async def verify_and_report(context: ServerContext, block_id: int) -> bool:
    """Verify the replica here; when it is bad, stop serving it and report it. True when bad."""
    try:
        record = await context.run_blocking(context.store.get, block_id)
        bad_offset = await context.run_blocking(context.store.verify, block_id)
    except (HopsFSError, OSError) as error:
        LOGGER.warning("blk_%d: cannot verify: %s", block_id, error)
        return False
    if bad_offset is None:
        LOGGER.info("blk_%d verifies here: the reader's checksum error was on its side", block_id)
        return False
    LOGGER.error("blk_%d is corrupt here at offset %d: no longer served", block_id, bad_offset)
    if context.bad_replicas.mark(block_id, record.genstamp):
        context.events.replica_bad(block_id, record.genstamp, record.length)
    return True
