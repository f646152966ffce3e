"""OP_TRANSFER_BLOCK (86): a client rebuilding its pipeline asks this datanode to copy its replica of
the block (being written or finalized) to a new datanode, then answers once the copy is stored there.

The copy goes out as OP_WRITE_BLOCK with stage TRANSFER_RBW or TRANSFER_FINALIZED and the client's
name (Hadoop's transferReplicaForPipelineRecovery): at most the request block's `numBytes`, and never
more than this replica has acknowledged (the client re-sends the rest through the rebuilt pipeline).
"""

from __future__ import annotations

import logging

from datanode.server.channel import Channel
from datanode.server.context import ServerContext
from datanode.server.replica_sender import send_replica
from datanode.server.statuses import message_of, status_of
from datanode.storage import ReplicaState
from datanode.storage.errors import GenerationStampMismatch
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_codec import DataTransferServerConnection
from hopsfs.protocol.dtp_wire import SUCCESS, error_response, status_name
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BlockOpResponseProto,
    OpTransferBlockProto,
    OpWriteBlockProto,
)

LOGGER = logging.getLogger("hopsfs.datanode.transfer")


async def serve_transfer_block(
    context: ServerContext,
    channel: Channel,
    codec: DataTransferServerConnection,
    request: OpTransferBlockProto,
) -> tuple[bool, str | None]:
    """(whether the connection may carry another operation, error status name or None)."""
    block = request.header.baseHeader.block
    try:
        context.check_block_pool(block.poolId)
        record = await context.run_blocking(context.store.get, block.blockId)
        if record.genstamp < block.generationStamp:
            raise GenerationStampMismatch(
                f"blk_{block.blockId}: replica stamp {record.genstamp} is older than {block.generationStamp}"
            )
        stage = (
            OpWriteBlockProto.TRANSFER_RBW
            if record.state is ReplicaState.RBW
            else OpWriteBlockProto.TRANSFER_FINALIZED
        )
        sent = await send_replica(
            context,
            block.blockId,
            record.genstamp,
            request.targets,
            request.header.clientName,
            stage,
            block.numBytes,
        )
    except (HopsFSError, OSError, TimeoutError) as error:
        status = status_of(error)
        LOGGER.warning("TRANSFER_BLOCK blk_%d for %s failed: %s", block.blockId, channel.peer, error)
        frame = codec.send_response(error_response(status, message_of(error)))
        await channel.send(frame, context.limits.io_timeout_s)
        return False, status_name(status)
    LOGGER.info(
        "TRANSFER_BLOCK blk_%d: %d bytes copied to %d targets", block.blockId, sent, len(request.targets)
    )
    frame = codec.send_response(BlockOpResponseProto(status=SUCCESS))  # type: ignore[arg-type]
    await channel.send(frame, context.limits.io_timeout_s)
    return True, None
