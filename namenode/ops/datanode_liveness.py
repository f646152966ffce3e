"""Dead datanodes (leader-only housekeeping): a datanode silent for the dead timeout is declared DEAD,
its queued commands are dropped, and its replicas are forgotten in bounded batches, each block that
lost one queued for re-replication. The batches also serve a storage a datanode re-registered without
(its volume was replaced). A DEAD datanode that heartbeats again is LIVE and re-reports its replicas.
A new housekeeping leader restarts the silence clock of every LIVE datanode (restart_heartbeat_clocks).

Lock set: the datanode rows (declare), then per batch the rows of the blocks it touches.
"""

from __future__ import annotations

from collections import defaultdict

from namenode import schema
from namenode.block_rows import BlockRow, DatanodeRow, ReplicaRow
from namenode.engine.txn import Transaction
from namenode.ops.block_state import BlockKey, DatanodeView, queue_block, replication_priority


def declare_dead(transaction: Transaction) -> list[DatanodeRow]:
    """Mark every datanode silent past the dead timeout DEAD; returns them."""
    view = DatanodeView.load(transaction)
    silent = [row for row in view.rows if row.state == schema.DATANODE_LIVE and not view.is_live(row)]
    for row in silent:
        locked = transaction.session.read_datanode_for_update(row.datanode_uuid)
        if locked is None or view.is_live(locked):
            continue
        locked.state = schema.DATANODE_DEAD
        transaction.stage_update(locked)
        transaction.session.delete_commands_of_datanode(locked.datanode_uuid)
    return silent


def restart_heartbeat_clocks(transaction: Transaction) -> int:
    """A new leader's first step: every LIVE datanode counts as heard from now. Silence before the
    change of leader proves nothing: with every namenode down (a restart, an upgrade) no heartbeat
    could land, and declaring those datanodes dead would forget every replica and drop the last block
    of each file under recovery. As a restarted HDFS namenode waits for datanodes to register, a
    datanode is judged only on its silence since. Returns how many clocks moved."""
    view = DatanodeView.load(transaction)
    moved = 0
    for row in view.rows:
        if row.state != schema.DATANODE_LIVE or row.last_heartbeat_ms >= transaction.now_ms:
            continue
        locked = transaction.session.read_datanode_for_update(row.datanode_uuid)
        if locked is None or locked.state != schema.DATANODE_LIVE:
            continue
        locked.last_heartbeat_ms = max(locked.last_heartbeat_ms, transaction.now_ms)
        transaction.stage_update(locked)
        moved += 1
    return moved


def dead_storages(transaction: Transaction) -> list[str]:
    view = DatanodeView.load(transaction)
    return [row.storage_id for row in view.rows if row.state == schema.DATANODE_DEAD]


def forget_storage_batch(transaction: Transaction, storage_id: str) -> int:
    """Forget up to a batch of the storage's replicas, corrupt replicas and copies in flight to it;
    returns how many rows went (0: nothing left, or its datanode is live again)."""
    view = DatanodeView.load(transaction)
    owner = view.by_storage(storage_id)
    if owner is not None and owner.state == schema.DATANODE_LIVE:
        return 0
    limit = transaction.context.block_config.housekeeping_batch_rows
    session = transaction.session
    replicas = session.read_replicas_of_storage(storage_id, -1, limit)
    corrupt = session.read_corrupt_of_storage(storage_id, limit)
    pending = session.read_pending_of_storage(storage_id, limit)
    keys = sorted({(row.inode_id, row.block_id) for row in (*replicas, *corrupt, *pending)})
    if not keys:
        return 0
    blocks = {row.key: row for row in session.read_by_blocks(BlockRow, keys, lock="write")}
    holders: dict[BlockKey, list[str]] = defaultdict(list)
    for replica in session.read_by_blocks(ReplicaRow, keys):
        holders[(replica.inode_id, replica.block_id)].append(replica.storage_id)
    replication = {
        row.id: row.replication for row in session.read_inodes_by_ids(sorted({k[0] for k in keys}))
    }
    for row in (*replicas, *corrupt, *pending):
        transaction.stage_delete(row)
    for key in keys:
        block = blocks.get(key)
        if block is None or block.state != schema.BLOCK_COMPLETE:
            continue
        good = [
            storage for storage in holders[key] if storage != storage_id and view.live_by_storage(storage)
        ]
        priority = replication_priority(len(good), replication.get(key[0], 1))
        if priority is not None:
            queue_block(transaction, key, priority, transaction.now_ms)
    return len(replicas) + len(corrupt) + len(pending)
