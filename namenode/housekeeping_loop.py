"""The leader-only housekeeping thread of a namenode process.

Every namenode runs this loop; each round it tries to take (or renew) the leader lease in the
database, and only the holder runs `BlockManager.housekeeping_once`: dead datanodes, re-replication,
corrupt and excess replicas, lease recovery, retry-cache expiry. A leader that dies stops renewing,
and another namenode takes over once the lease expires (LEADER_LEASE_ROUNDS rounds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hopsfs.errors import HopsFSError
from namenode.block_entities import HousekeepingReport
from namenode.engine.block_manager import BlockManager

LEADER_LEASE_ROUNDS = 8

_log = logging.getLogger("hopsfs.namenode.housekeeping")


class HousekeepingLoop:
    def __init__(
        self,
        manager: BlockManager,
        namenode_id: str,
        interval_ms: int,
        every_namenode: Callable[[], object] | None = None,
    ) -> None:
        """`every_namenode` runs each round on every namenode, leader or not (e.g. flushing the
        read-provenance tallies this process collected)."""
        self._every_namenode = every_namenode
        self._manager = manager
        self._namenode_id = namenode_id
        self._interval_s = interval_ms / 1000
        self._lease_ms = interval_ms * LEADER_LEASE_ROUNDS
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        self.is_leader = False
        self.rounds = 0
        self.failures = 0
        self.last_report = HousekeepingReport(leader=False)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)
        if self.is_leader:
            try:  # hand over now rather than after the lease runs out
                self._manager.resign_leader(self._namenode_id)
            except HopsFSError as error:
                _log.warning("could not resign the leader lease: %s", error)

    def render_metrics(self) -> str:
        """Prometheus text: leadership and what the last round did."""
        report = self.last_report
        values = {
            "leader": int(self.is_leader),
            "housekeeping_rounds_total": self.rounds,
            "housekeeping_failures_total": self.failures,
            "missing_blocks": report.missing_blocks,
            "replications_scheduled_last_round": report.replications_scheduled,
        }
        return "".join(
            f"# TYPE hopsfs_namenode_{name} {'counter' if name.endswith('_total') else 'gauge'}\n"
            f"hopsfs_namenode_{name} {value}\n"
            for name, value in values.items()
        )

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self._round()
            except HopsFSError as error:
                self.failures += 1
                _log.warning("housekeeping round failed: %s: %s", type(error).__name__, error)
            except Exception:
                self.failures += 1
                _log.exception("housekeeping round failed")

    def _round(self) -> None:
        if self._every_namenode is not None:
            try:
                self._every_namenode()
            except HopsFSError as error:  # its own failure must not cost this namenode its leadership
                _log.warning("per-namenode task failed: %s: %s", type(error).__name__, error)
        now_ms = int(time.time() * 1000)
        leader = self._manager.try_become_leader(self._namenode_id, now_ms, self._lease_ms)
        if leader != self.is_leader:
            _log.info(
                "namenode %s %s the housekeeping leader",
                self._namenode_id,
                "is" if leader else "is no longer",
            )
            self.is_leader = leader
        if not leader:
            return
        report = self._manager.housekeeping_once(self._namenode_id, now_ms)
        self.rounds += 1
        self.last_report = report
        if report.datanodes_declared_dead or report.replications_scheduled or report.files_closed:
            _log.info("housekeeping: %s", report)
