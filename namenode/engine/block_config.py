"""Timings and bounds of the block manager. Defaults follow HDFS; tests pass small values.

Checked when built, so an inconsistent set fails at startup rather than half way through a round.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs.invariants import check

RECOVERY_LEASE_HOLDER = "HDFS_NameNode"  # HDFS's lease holder for files under lease recovery
BLOCKS_PER_FILE_MAX = 10_000  # dfs.namenode.fs-limits.max-blocks-per-file
REPORT_BUCKETS = 1000  # HopsFS block-report hash buckets: replicas.bucket_id = block_id % buckets


@dataclass(frozen=True, slots=True)
class BlockManagerConfig:
    # A datanode silent this long is dead (HDFS: 2 * recheck 5 min + 10 * heartbeat 3 s).
    dead_after_ms: int = 630_000
    heartbeat_interval_ms: int = 3_000
    full_report_interval_ms: int = 21_600_000
    # A scheduled copy not reported by its target within this is scheduled again.
    pending_replication_timeout_ms: int = 300_000
    # A writer that has not renewed its lease for this long loses the file to lease recovery.
    lease_hard_limit_ms: int = 3_600_000
    # Lease recovery waits this long for every live holder to answer RECOVER before deciding.
    recovery_timeout_ms: int = 60_000
    # A just-closed file's blocks are counted this long after close: their replicas are still arriving.
    replication_check_delay_ms: int = 5_000
    min_replication: int = 1
    commands_per_heartbeat_max: int = 100
    # Copies one datanode is asked to make per heartbeat (HDFS dfs.namenode.replication.max-streams).
    transfers_per_heartbeat_max: int = 4
    # Copies housekeeping schedules per round and live datanode (HDFS work multiplier).
    replications_per_datanode_per_round: int = 2
    report_batch_replicas: int = 1_000
    housekeeping_batch_rows: int = 500
    housekeeping_batches_per_step_max: int = 20

    def __post_init__(self) -> None:
        check(self.heartbeat_interval_ms > 0, "heartbeat interval must be positive")
        check(self.dead_after_ms > self.heartbeat_interval_ms, "a datanode must get to miss a heartbeat")
        check(self.pending_replication_timeout_ms > 0, "pending timeout must be positive")
        check(self.lease_hard_limit_ms > 0, "lease hard limit must be positive")
        check(self.recovery_timeout_ms > 0, "recovery timeout must be positive")
        check(self.replication_check_delay_ms >= 0, "replication check delay cannot be negative")
        check(self.min_replication == 1, "minimum replication other than 1 is not supported")
        check(0 < self.commands_per_heartbeat_max <= 1_000, "commands per heartbeat out of range")
        check(0 < self.transfers_per_heartbeat_max <= self.commands_per_heartbeat_max, "transfer bound")
        check(0 < self.report_batch_replicas <= 10_000, "block-report batch out of range")
        check(0 < self.housekeeping_batch_rows <= 10_000, "housekeeping batch out of range")
        check(self.housekeeping_batches_per_step_max > 0, "housekeeping needs at least one batch")
