"""The block scanner: verify every finalized replica's checksums in the background, at a bounded rate.

Each pass walks the finalized replicas (block id order) and reads each in `SCAN_STEP_BYTES` steps in a
pool thread, checking every chunk against its stored checksum; after each step it sleeps as long as
keeps the pass at `bytes_per_second`. A replica that fails is checked once more (it may have been
reopened for an append or deleted meanwhile: then it is skipped), marked bad (never served again by
this datanode) and reported with ReportBadReplicas. Passes start `interval_s` apart.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from datanode.bad_replicas import BadReplicas
from datanode.config import ScanSettings
from datanode.events import ReplicaEvents
from datanode.server.context import ServerContext
from datanode.storage import ReplicaRecord, ReplicaState
from datanode.storage.errors import ReplicaCorrupt
from hopsfs.errors import HopsFSError

LOGGER = logging.getLogger("hopsfs.datanode.scanner")
SCAN_STEP_BYTES = 1024 * 1024


@dataclass(slots=True)
class ScanTotals:
    passes: int = 0
    replicas_verified: int = 0
    bytes_verified: int = 0
    bad_found: int = 0


class BlockScanner:
    def __init__(self, context: ServerContext, settings: ScanSettings, events: ReplicaEvents) -> None:
        self._context = context
        self._settings = settings
        self._events = events
        self._bad: BadReplicas = context.bad_replicas
        self.totals = ScanTotals()

    async def run(self) -> None:
        """Scan pass after pass until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.scan_once()
            await asyncio.sleep(max(0.0, self._settings.interval_s - (loop.time() - started)))

    async def scan_once(self) -> None:
        """One pass over the finalized replicas."""
        records = await self._context.run_blocking(self._context.store.block_report)
        for record in records:
            if record.state is ReplicaState.FINALIZED and not self._bad.is_bad(record.block_id):
                await self._scan_replica(record)
        self.totals.passes += 1

    async def _scan_replica(self, record: ReplicaRecord) -> None:
        loop = asyncio.get_running_loop()
        offset = 0
        try:
            reader = await self._context.run_blocking(
                self._context.store.open_for_read, record.block_id, record.genstamp
            )
        except HopsFSError:
            return  # deleted or changed since the listing
        try:
            # One step per round, each at least one byte: the loop ends at the replica's length.
            while offset < reader.length:
                count = min(SCAN_STEP_BYTES, reader.length - offset)
                started = loop.time()
                await self._context.run_blocking(reader.read, offset, count, True)
                offset += count
                self.totals.bytes_verified += count
                self._context.metrics.add("scanner_bytes_verified", count)
                await asyncio.sleep(
                    max(0.0, count / self._settings.bytes_per_second - (loop.time() - started))
                )
        except ReplicaCorrupt as error:
            await self._confirm_and_report(record, error)
            return
        except (HopsFSError, OSError) as error:
            LOGGER.info("blk_%d not scanned: %s", record.block_id, error)
            return
        finally:
            reader.close()
        self.totals.replicas_verified += 1

    async def _confirm_and_report(self, record: ReplicaRecord, error: ReplicaCorrupt) -> None:
        store = self._context.store
        try:
            current = await self._context.run_blocking(store.get, record.block_id)
            if current != record:
                return  # appended to, recovered or replaced while it was read
            bad_offset = await self._context.run_blocking(store.verify, record.block_id)
        except HopsFSError:
            return
        if bad_offset is None:
            return
        LOGGER.error(
            "scanner: blk_%d_%d is corrupt at offset %d (%s)",
            record.block_id,
            record.genstamp,
            bad_offset,
            error,
        )
        self.totals.bad_found += 1
        if self._bad.mark(record.block_id, record.genstamp):
            self._events.replica_bad(record.block_id, record.genstamp, record.length)
