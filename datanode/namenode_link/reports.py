"""Incremental block reports and bad-replica reports, batched and never lost.

Events arrive from any thread (`ReplicaEvents`) and wait in one ordered list; the sender wakes on the
first, waits `batch_delay_s` (~100 ms) for company, and sends them: replica events as one
IncrementalBlockReport, bad replicas as one ReportBadReplicas. A batch ends before a block that is
already in it, so the namenode never has to guess the order of two events of one block. A failed send
puts the batch back at the front and retries with capped backoff; events are only dropped past
`EVENTS_PENDING_MAX` (the full block report after reregistration repairs that, and it is logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass

from datanode.namenode_link.convert import deleted_replica_proto, replica_proto
from datanode.namenode_link.link import NamenodeLink
from datanode.storage import ReplicaRecord
from hopsfs.errors import HopsFSError
from hopsfs.protocol.proto.datanode_namenode_pb2 import (
    IncrementalBlockReportRequestProto,
    ReportBadReplicasRequestProto,
)
from hopsfs.protocol.proto.hdfs_pb2 import ExtendedBlockProto

LOGGER = logging.getLogger("hopsfs.datanode.reports")
BATCH_DELAY_S_DEFAULT = 0.1
EVENTS_PER_REPORT_MAX = 1000
EVENTS_PENDING_MAX = 1_000_000
RETRY_DELAY_S_MIN = 0.2
RETRY_DELAY_S_MAX = 5.0
_UINT64_MASK = 2**64 - 1


@dataclass(frozen=True, slots=True)
class _ReplicaEvent:
    kind: str  # "receiving", "received", "deleted", "bad"
    block_id: int
    record: ReplicaRecord | None
    genstamp: int = 0
    length: int = 0


class IncrementalReporter:
    def __init__(
        self,
        link: NamenodeLink,
        datanode_uuid: str,
        block_pool_id: str,
        batch_delay_s: float = BATCH_DELAY_S_DEFAULT,
    ) -> None:
        self._link = link
        self._datanode_uuid = datanode_uuid
        self._block_pool_id = block_pool_id
        self._batch_delay_s = batch_delay_s
        self._lock = threading.Lock()
        self._pending: deque[_ReplicaEvent] = deque()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # A finalized replica is reported at once (it ends the batching delay): a writer's complete()
        # waits for it.
        self._urgent = asyncio.Event()
        self.sent_reports = 0

    def replica_receiving(self, record: ReplicaRecord) -> None:
        self._add(_ReplicaEvent("receiving", record.block_id, record))

    def replica_received(self, record: ReplicaRecord) -> None:
        self._add(_ReplicaEvent("received", record.block_id, record), urgent=True)

    def replica_deleted(self, block_id: int) -> None:
        self._add(_ReplicaEvent("deleted", block_id, None))

    def replica_bad(self, block_id: int, genstamp: int, length: int) -> None:
        self._add(_ReplicaEvent("bad", block_id, None, genstamp, length))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    async def run(self) -> None:
        """Send events as they come, until cancelled."""
        retry_delay_s = RETRY_DELAY_S_MIN
        while True:
            await self._wake.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._urgent.wait(), self._batch_delay_s)
            self._urgent.clear()
            self._wake.clear()
            try:
                await self.flush()
            except HopsFSError as error:
                LOGGER.warning(
                    "replica reports not delivered (%d pending), retrying: %s", self.pending, error
                )
                await asyncio.sleep(retry_delay_s)
                retry_delay_s = min(RETRY_DELAY_S_MAX, retry_delay_s * 2)
                self._wake.set()
                continue
            retry_delay_s = RETRY_DELAY_S_MIN

    async def flush(self) -> None:
        """Send everything pending now, batch by batch; a failed batch goes back to the front."""
        # Each round sends a non-empty batch or ends, so the loop ends once the backlog is sent.
        while True:
            batch = self._take_batch()
            if not batch:
                return
            try:
                await self._send(batch)
            except BaseException:
                with self._lock:
                    self._pending.extendleft(reversed(batch))
                raise

    def _add(self, event: _ReplicaEvent, urgent: bool = False) -> None:
        with self._lock:
            if len(self._pending) >= EVENTS_PENDING_MAX:
                LOGGER.error("replica report backlog full: dropping %s of blk_%d", event.kind, event.block_id)
                return
            self._pending.append(event)
        self._loop.call_soon_threadsafe(self._wake.set)
        if urgent:
            self._loop.call_soon_threadsafe(self._urgent.set)

    def _take_batch(self) -> list[_ReplicaEvent]:
        """Leading events of one kind family (bad vs. the rest), no block twice, at most the maximum."""
        batch: list[_ReplicaEvent] = []
        blocks: set[int] = set()
        with self._lock:
            while self._pending and len(batch) < EVENTS_PER_REPORT_MAX:
                event = self._pending[0]
                if event.block_id in blocks or (batch and (event.kind == "bad") != (batch[0].kind == "bad")):
                    break
                batch.append(self._pending.popleft())
                blocks.add(event.block_id)
        return batch

    async def _send(self, batch: list[_ReplicaEvent]) -> None:
        if batch[0].kind == "bad":
            blocks = [
                ExtendedBlockProto(
                    poolId=self._block_pool_id,
                    blockId=event.block_id & _UINT64_MASK,
                    generationStamp=event.genstamp,
                    numBytes=event.length,
                )
                for event in batch
            ]
            request = ReportBadReplicasRequestProto(datanodeUuid=self._datanode_uuid, blocks=blocks)
            await self._link.call("ReportBadReplicas", request)
        else:
            report = IncrementalBlockReportRequestProto(datanodeUuid=self._datanode_uuid)
            for event in batch:
                if event.kind == "deleted":
                    report.deleted.append(deleted_replica_proto(event.block_id))
                elif event.record is not None:
                    target = report.receiving if event.kind == "receiving" else report.received
                    target.append(replica_proto(event.record))
            await self._link.call("IncrementalBlockReport", report)
        self.sent_reports += 1
