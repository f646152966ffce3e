"""Rows of the block manager's tables, in memory; the DAL fills and writes them, operations change them.
(The values front ends see are in block_entities.)

Each dataclass's fields are exactly its table's columns, in order (checked at import), so a fetched tuple
becomes a row with one constructor call and a row's values bind by column name.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

from hopsfs.invariants import check
from namenode import schema


@dataclass(slots=True)
class BlockRow:
    inode_id: int
    block_id: int
    block_index: int
    num_bytes: int
    generation_stamp: int
    state: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.inode_id, self.block_id)


@dataclass(slots=True)
class BlockLookupRow:
    block_id: int
    inode_id: int


@dataclass(slots=True)
class ReplicaRow:
    """A good finalized replica of a COMPLETE block (corrupt ones are in corrupt_replicas instead)."""

    inode_id: int
    block_id: int
    storage_id: str
    state: int
    bucket_id: int


@dataclass(slots=True)
class UcReplicaRow:
    """An expected location of a block under construction, committed or under recovery."""

    inode_id: int
    block_id: int
    storage_id: str
    pipeline_index: int
    generation_stamp: int
    num_bytes: int
    reported_state: int
    recovery_started_ms: int


@dataclass(slots=True)
class CorruptReplicaRow:
    inode_id: int
    block_id: int
    storage_id: str
    reason: str
    reported_ms: int


@dataclass(slots=True)
class QueuedBlockRow:
    """A row of under_replicated_blocks: a block waiting for re-replication or a recount."""

    inode_id: int
    block_id: int
    priority: int
    queued_ms: int


@dataclass(slots=True)
class PendingReplicationRow:
    inode_id: int
    block_id: int
    storage_id: str
    scheduled_ms: int


@dataclass(slots=True)
class CommandRow:
    datanode_uuid: str
    command_id: int
    kind: int
    block_id: int
    generation_stamp: int
    num_bytes: int
    new_generation_stamp: int
    targets: str
    created_ms: int


@dataclass(slots=True)
class DatanodeRow:
    datanode_uuid: str
    storage_id: str
    host_name: str
    transfer_port: int
    info_port: int
    capacity_bytes: int
    used_bytes: int
    remaining_bytes: int
    active_transfers: int
    registered_ms: int
    last_heartbeat_ms: int
    last_block_report_ms: int
    state: int
    software_version: str


@dataclass(slots=True)
class LeaderLeaseRow:
    name: str
    holder: str
    expires_ms: int
    epoch: int


@dataclass(slots=True)
class TruncationRow:
    """A truncate inside a block, waiting for its recovery (ops/truncate.py): `num_bytes` is the
    length the block is recovered to, `file_size` the truncate's new file length."""

    inode_id: int
    block_id: int
    num_bytes: int
    file_size: int


BlockTableRow = (
    BlockRow
    | BlockLookupRow
    | ReplicaRow
    | UcReplicaRow
    | CorruptReplicaRow
    | QueuedBlockRow
    | PendingReplicationRow
    | CommandRow
    | DatanodeRow
    | LeaderLeaseRow
    | TruncationRow
)

# The table each row type lives in.
TABLE_OF_ROW: dict[type, str] = {
    BlockRow: schema.blocks.name,
    BlockLookupRow: schema.block_lookup.name,
    ReplicaRow: schema.replicas.name,
    UcReplicaRow: schema.replicas_under_construction.name,
    CorruptReplicaRow: schema.corrupt_replicas.name,
    QueuedBlockRow: schema.under_replicated_blocks.name,
    PendingReplicationRow: schema.pending_replications.name,
    CommandRow: schema.datanode_commands.name,
    DatanodeRow: schema.datanodes.name,
    LeaderLeaseRow: schema.leader_lease.name,
    TruncationRow: schema.block_truncations.name,
}


def row_values(row: BlockTableRow) -> dict[str, object]:
    """Column name -> value, the way DAL statements bind them."""
    return {field.name: getattr(row, field.name) for field in fields(row)}


def row_tuple(row: BlockTableRow) -> tuple[object, ...]:
    return astuple(row)


def _check_columns() -> None:
    for row_type, table_name in TABLE_OF_ROW.items():
        table = schema.metadata.tables[table_name]
        columns = tuple(column.name for column in table.columns)
        names = tuple(field.name for field in fields(row_type))
        check(names == columns, f"{row_type.__name__} fields must match the {table_name} columns")


_check_columns()
