"""An in-memory namenode for the client's stream tests: a test peer, not a mock of the stream logic.

`MemoryNamespace` keeps files, directories and blocks in dicts and answers the block calls the way the
block manager does (issue 4's contract): addBlock commits the previous block with the length the
client reports and places the new one on the first `replication` datanodes not excluded; complete
answers False until every block has a finalized replica of the right stamp and length on some
`FakeDatanode` (asked directly, standing in for block reports); getBlockLocations lists for each block
the datanodes holding such a replica, minus those reported corrupt, and for a file being written its
last block with the pipeline's datanodes; updateBlockForPipeline bumps the stamp by one; append
reopens the last block under a new stamp.

`MemoryNamenode` is one client's view (its lease holder name) and implements
`hopsfs.client.block_namenode.BlockNamenode`; `tests/unit/client/fake_ipc_namenode.py` serves the
same namespace over Hadoop IPC for the blocking client and the CLI.
"""

from __future__ import annotations

import posixpath
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from support.fake_datanode import FakeDatanode

from hopsfs.errors import (
    DirectoryNotEmpty,
    FileAlreadyExists,
    FileNotFound,
    InvalidArgument,
    IsADirectory,
    LeaseConflict,
    LeaseExpired,
    ParentNotDirectory,
)
from hopsfs.protocol.located_blocks import DatanodeInfo, ExtendedBlock, LocatedBlock, LocatedBlocks
from hopsfs.types import FileStatus, InodeKind

POOL_ID = "BP-memory-1"
BLOCK_SIZE_DEFAULT = 1024 * 1024
REPLICATION_DEFAULT = 3


@dataclass
class MemoryBlock:
    block_id: int
    generation_stamp: int
    num_bytes: int = 0
    pipeline: tuple[DatanodeInfo, ...] = ()
    committed: bool = False


@dataclass
class MemoryInode:
    inode_id: int
    kind: InodeKind
    permission: int
    owner: str = "tester"
    group: str = "supergroup"
    modification_time_ms: int = 0
    access_time_ms: int = 0
    replication: int = 0
    block_size: int = 0
    blocks: list[MemoryBlock] = field(default_factory=list)
    holder: str | None = None


