"""Values the block manager takes and returns; front ends (Hadoop IPC, the datanode gRPC service)
convert them to and from their wire messages. Plain frozen dataclasses: no protobuf, no SQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hopsfs.errors import HopsFSError
from namenode import schema


class BlockManagerError(HopsFSError):
    """A block operation was refused (Hadoop: a plain java.io.IOException)."""


class NotEnoughDatanodes(BlockManagerError):
    """No datanode can take a new block (HDFS: "could only be written to 0 of the 1 minReplication
    nodes")."""


class BlockMismatch(BlockManagerError):
    """The block a client names is not what the namenode has (id, generation stamp or state)."""


class UnknownDatanode(BlockManagerError):
    """A datanode that is not registered called: it must register again."""


class CommandKind(enum.IntEnum):
    TRANSFER = schema.COMMAND_TRANSFER
    INVALIDATE = schema.COMMAND_INVALIDATE
    RECOVER = schema.COMMAND_RECOVER
    FINALIZE_RECOVERED = schema.COMMAND_FINALIZE_RECOVERED


class DatanodeReportKind(enum.Enum):
    LIVE = "live"
    DEAD = "dead"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Block:
    block_id: int
    generation_stamp: int
    num_bytes: int = 0


@dataclass(frozen=True, slots=True)
class DatanodeInfo:
    uuid: str
    storage_id: str
    host_name: str
    transfer_port: int
    info_port: int
    capacity: int
    used: int
    remaining: int
    last_heartbeat_ms: int
    active_transfers: int


@dataclass(frozen=True, slots=True)
class LocatedBlock:
    block: Block
    offset: int  # of the block's first byte in the file
    locations: list[DatanodeInfo]
    corrupt: bool = False


@dataclass(frozen=True, slots=True)
class LocatedBlocks:
    file_length: int  # committed and complete blocks only while the file is being written (HDFS)
    blocks: list[LocatedBlock]
    under_construction: bool
    last_block: LocatedBlock | None
    last_block_complete: bool
    # Which file this is (the engine's identity, not on the wire): read provenance records it.
    inode_id: int = 0
    parent_id: int = 0
    name: str = ""


@dataclass(frozen=True, slots=True)
class DatanodeCommand:
    command_id: int  # unique per datanode; a datanode acts on an id once
    kind: CommandKind
    blocks: list[Block]
    targets: list[DatanodeInfo] = field(default_factory=list)
    new_generation_stamp: int = 0
    num_bytes: int = 0


@dataclass(frozen=True, slots=True)
class ReportedReplica:
    block_id: int
    generation_stamp: int
    num_bytes: int
    finalized: bool  # False: being written (rbw)


@dataclass(frozen=True, slots=True)
class DatanodeRegistration:
    uuid: str
    storage_id: str
    host_name: str
    transfer_port: int
    info_port: int = 0
    software_version: str = ""


@dataclass(frozen=True, slots=True)
class StorageReport:
    capacity: int
    used: int
    remaining: int


@dataclass(frozen=True, slots=True)
class RegisterResult:
    block_pool_id: str
    heartbeat_interval_ms: int
    full_report_interval_ms: int


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    commands: list[DatanodeCommand]
    reregister: bool = False
    full_report_requested: bool = False


@dataclass(frozen=True, slots=True)
class ClusterStats:
    """getFsStats: bytes over live datanodes; block counts from the replication queues."""

    capacity: int
    used: int
    remaining: int
    under_replicated: int
    corrupt_blocks: int
    missing_blocks: int
    live_datanodes: int
    dead_datanodes: int


@dataclass(slots=True)
class HousekeepingReport:
    """What one housekeeping round did (counts), for logs, metrics and tests."""

    leader: bool = True
    datanodes_declared_dead: int = 0
    replicas_removed: int = 0
    replications_scheduled: int = 0
    pending_timed_out: int = 0
    missing_blocks: int = 0
    corrupt_invalidated: int = 0
    excess_invalidated: int = 0
    recoveries_started: int = 0
    files_closed: int = 0
    blocks_dropped: int = 0
    retry_results_expired: bool = False
