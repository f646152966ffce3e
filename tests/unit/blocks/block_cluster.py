"""A namespace plus its block manager, with a clock the test moves and datanodes the test plays:
registrations, heartbeats and reports go through the real engine entry points (BlockManager), as the
datanode gRPC service calls them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hopsfs.types import Caller
from namenode.block_entities import (
    Block,
    CommandKind,
    DatanodeCommand,
    DatanodeRegistration,
    HeartbeatResult,
    LocatedBlock,
    ReportedReplica,
    StorageReport,
)
from namenode.dal.store import MetadataStore
from namenode.engine.block_config import BlockManagerConfig
from namenode.engine.block_manager import BlockManager
from namenode.engine.namespace import Namespace

ROOT = Caller("hdfs")
ALICE = Caller("alice", ("users",))
BLOCK_SIZE = 1024 * 1024
TIB = 1 << 40
CONFIG = BlockManagerConfig(
    dead_after_ms=30_000,
    heartbeat_interval_ms=3_000,
    pending_replication_timeout_ms=60_000,
    lease_hard_limit_ms=600_000,
    recovery_timeout_ms=20_000,
    replication_check_delay_ms=0,
)


@dataclass
class BlockCluster:
    """The engine under test and the datanodes the test speaks for."""

    url: str
    namespace: Namespace
    now_ms: int = 1_000_000
    datanodes: dict[str, str] = field(default_factory=dict)  # uuid -> storage id

    @property
    def manager(self) -> BlockManager:
        return self.namespace.block_manager

    def advance(self, milliseconds: int) -> None:
        self.now_ms += milliseconds

    def add_datanode(self, name: str, host: str | None = None, remaining: int = TIB) -> str:
        storage = f"storage-{name}"
        registration = DatanodeRegistration(name, storage, host or f"host-{name}", 9866, 9864, "test")
        self.manager.register_datanode(
            registration, StorageReport(TIB, TIB - remaining, remaining), self.now_ms
        )
        self.datanodes[name] = storage
        return name

    def heartbeat(self, uuid: str, active_transfers: int = 0) -> HeartbeatResult:
        return self.manager.heartbeat(uuid, StorageReport(TIB, 0, TIB), active_transfers, self.now_ms)

    def beat(self, uuids: Sequence[str]) -> dict[str, list[DatanodeCommand]]:
        """One heartbeat from each of `uuids`: the commands each got."""
        return {uuid: self.heartbeat(uuid).commands for uuid in uuids}

    def received(self, uuid: str, block: Block, num_bytes: int | None = None) -> None:
        size = block.num_bytes if num_bytes is None else num_bytes
        replica = ReportedReplica(block.block_id, block.generation_stamp, size, finalized=True)
        self.manager.incremental_block_report(uuid, [], [replica], [], self.now_ms)

    def receiving(self, uuid: str, block: Block, num_bytes: int = 0) -> None:
        replica = ReportedReplica(block.block_id, block.generation_stamp, num_bytes, finalized=False)
        self.manager.incremental_block_report(uuid, [replica], [], [], self.now_ms)

    def write_file(
        self, path: str, sizes: Sequence[int], *, holder: str = "client-1", replication: int = 3
    ) -> list[LocatedBlock]:
        """Create, write and close a file the way a client and its pipelines do; its blocks."""
        namespace = self.namespace
        namespace.create(ROOT, path, replication=replication, block_size=BLOCK_SIZE, holder=holder)
        written: list[LocatedBlock] = []
        previous: Block | None = None
        for size in sizes:
            located = namespace.add_block(ROOT, path, holder, previous)
            block = Block(located.block.block_id, located.block.generation_stamp, size)
            for location in located.locations:
                self.received(location.uuid, block)
            written.append(LocatedBlock(block, located.offset, located.locations))
            previous = block
        assert namespace.complete(ROOT, path, holder, previous)
        return written

    def stamp_of(self, path: str, index: int) -> Block:
        located = self.namespace.get_block_locations(ROOT, path, 0, 1 << 50)
        return located.blocks[index].block


def kinds(commands: Sequence[DatanodeCommand]) -> list[CommandKind]:
    return [command.kind for command in commands]


def invalidated_blocks(commands: Sequence[DatanodeCommand]) -> set[int]:
    return {
        block.block_id
        for command in commands
        if command.kind is CommandKind.INVALIDATE
        for block in command.blocks
    }


def open_cluster(url: str, config: BlockManagerConfig = CONFIG) -> BlockCluster:
    store = MetadataStore(url)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1, force=True)
    cluster = BlockCluster(url, Namespace(store, block_config=config))
    cluster.namespace.context.clock_ms = lambda: cluster.now_ms
    return cluster