class MemoryNamespace:
    def __init__(self, datanodes: Sequence[FakeDatanode]) -> None:
        self.datanodes = list(datanodes)
        self.inodes: dict[str, MemoryInode] = {"/": MemoryInode(1, InodeKind.DIRECTORY, 0o755)}
        self.calls: Counter[str] = Counter()
        self.corrupt: set[tuple[int, str]] = set()
        self.pipeline_updates: list[tuple[ExtendedBlock, ExtendedBlock, tuple[str, ...]]] = []
        self.fsyncs: list[tuple[str, int]] = []
        # complete() answers False this many times before it looks at replicas at all.
        self.complete_refusals = 0
        self.block_size_default = BLOCK_SIZE_DEFAULT
        self.replication_default = REPLICATION_DEFAULT
        self._lock = threading.RLock()
        self._next_inode_id = 1000
        self._next_block_id = 1
        self._next_generation_stamp = 1001

    # -- namespace ------------------------------------------------------------------------------

    def stat(self, path: str) -> FileStatus | None:
        with self._lock:
            inode = self.inodes.get(path)
            return None if inode is None else self._status(path, inode)

    def list(self, path: str) -> list[FileStatus]:
        with self._lock:
            inode = self._existing(path)
            if inode.kind is not InodeKind.DIRECTORY:
                return [self._status(path, inode)]
            return [self._status(child, self.inodes[child]) for child in self._children(path)]

    def mkdirs(self, path: str, permission: int, create_parent: bool) -> bool:
        with self._lock:
            missing: list[str] = []
            current = path
            while current not in self.inodes:
                missing.append(current)
                current = posixpath.dirname(current)
            if self.inodes[current].kind is not InodeKind.DIRECTORY:
                raise ParentNotDirectory(f"{current} is not a directory")
            if len(missing) > 1 and not create_parent:
                raise FileNotFound(f"parent of {path} does not exist")
            for directory in reversed(missing):
                self.inodes[directory] = MemoryInode(
                    self._inode_id(), InodeKind.DIRECTORY, permission, **self._times()
                )
            return True

    def delete(self, path: str, recursive: bool) -> bool:
        with self._lock:
            if path not in self.inodes:
                return False
            children = self._children(path)
            if children and not recursive:
                raise DirectoryNotEmpty(f"{path} is non empty")
            for name in [key for key in self.inodes if key == path or key.startswith(path.rstrip("/") + "/")]:
                del self.inodes[name]
            return True

    def rename(self, source: str, target: str, overwrite: bool) -> None:
        with self._lock:
            inode = self._existing(source)
            if target in self.inodes:
                if not overwrite:
                    raise FileAlreadyExists(f"rename destination {target} already exists")
                self.delete(target, recursive=False)
            self._parent_directory(target)
            moved = {
                key: value for key, value in self.inodes.items() if key.startswith(source.rstrip("/") + "/")
            }
            for key in moved:
                del self.inodes[key]
                self.inodes[target + key[len(source) :]] = moved[key]
            del self.inodes[source]
            self.inodes[target] = inode

    def set_replication(self, path: str, replication: int) -> bool:
        with self._lock:
            inode = self._existing(path)
            if inode.kind is not InodeKind.FILE:
                return False
            inode.replication = replication
            return True

    def set_times(self, path: str, modification_time_ms: int, access_time_ms: int) -> None:
        with self._lock:
            inode = self._existing(path)
            if modification_time_ms >= 0:
                inode.modification_time_ms = modification_time_ms
            if access_time_ms >= 0:
                inode.access_time_ms = access_time_ms

    def set_permission(self, path: str, permission: int) -> None:
        with self._lock:
            self._existing(path).permission = permission

    # -- files and blocks ----------------------------------------------------------------------

    def create(
        self,
        path: str,
        holder: str,
        *,
        permission: int,
        overwrite: bool,
        create_parent: bool,
        replication: int,
        block_size: int,
    ) -> FileStatus:
        with self._lock:
            self.calls["create"] += 1
            existing = self.inodes.get(path)
            if existing is not None:
                if existing.kind is InodeKind.DIRECTORY:
                    raise IsADirectory(f"{path} is a directory")
                if not overwrite:
                    raise FileAlreadyExists(f"{path} already exists")
                if existing.holder is not None and existing.holder != holder:
                    raise LeaseConflict(f"{path} is being written by {existing.holder}")
            parent = posixpath.dirname(path)
            if parent not in self.inodes:
                if not create_parent:
                    raise FileNotFound(f"parent {parent} does not exist")
                self.mkdirs(parent, 0o755, True)
            self._parent_directory(path)
            self.inodes[path] = MemoryInode(
                self._inode_id(),
                InodeKind.FILE,
                permission,
                replication=replication,
                block_size=block_size,
                holder=holder,
                **self._times(),
            )
            return self._status(path, self.inodes[path])

    def append(self, path: str, holder: str) -> tuple[FileStatus, LocatedBlock | None]:
        with self._lock:
            self.calls["append"] += 1
            inode = self._file(path)
            if inode.holder is not None:
                raise LeaseConflict(f"{path} is already open for writing by {inode.holder}")
            inode.holder = holder
            status = self._status(path, inode)
            if not inode.blocks or inode.blocks[-1].num_bytes >= inode.block_size:
                return status, None
            last = inode.blocks[-1]
            holders = tuple(node.info for node in self._holders(last))
            # HDFS appendFile keeps the stamp; the writer bumps it through updateBlockForPipeline.
            last.pipeline = holders
            last.committed = False
            return status, self._located(inode, len(inode.blocks) - 1, holders)

    def block_locations(self, path: str, offset: int, length: int) -> LocatedBlocks:
        with self._lock:
            self.calls["getBlockLocations"] += 1
            inode = self._file(path)
            if offset < 0 or length < 0:
                raise InvalidArgument(f"negative offset or length: {offset}, {length}")
            open_file = inode.holder is not None
            located: list[LocatedBlock] = []
            block_start = 0
            for index, block in enumerate(inode.blocks):
                block_end = block_start + block.num_bytes
                if block_start < offset + length and block_end > offset:
                    located.append(self._located(inode, index, self._locations(inode, index)))
                block_start = block_end
            last_index = len(inode.blocks) - 1
            last = (
                self._located(inode, last_index, self._locations(inode, last_index)) if inode.blocks else None
            )
            committed = sum(block.num_bytes for block in inode.blocks if block.committed or not open_file)
            return LocatedBlocks(
                file_length=committed,
                blocks=tuple(located),
                under_construction=open_file,
                last_block=last,
                last_block_complete=not open_file,
            )

    def add_block(
        self, path: str, holder: str, previous: ExtendedBlock | None, exclude: Sequence[DatanodeInfo]
    ) -> LocatedBlock:
        with self._lock:
            self.calls["addBlock"] += 1
            inode = self._open_file(path, holder)
            if previous is not None:
                self._commit(inode, previous)
            excluded = {node.uuid for node in exclude}
            chosen = [node.info for node in self.datanodes if node.uuid not in excluded][: inode.replication]
            block = MemoryBlock(self._next_block_id, self._next_generation_stamp, 0, tuple(chosen))
            self._next_block_id += 1
            self._next_generation_stamp += 1
            inode.blocks.append(block)
            return self._located(inode, len(inode.blocks) - 1, block.pipeline)

    def abandon_block(self, path: str, holder: str, block: ExtendedBlock) -> None:
        with self._lock:
            self.calls["abandonBlock"] += 1
            inode = self._open_file(path, holder)
            if inode.blocks and inode.blocks[-1].block_id == block.block_id:
                inode.blocks.pop()

    def complete(self, path: str, holder: str, last: ExtendedBlock | None) -> bool:
        with self._lock:
            self.calls["complete"] += 1
            inode = self._open_file(path, holder)
            if last is not None:
                self._commit(inode, last)
            if self.complete_refusals > 0:
                self.complete_refusals -= 1
                return False
            if not all(self._holders(block) for block in inode.blocks):
                return False
            inode.holder = None
            inode.modification_time_ms = int(time.time() * 1000)
            return True

    def update_block_for_pipeline(self, block: ExtendedBlock, holder: str) -> LocatedBlock:
        with self._lock:
            self.calls["updateBlockForPipeline"] += 1
            inode, index = self._block_of(block.block_id)
            if inode.holder != holder:
                raise LeaseExpired(f"{holder} does not hold the lease of block {block.block_id}")
            stored = inode.blocks[index]
            stored.generation_stamp += 1
            return self._located(inode, index, stored.pipeline)

    def update_pipeline(
        self, holder: str, old: ExtendedBlock, new: ExtendedBlock, nodes: Sequence[str]
    ) -> None:
        with self._lock:
            self.calls["updatePipeline"] += 1
            inode, index = self._block_of(old.block_id)
            stored = inode.blocks[index]
            if new.generation_stamp != stored.generation_stamp:
                raise InvalidArgument(
                    f"stamp {new.generation_stamp} is not the block's {stored.generation_stamp}"
                )
            by_uuid = {node.uuid: node.info for node in self.datanodes}
            stored.num_bytes = new.num_bytes
            stored.pipeline = tuple(by_uuid[uuid] for uuid in nodes)
            self.pipeline_updates.append((old, new, tuple(nodes)))

    def fsync(self, path: str, holder: str, last_block_length: int) -> None:
        with self._lock:
            self.calls["fsync"] += 1
            inode = self._open_file(path, holder)
            if inode.blocks and last_block_length >= 0:
                inode.blocks[-1].num_bytes = last_block_length
            self.fsyncs.append((path, last_block_length))

    def report_bad_blocks(self, blocks: Sequence[LocatedBlock]) -> None:
        with self._lock:
            self.calls["reportBadBlocks"] += 1
            for located in blocks:
                for node in located.locations:
                    self.corrupt.add((located.block.block_id, node.uuid))

    def recover_lease(self, path: str) -> bool:
        with self._lock:
            inode = self._file(path)
            if inode.holder is None:
                return True
            inode.holder = None
            return False

    # -- internals ------------------------------------------------------------------------------

    def _existing(self, path: str) -> MemoryInode:
        inode = self.inodes.get(path)
        if inode is None:
            raise FileNotFound(f"File does not exist: {path}")
        return inode

    def _file(self, path: str) -> MemoryInode:
        inode = self._existing(path)
        if inode.kind is not InodeKind.FILE:
            raise IsADirectory(f"{path} is a directory")
        return inode

    def _open_file(self, path: str, holder: str) -> MemoryInode:
        inode = self._file(path)
        if inode.holder != holder:
            raise LeaseExpired(f"No lease on {path}: {holder} does not hold it")
        return inode

    def _parent_directory(self, path: str) -> None:
        parent = self.inodes.get(posixpath.dirname(path))
        if parent is None:
            raise FileNotFound(f"parent of {path} does not exist")
        if parent.kind is not InodeKind.DIRECTORY:
            raise ParentNotDirectory(f"parent of {path} is not a directory")

    def _children(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(
            key
            for key in self.inodes
            if key.startswith(prefix) and "/" not in key[len(prefix) :] and key != "/"
        )

    def _commit(self, inode: MemoryInode, reported: ExtendedBlock) -> None:
        if not inode.blocks or inode.blocks[-1].block_id != reported.block_id:
            raise InvalidArgument(f"block {reported.block_id} is not the last block of the file")
        stored = inode.blocks[-1]
        if reported.generation_stamp != stored.generation_stamp:
            raise InvalidArgument(f"reported stamp {reported.generation_stamp} != {stored.generation_stamp}")
        stored.num_bytes = reported.num_bytes
        stored.committed = True

    def _holders(self, block: MemoryBlock) -> list[FakeDatanode]:
        """Datanodes with a finalized replica of the block's stamp and length, not reported corrupt."""
        holders = []
        for node in self.datanodes:
            replica = node.replica(block.block_id)
            if (
                replica is not None
                and replica.finalized
                and replica.generation_stamp == block.generation_stamp
                and len(replica.data) == block.num_bytes
                and (block.block_id, node.uuid) not in self.corrupt
            ):
                holders.append(node)
        return holders

    def _locations(self, inode: MemoryInode, index: int) -> tuple[DatanodeInfo, ...]:
        block = inode.blocks[index]
        if inode.holder is not None and index == len(inode.blocks) - 1:
            return tuple(node for node in block.pipeline if (block.block_id, node.uuid) not in self.corrupt)
        return tuple(node.info for node in self._holders(block))

    def _located(self, inode: MemoryInode, index: int, locations: tuple[DatanodeInfo, ...]) -> LocatedBlock:
        block = inode.blocks[index]
        offset = sum(earlier.num_bytes for earlier in inode.blocks[:index])
        extended = ExtendedBlock(POOL_ID, block.block_id, block.generation_stamp, block.num_bytes)
        return LocatedBlock(extended, offset, locations)

    def _block_of(self, block_id: int) -> tuple[MemoryInode, int]:
        for inode in self.inodes.values():
            for index, block in enumerate(inode.blocks):
                if block.block_id == block_id:
                    return inode, index
        raise FileNotFound(f"block {block_id} does not exist")

    def _status(self, path: str, inode: MemoryInode) -> FileStatus:
        return FileStatus(
            path=path,
            inode_id=inode.inode_id,
            kind=inode.kind,
            permission=inode.permission,
            owner=inode.owner,
            group=inode.group,
            size=sum(block.num_bytes for block in inode.blocks),
            modification_time_ms=inode.modification_time_ms,
            access_time_ms=inode.access_time_ms,
            replication=inode.replication,
            block_size=inode.block_size,
            children_count=len(self._children(path)) if inode.kind is InodeKind.DIRECTORY else 0,
            under_construction=inode.holder is not None,
        )

    def _inode_id(self) -> int:
        self._next_inode_id += 1
        return self._next_inode_id

    def _times(self) -> dict[str, int]:
        now_ms = int(time.time() * 1000)
        return {"modification_time_ms": now_ms, "access_time_ms": now_ms}


class MemoryNamenode:
    """One client's view of a MemoryNamespace: the BlockNamenode the streams talk to."""

    def __init__(self, namespace: MemoryNamespace, client_name: str = "DFSClient_memory_1") -> None:
        self.namespace = namespace
        self._client_name = client_name
        self.lease_renewals = 0

    @property
    def client_name(self) -> str:
        return self._client_name

    async def server_defaults(self) -> dict[str, int]:
        return {
            "block_size": self.namespace.block_size_default,
            "bytes_per_checksum": 512,
            "write_packet_size": 65536,
            "replication": self.namespace.replication_default,
            "file_buffer_size": 4096,
        }

    async def create_file(
        self,
        path: str,
        *,
        permission: int,
        overwrite: bool,
        create_parent: bool,
        replication: int,
        block_size: int,
    ) -> FileStatus:
        return self.namespace.create(
            path,
            self._client_name,
            permission=permission,
            overwrite=overwrite,
            create_parent=create_parent,
            replication=replication,
            block_size=block_size,
        )

    async def reopen_for_append(self, path: str) -> tuple[FileStatus, LocatedBlock | None]:
        return self.namespace.append(path, self._client_name)

    async def get_block_locations(self, path: str, offset: int, length: int) -> LocatedBlocks:
        return self.namespace.block_locations(path, offset, length)

    async def add_block(
        self, path: str, file_id: int, previous: ExtendedBlock | None, exclude: Sequence[DatanodeInfo]
    ) -> LocatedBlock:
        return self.namespace.add_block(path, self._client_name, previous, exclude)

    async def abandon_block(self, path: str, file_id: int, block: ExtendedBlock) -> None:
        self.namespace.abandon_block(path, self._client_name, block)

    async def complete(self, path: str, file_id: int, last: ExtendedBlock | None) -> bool:
        return self.namespace.complete(path, self._client_name, last)

    async def update_block_for_pipeline(self, block: ExtendedBlock) -> LocatedBlock:
        return self.namespace.update_block_for_pipeline(block, self._client_name)

    async def update_pipeline(
        self, old_block: ExtendedBlock, new_block: ExtendedBlock, nodes: Sequence[DatanodeInfo]
    ) -> None:
        self.namespace.update_pipeline(self._client_name, old_block, new_block, [node.uuid for node in nodes])

    async def fsync(self, path: str, file_id: int, last_block_length: int) -> None:
        self.namespace.fsync(path, self._client_name, last_block_length)

    async def report_bad_blocks(self, blocks: Sequence[LocatedBlock]) -> None:
        self.namespace.report_bad_blocks(blocks)

    async def renew_lease(self) -> None:
        self.lease_renewals += 1
