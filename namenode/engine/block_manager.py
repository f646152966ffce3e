"""The block manager's datanode side and leader-only housekeeping, as transactions on the store.

Front ends call this (the datanode gRPC service, the namenode's housekeeping thread) with plain values
and a time; each call runs short transactions through the engine's template, so any namenode may serve
any datanode. Big inputs (a full block report, a dead datanode's replicas) are applied in bounded
batches, one transaction each, never as one long transaction.

Thread-safe: share one instance between threads, like `Namespace` (which builds it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from hopsfs.errors import InvalidArgument, NamespaceError, RetriesExhausted, TransientError
from hopsfs.types import Caller
from namenode.block_entities import (
    Block,
    ClusterStats,
    DatanodeCommand,
    DatanodeInfo,
    DatanodeRegistration,
    DatanodeReportKind,
    HeartbeatResult,
    HousekeepingReport,
    RegisterResult,
    ReportedReplica,
    StorageReport,
)
from namenode.engine.block_config import RECOVERY_LEASE_HOLDER, BlockManagerConfig
from namenode.engine.txn import EngineContext, Transaction, run_transaction
from namenode.ops import (
    block_reports,
    corrupt,
    datanode_liveness,
    datanodes,
    leader,
    lease_recovery,
    leases,
    replication,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
# Reported values are uint64 on the wire and signed 64-bit columns in the store.
REPORTED_VALUE_MAX = 2**63 - 1


class BlockManager:
    def __init__(self, context: EngineContext, block_pool_id: str) -> None:
        self.context = context
        self._block_pool_id = block_pool_id
        self._system = Caller(context.superuser)

    @property
    def config(self) -> BlockManagerConfig:
        return self.context.block_config

    def block_pool_id(self) -> str:
        return self._block_pool_id

    # -- datanodes ------------------------------------------------------------------------------

    def register_datanode(
        self, registration: DatanodeRegistration, storage: StorageReport, now_ms: int
    ) -> RegisterResult:
        """Record a datanode (a known uuid is updated: a restart on a new port or address)."""
        context = self._at(now_ms)
        retired = self._write(context, lambda tx: datanodes.register(tx, registration, storage))
        if retired is not None:
            log.warning("datanode %s re-registered without storage %s", registration.uuid, retired)
            self._forget_storage(context, retired)
        return RegisterResult(
            block_pool_id=self._block_pool_id,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
            full_report_interval_ms=self.config.full_report_interval_ms,
        )

    def heartbeat(
        self, uuid: str, storage: StorageReport, active_transfers: int, now_ms: int
    ) -> HeartbeatResult:
        return self._write(
            self._at(now_ms), lambda tx: datanodes.heartbeat(tx, uuid, storage, active_transfers)
        )

    def full_block_report(
        self, uuid: str, replicas: Sequence[ReportedReplica], now_ms: int
    ) -> list[DatanodeCommand]:
        """Reconcile everything the datanode holds, in batches; returns its queued commands (at least
        the INVALIDATEs for replicas of deleted files the report found)."""
        _check_replicas(replicas)
        context = self._at(now_ms)
        datanode = self._read(context, lambda tx: block_reports.reporting_datanode(tx, uuid))
        step = self.config.report_batch_replicas
        for start in range(0, len(replicas), step):
            chunk = replicas[start : start + step]
            self._write(context, lambda tx, chunk=chunk: block_reports.apply_reported(tx, datanode, chunk))
        reported_ids = {replica.block_id for replica in replicas}
        after = -1
        while True:  # pages in block id order: `after` grows each time, so this ends
            after, _ = self._write(
                context,
                lambda tx, start=after: block_reports.forget_missing(tx, datanode, reported_ids, start, step),
            )
            if after == -1:
                break
        return self._write(context, lambda tx: datanodes.finish_block_report(tx, uuid))

    def incremental_block_report(
        self,
        uuid: str,
        receiving: Sequence[ReportedReplica],
        received: Sequence[ReportedReplica],
        deleted: Sequence[ReportedReplica],
        now_ms: int,
    ) -> None:
        """Replicas started (rbw), finalized, and deleted on a datanode since its last report."""
        for replicas in (receiving, received, deleted):
            _check_replicas(replicas)
        context = self._at(now_ms)
        datanode = self._read(context, lambda tx: block_reports.reporting_datanode(tx, uuid))
        changed = [dataclasses.replace(replica, finalized=False) for replica in receiving]
        changed += [dataclasses.replace(replica, finalized=True) for replica in received]
        step = self.config.report_batch_replicas
        for start in range(0, len(changed), step):
            chunk = changed[start : start + step]
            self._write(context, lambda tx, chunk=chunk: block_reports.apply_reported(tx, datanode, chunk))
        deleted_ids = [replica.block_id for replica in deleted]
        for start in range(0, len(deleted_ids), step):
            ids = deleted_ids[start : start + step]
            self._write(context, lambda tx, ids=ids: block_reports.apply_deleted(tx, datanode, ids))

    def report_bad_replicas(self, uuid: str, blocks: Sequence[Block], now_ms: int | None = None) -> None:
        """The datanode's block scanner found these of its replicas corrupt."""
        context = self._at(now_ms)
        datanode = self._read(context, lambda tx: block_reports.reporting_datanode(tx, uuid))
        reports = [(block, [datanode.storage_id]) for block in blocks]
        self._write(context, lambda tx: corrupt.report_bad_replicas(tx, reports, "block scanner"))

    def report_recovered_replica(
        self, uuid: str, block_id: int, new_generation_stamp: int, num_bytes: int, now_ms: int | None = None
    ) -> None:
        self._write(
            self._at(now_ms),
            lambda tx: lease_recovery.report_recovered_replica(
                tx, uuid, block_id, new_generation_stamp, num_bytes
            ),
        )

    def cluster_stats(self, now_ms: int | None = None) -> ClusterStats:
        return self._read(self._at(now_ms), datanodes.cluster_stats)

    def datanode_report(self, kind: DatanodeReportKind, now_ms: int | None = None) -> list[DatanodeInfo]:
        return self._read(self._at(now_ms), lambda tx: datanodes.datanode_report(tx, kind))

    # -- leader election and housekeeping -------------------------------------------------------

    def try_become_leader(self, namenode_id: str, now_ms: int, lease_ms: int) -> bool:
        return self._write(self._at(now_ms), lambda tx: leader.try_become_leader(tx, namenode_id, lease_ms))

    def resign_leader(self, namenode_id: str, now_ms: int | None = None) -> None:
        self._write(self._at(now_ms), lambda tx: leader.resign(tx, namenode_id))

    def housekeeping_once(
        self, namenode_id: str, now_ms: int, config: BlockManagerConfig | None = None
    ) -> HousekeepingReport:
        """One round of leader-only work; does nothing (leader=False) unless `namenode_id` holds the
        leader lease. Every step runs bounded batches of short transactions."""
        context = self._at(now_ms, config)
        if not self._write(context, lambda tx: leader.is_leader(tx, namenode_id)):
            return HousekeepingReport(leader=False)
        report = HousekeepingReport()
        self._dead_datanodes(context, report)
        self._replication(context, report)
        self._corrupt_replicas(context, report)
        self._lease_recovery(context, report)
        self._write(context, lambda tx: tx.session.delete_expired_retry_results(tx.now_ms))
        report.retry_results_expired = True
        report.missing_blocks = self._read(context, datanodes.cluster_stats).missing_blocks
        return report

    def _dead_datanodes(self, context: EngineContext, report: HousekeepingReport) -> None:
        report.datanodes_declared_dead = len(self._write(context, datanode_liveness.declare_dead))
        for storage_id in self._read(context, datanode_liveness.dead_storages):
            report.replicas_removed += self._forget_storage(context, storage_id)

    def _forget_storage(self, context: EngineContext, storage_id: str) -> int:
        removed = 0
        for _ in range(context.block_config.housekeeping_batches_per_step_max):
            count = self._write(context, lambda tx: datanode_liveness.forget_storage_batch(tx, storage_id))
            removed += count
            if count == 0:
                break
        return removed

    def _replication(self, context: EngineContext, report: HousekeepingReport) -> None:
        config = context.block_config
        for _ in range(config.housekeeping_batches_per_step_max):
            expired = self._write(context, replication.expire_pending_batch)
            report.pending_timed_out += expired
            if expired < config.housekeeping_batch_rows:
                break
        live = len(self.datanode_report(DatanodeReportKind.LIVE, context.clock_ms()))
        budget = max(1, live * config.replications_per_datanode_per_round)
        for _ in range(config.housekeeping_batches_per_step_max):
            left = budget - report.replications_scheduled
            batch = self._write(context, lambda tx, left=left: replication.process_queue_batch(tx, left))
            report.replications_scheduled += batch.scheduled
            report.excess_invalidated += batch.excess_invalidated
            if batch.out_of_budget or batch.looked_at < config.housekeeping_batch_rows:
                break

    def _corrupt_replicas(self, context: EngineContext, report: HousekeepingReport) -> None:
        after: tuple[int, int] | None = (-1, -1)
        for _ in range(context.block_config.housekeeping_batches_per_step_max):
            if after is None:
                break
            start = after
            after, invalidated = self._write(
                context, lambda tx, start=start: replication.invalidate_corrupt_batch(tx, start)
            )
            report.corrupt_invalidated += invalidated

    def _lease_recovery(self, context: EngineContext, report: HousekeepingReport) -> None:
        """Files of holders past the hard limit start recovery; files under recovery move on."""
        outcomes = lease_recovery.Outcome
        for inode_id, expired_before_ms in self._lease_work(context):
            try:
                outcome = self._write(
                    context,
                    lambda tx, inode_id=inode_id, expired=expired_before_ms: lease_recovery.recover_file(
                        tx, inode_id, expired_before_ms=expired
                    ),
                )
            except (NamespaceError, TransientError, RetriesExhausted) as error:
                log.warning("lease recovery of inode %d failed, retried next round: %s", inode_id, error)
                continue
            report.recoveries_started += int(outcome is outcomes.RECOVERING and expired_before_ms is not None)
            report.files_closed += int(outcome in (outcomes.CLOSED, outcomes.DROPPED))
            report.blocks_dropped += int(outcome is outcomes.DROPPED)

    def _lease_work(self, context: EngineContext) -> list[tuple[int, int | None]]:
        """(inode id, hard-limit cut-off or None for a file already under recovery), bounded."""
        config = context.block_config
        expired_before_ms = context.clock_ms() - config.lease_hard_limit_ms
        limit = config.housekeeping_batch_rows
        holders = self._read(
            context, lambda tx: tx.session.read_expired_lease_holders(expired_before_ms, "", limit)
        )
        work: list[tuple[int, int | None]] = []
        for holder in holders:
            if holder == RECOVERY_LEASE_HOLDER:
                continue
            inode_ids = self._read(
                context, lambda tx, holder=holder: tx.session.read_lease_path_inodes(holder, limit)
            )
            if not inode_ids:
                self._write(
                    context,
                    lambda tx, holder=holder: leases.forget_idle_holder(tx, holder, expired_before_ms),
                )
            work.extend((inode_id, expired_before_ms) for inode_id in inode_ids)
        recovering = self._read(
            context, lambda tx: tx.session.read_lease_path_inodes(RECOVERY_LEASE_HOLDER, limit)
        )
        work.extend((inode_id, None) for inode_id in recovering)
        # A truncate inside a block keeps its client's lease, however fresh: its recovery runs now.
        truncating = self._read(context, lambda tx: tx.session.read_truncating_inodes(limit))
        listed = {inode_id for inode_id, _ in work}
        work.extend((inode_id, None) for inode_id in truncating if inode_id not in listed)
        return work[:limit]

    # -- plumbing -------------------------------------------------------------------------------

    def _at(self, now_ms: int | None, config: BlockManagerConfig | None = None) -> EngineContext:
        """The engine context with its clock fixed at `now_ms` (the caller's time) and `config`."""
        changes: dict[str, object] = {}
        if now_ms is not None:
            changes["clock_ms"] = lambda: now_ms
        if config is not None:
            changes["block_config"] = config
        return dataclasses.replace(self.context, **changes) if changes else self.context  # type: ignore[arg-type]

    def _write(self, context: EngineContext, operation: Callable[[Transaction], T]) -> T:
        return run_transaction(context, self._system, operation, write=True)

    def _read(self, context: EngineContext, operation: Callable[[Transaction], T]) -> T:
        return run_transaction(context, self._system, operation, write=False)


def _check_replicas(replicas: Sequence[ReportedReplica]) -> None:
    for replica in replicas:
        values = (replica.block_id, replica.generation_stamp, replica.num_bytes)
        if not all(0 <= value <= REPORTED_VALUE_MAX for value in values):
            raise InvalidArgument(f"a reported replica holds an out-of-range value: {replica}")
