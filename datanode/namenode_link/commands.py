"""The commands heartbeat and block report replies carry, executed one at a time (transfers in the
background, a bounded number at once).

- TRANSFER: copy the finalized replica of each block to the targets (OP_WRITE_BLOCK, stage
  PIPELINE_SETUP_CREATE, no client name, as HDFS re-replicates); the targets report `received`.
- INVALIDATE: stop any writer, delete the replica (unless it is newer than the command's stamp), report
  `deleted`.
- RECOVER: stop any writer, move the replica to `newGenerationStamp`, answer ReportRecoveredReplica
  with its length.
- FINALIZE_RECOVERED: cut the replica (at `newGenerationStamp`) to `numBytes`, re-checksumming a cut
  chunk, finalize it, report `received`.

A command id is acted on once (the last `COMMAND_IDS_REMEMBERED` are remembered). A command naming
another block pool, a missing replica or a stamp that does not fit is logged and skipped: the
namenode sees the outcome in the next reports.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from datanode.events import ReplicaEvents
from datanode.namenode_link.link import NamenodeLink
from datanode.server.context import ServerContext
from datanode.server.replica_sender import send_replica
from datanode.storage import ReplicaRecord, ReplicaState, ReplicaStore
from datanode.storage.errors import InvalidReplicaOffset
from hopsfs.errors import HopsFSError
from hopsfs.protocol.hdfs_values import from_uint64
from hopsfs.protocol.proto.datanode_namenode_pb2 import (
    DatanodeCommandProto,
    ReportRecoveredReplicaRequestProto,
)
from hopsfs.protocol.proto.datatransfer_pb2 import OpWriteBlockProto
from hopsfs.protocol.proto.hdfs_pb2 import DatanodeInfoProto, ExtendedBlockProto

LOGGER = logging.getLogger("hopsfs.datanode.commands")
COMMAND_IDS_REMEMBERED = 100_000
COMMANDS_QUEUED_MAX = 100_000
REPORT_ATTEMPTS_MAX = 5
REPORT_RETRY_DELAY_S = 0.5


class CommandExecutor:
    def __init__(
        self, context: ServerContext, link: NamenodeLink, datanode_uuid: str, events: ReplicaEvents
    ) -> None:
        self._context = context
        self._link = link
        self._datanode_uuid = datanode_uuid
        self._events = events
        self._queue: asyncio.Queue[DatanodeCommandProto] = asyncio.Queue(maxsize=COMMANDS_QUEUED_MAX)
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._transfer_slots = asyncio.Semaphore(context.limits.transfers_concurrent_max)
        self.executed = 0

    def submit(self, command: DatanodeCommandProto) -> None:
        """Queue a command unless its id was seen already."""
        if command.commandId in self._seen:
            return
        self._seen[command.commandId] = None
        if len(self._seen) > COMMAND_IDS_REMEMBERED:
            self._seen.popitem(last=False)
        try:
            self._queue.put_nowait(command)
        except asyncio.QueueFull:
            LOGGER.error("command queue full: dropping command %d", command.commandId)

    async def run(self) -> None:
        """Execute queued commands in order until cancelled."""
        while True:
            command = await self._queue.get()
            try:
                await self._execute(command)
            except (HopsFSError, OSError, TimeoutError) as error:
                LOGGER.warning("command %d (%s) failed: %s", command.commandId, _kind(command), error)
            self.executed += 1

    async def _execute(self, command: DatanodeCommandProto) -> None:
        kind = command.kind
        for block in command.blocks:
            if block.poolId != self._context.block_pool_id:
                LOGGER.warning("command %d names block pool %r: skipped", command.commandId, block.poolId)
                continue
            if kind == DatanodeCommandProto.TRANSFER:
                self._context.spawn(self._transfer(block, list(command.targets)), f"transfer-{block.blockId}")
            elif kind == DatanodeCommandProto.INVALIDATE:
                await self._invalidate(block)
            elif kind == DatanodeCommandProto.RECOVER:
                await self._recover(block, command.newGenerationStamp)
            elif kind == DatanodeCommandProto.FINALIZE_RECOVERED:
                new_genstamp = (
                    command.newGenerationStamp
                    if command.HasField("newGenerationStamp")
                    else block.generationStamp
                )
                await self._finalize_recovered(block, new_genstamp, command.numBytes)

    async def _transfer(self, block: ExtendedBlockProto, targets: list[DatanodeInfoProto]) -> None:
        block_id = from_uint64(block.blockId)
        async with self._transfer_slots:
            try:
                record = await self._context.run_blocking(self._context.store.get, block_id)
                if record.state is not ReplicaState.FINALIZED or record.genstamp != block.generationStamp:
                    LOGGER.warning(
                        "TRANSFER blk_%d_%d: the replica here is %s", block_id, block.generationStamp, record
                    )
                    return
                sent = await send_replica(
                    self._context,
                    block_id,
                    record.genstamp,
                    targets,
                    "",
                    OpWriteBlockProto.PIPELINE_SETUP_CREATE,
                )
            except (HopsFSError, OSError, TimeoutError) as error:
                LOGGER.warning("TRANSFER blk_%d failed: %s", block_id, error)
                return
        names = ", ".join(f"{target.id.ipAddr}:{target.id.xferPort}" for target in targets)
        LOGGER.info("TRANSFER blk_%d: %d bytes copied to %s", block_id, sent, names)

    async def _invalidate(self, block: ExtendedBlockProto) -> None:
        block_id = from_uint64(block.blockId)
        await self._context.active_writes.stop(block_id)
        store = self._context.store
        try:
            record = await self._context.run_blocking(store.get, block_id)
        except HopsFSError:
            record = None
        if record is not None and record.genstamp > block.generationStamp:
            LOGGER.warning(
                "INVALIDATE blk_%d_%d: the replica here is newer (%d): kept",
                block_id,
                block.generationStamp,
                record.genstamp,
            )
            return
        await self._context.run_blocking(store.delete, block_id)
        self._context.bad_replicas.forget(block_id)
        LOGGER.info("INVALIDATE blk_%d: deleted", block_id)
        self._events.replica_deleted(block_id)

    async def _recover(self, block: ExtendedBlockProto, new_genstamp: int) -> None:
        block_id = from_uint64(block.blockId)
        await self._context.active_writes.stop(block_id)
        store = self._context.store
        record = await self._context.run_blocking(store.get, block_id)
        if record.genstamp < block.generationStamp or record.genstamp > new_genstamp:
            LOGGER.warning(
                "RECOVER blk_%d to %d: replica stamp %d does not fit", block_id, new_genstamp, record.genstamp
            )
            return
        if record.genstamp < new_genstamp:
            record = await self._context.run_blocking(
                store.update_genstamp, block_id, record.genstamp, new_genstamp
            )
        LOGGER.info("RECOVER blk_%d: stamp %d, %d bytes", block_id, new_genstamp, record.length)
        request = ReportRecoveredReplicaRequestProto(
            datanodeUuid=self._datanode_uuid,
            blockId=block.blockId,
            newGenerationStamp=new_genstamp,
            numBytes=record.length,
        )
        await self._call_with_retries("ReportRecoveredReplica", request)

    async def _finalize_recovered(self, block: ExtendedBlockProto, genstamp: int, length: int) -> None:
        block_id = from_uint64(block.blockId)
        await self._context.active_writes.stop(block_id)
        final = await self._context.run_blocking(
            _finalize_at_length, self._context.store, block_id, genstamp, length
        )
        LOGGER.info("FINALIZE_RECOVERED blk_%d_%d: %d bytes", block_id, genstamp, final.length)
        self._events.replica_received(final)

    async def _call_with_retries(self, method: str, request: object) -> None:
        for attempt in range(1, REPORT_ATTEMPTS_MAX + 1):
            try:
                await self._link.call(method, request)
                return
            except HopsFSError as error:
                if attempt == REPORT_ATTEMPTS_MAX:
                    raise
                LOGGER.info("%s failed (attempt %d): %s", method, attempt, error)
                await asyncio.sleep(REPORT_RETRY_DELAY_S * attempt)


def _finalize_at_length(store: ReplicaStore, block_id: int, genstamp: int, length: int) -> ReplicaRecord:
    """Cut the replica to `length` (a finalized one is reopened for that) and finalize it."""
    record = store.get(block_id)
    if record.genstamp != genstamp:
        raise InvalidReplicaOffset(
            f"blk_{block_id}: replica stamp {record.genstamp}, recovery names {genstamp}"
        )
    if length > record.length:
        raise InvalidReplicaOffset(f"blk_{block_id}: {record.length} bytes here, recovery asks for {length}")
    if record.state is ReplicaState.FINALIZED:
        if record.length == length:
            return record
        store.reopen_finalized(block_id, genstamp, genstamp)
    if length < record.length:
        store.truncate(block_id, genstamp, length)
    return store.finalize(block_id, genstamp)


def _kind(command: DatanodeCommandProto) -> str:
    return str(DatanodeCommandProto.Kind.Name(command.kind))
