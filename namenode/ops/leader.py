"""Leader election through the database (HopsFS): one namenode at a time runs housekeeping.

The `leader_lease` row "housekeeping" names a holder and when its lease expires. A namenode takes the
lease when it is expired or already its own (a renewal), inside a transaction that reads the row for
update: SQLite's single writer or InnoDB's row lock serializes contenders, so two can never both see
the lease free. `epoch` counts changes of leader. A leader that stops renewing loses the lease when it
expires; a leader shutting down cleanly gives it up at once. A new leader restarts the datanodes'
heartbeat clocks in the same transaction (datanode_liveness.restart_heartbeat_clocks).
"""

from __future__ import annotations

import logging

from hopsfs.errors import InvalidArgument
from hopsfs.invariants import check
from namenode import schema
from namenode.block_rows import LeaderLeaseRow
from namenode.engine.txn import Transaction
from namenode.ops.datanode_liveness import restart_heartbeat_clocks

log = logging.getLogger(__name__)
HOLDER_BYTES_MAX = 64  # leader_lease.holder


def try_become_leader(transaction: Transaction, namenode_id: str, lease_ms: int) -> bool:
    """Take or renew the housekeeping lease; True when `namenode_id` holds it now."""
    if not namenode_id or len(namenode_id.encode("utf-8")) > HOLDER_BYTES_MAX:
        raise InvalidArgument(f"a namenode id must be 1 to {HOLDER_BYTES_MAX} bytes: {namenode_id!r}")
    if lease_ms <= 0:
        raise InvalidArgument(f"a leader lease must last a positive time, not {lease_ms} ms")
    lease = _locked_lease(transaction)
    now_ms = transaction.now_ms
    if lease.holder != namenode_id and lease.expires_ms > now_ms:
        return False
    if lease.holder != namenode_id:
        lease.epoch += 1
        restarted = restart_heartbeat_clocks(transaction)
        log.info(
            "namenode %s becomes the housekeeping leader (epoch %d); %d datanode silence clocks restarted",
            namenode_id,
            lease.epoch,
            restarted,
        )
    lease.holder = namenode_id
    lease.expires_ms = now_ms + lease_ms
    transaction.stage_update(lease)
    return True


def is_leader(transaction: Transaction, namenode_id: str) -> bool:
    lease = _locked_lease(transaction)
    return lease.holder == namenode_id and lease.expires_ms > transaction.now_ms


def resign(transaction: Transaction, namenode_id: str) -> None:
    """Give the lease up (clean shutdown), so another namenode need not wait for it to expire."""
    lease = _locked_lease(transaction)
    if lease.holder == namenode_id:
        lease.expires_ms = 0
        transaction.stage_update(lease)


def _locked_lease(transaction: Transaction) -> LeaderLeaseRow:
    lease = transaction.session.read_leader_lease_for_update(schema.LEADER_LEASE_HOUSEKEEPING)
    check(lease is not None, "the leader lease row is missing: format or upgrade the store")
    assert lease is not None
    return lease
