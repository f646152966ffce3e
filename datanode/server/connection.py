"""One client connection: operations one after another until the peer closes, idles out, or an
operation ends the connection (a write, a refusal, a broken stream).

Bad input never takes the server down: a stream that breaks the protocol gets an ERROR_INVALID
response when one is still possible (bad version, unknown opcode, a malformed operation), a log line,
and the connection is closed; other connections do not notice. Between operations the connection
may idle `idle_timeout_s`.
"""

from __future__ import annotations

import logging

from datanode.server.channel import Channel, EventSource
from datanode.server.context import ServerContext
from datanode.server.read_block import serve_read_block
from datanode.server.transfer_block import serve_transfer_block
from datanode.server.write_block import serve_write_block
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_codec import DataTransferServerConnection
from hopsfs.protocol.dtp_events import (
    ConnectionClosed,
    ReadBlockRequested,
    ServerEvent,
    TransferBlockRequested,
    UnsupportedOperation,
    WriteBlockRequested,
)
from hopsfs.protocol.dtp_wire import ERROR_INVALID, ERROR_UNSUPPORTED, error_response, status_name
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError

LOGGER = logging.getLogger("hopsfs.datanode.connection")


async def serve_connection(context: ServerContext, channel: Channel) -> None:
    # The store verifies each packet in a pool thread. In-flight packets are bounded by the pipeline's
    # queues (TCP pushes back on the writer); the codec's own, larger cap catches a runaway peer.
    codec = DataTransferServerConnection(
        verify_checksums=False, checksum_functions=context.checksum_functions
    )
    events: EventSource[ServerEvent] = EventSource(channel, codec.receive_data)
    try:
        # One operation per round; each round either ends the connection or waits for the next op
        # under the idle timeout.
        while await _serve_next_operation(context, events, codec):
            pass
    finally:
        channel.close()


async def _serve_next_operation(
    context: ServerContext, events: EventSource[ServerEvent], codec: DataTransferServerConnection
) -> bool:
    """Serve one operation; True when the connection stays open for another."""
    channel = events.channel
    channel.between_operations = True
    try:
        event = await events.next_event(context.limits.idle_timeout_s)
    except TimeoutError:
        LOGGER.debug("closing idle connection from %s", channel.peer)
        return False
    except RemoteProtocolError as error:
        channel.between_operations = False
        await _refuse_broken_stream(context, channel, codec, error)
        return False
    channel.between_operations = False
    if isinstance(event, ConnectionClosed):
        return False
    context.active_transfers += 1
    try:
        keep, opcode, failure = await _dispatch(context, events, codec, event)
    except (RemoteProtocolError, LocalProtocolError) as error:
        context.metrics.add("protocol_errors")
        LOGGER.warning("connection from %s broke the protocol: %s", channel.peer, error)
        return False
    except (OSError, TimeoutError) as error:
        LOGGER.info("connection from %s failed: %r", channel.peer, error)
        return False
    finally:
        context.active_transfers -= 1
    context.metrics.operation_finished(opcode, failure)
    return keep


async def _dispatch(
    context: ServerContext,
    events: EventSource[ServerEvent],
    codec: DataTransferServerConnection,
    event: ServerEvent,
) -> tuple[bool, str, str | None]:
    """(keep the connection, opcode name, error status name or None)."""
    if isinstance(event, ReadBlockRequested):
        keep, failure = await serve_read_block(context, events, codec, event.request)
        return keep, "READ_BLOCK", failure
    if isinstance(event, WriteBlockRequested):
        return False, "WRITE_BLOCK", await serve_write_block(context, events, codec, event)
    if isinstance(event, TransferBlockRequested):
        keep, failure = await serve_transfer_block(context, events.channel, codec, event.request)
        return keep, "TRANSFER_BLOCK", failure
    if isinstance(event, UnsupportedOperation):
        LOGGER.warning("%s asked for %s: not supported", events.channel.peer, event.opcode.name)
        refusal = error_response(ERROR_UNSUPPORTED, f"{event.opcode.name} is not supported by hopsfs")
        await events.channel.send(codec.send_response(refusal), context.limits.io_timeout_s)
        return False, event.opcode.name, status_name(ERROR_UNSUPPORTED)
    raise LocalProtocolError(f"unexpected event between operations: {type(event).__name__}")


async def _refuse_broken_stream(
    context: ServerContext, channel: Channel, codec: DataTransferServerConnection, error: HopsFSError
) -> None:
    context.metrics.add("protocol_errors")
    LOGGER.warning("bad request from %s: %s", channel.peer, error)
    try:
        frame = codec.send_response(error_response(ERROR_INVALID, f"bad request: {error}"[:1000]))
    except LocalProtocolError:
        return  # the stream broke where no response is owed (inside a packet): just close
    try:
        await channel.send(frame, context.limits.io_timeout_s)
    except (OSError, TimeoutError):
        return
