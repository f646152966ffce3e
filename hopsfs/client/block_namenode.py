"""What the data streams ask of the namenode: the block calls of ClientNamenodeProtocol, as values.

`AsyncClient` implements this protocol with RPCs (`hopsfs.client.block_calls`); tests give the streams
an in-memory implementation, a test peer, so the stream logic runs unchanged against either. Every
method is one namenode call, named after it; errors are `hopsfs.errors` classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hopsfs.protocol.located_blocks import DatanodeInfo, ExtendedBlock, LocatedBlock, LocatedBlocks
from hopsfs.types import FileStatus


class BlockNamenode(Protocol):
    @property
    def client_name(self) -> str:
        """The lease holder name the namenode knows this client by."""
        ...

    async def server_defaults(self) -> dict[str, int]:
        """getServerDefaults: block_size, bytes_per_checksum, write_packet_size, replication, ..."""
        ...

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
        """create: a new empty file, open for writing under this client's lease."""
        ...

    async def reopen_for_append(self, path: str) -> tuple[FileStatus, LocatedBlock | None]:
        """append: the file reopened for writing; its last block when that block has room left."""
        ...

    async def get_block_locations(self, path: str, offset: int, length: int) -> LocatedBlocks: ...

    async def add_block(
        self,
        path: str,
        file_id: int,
        previous: ExtendedBlock | None,
        exclude: Sequence[DatanodeInfo],
    ) -> LocatedBlock:
        """addBlock: commit `previous` (with its final length) and allocate the next block."""
        ...

    async def abandon_block(self, path: str, file_id: int, block: ExtendedBlock) -> None: ...

    async def complete(self, path: str, file_id: int, last: ExtendedBlock | None) -> bool:
        """complete: True once the file is closed; False while its last block lacks replicas."""
        ...

    async def complete_with_data(self, path: str, file_id: int, data: bytes) -> bool:
        """completeWithData (hopsfs): close the file, which has no block, with `data` stored in the
        metadata store; False when the namenode keeps files this size in blocks (file still open)."""
        ...

    async def update_block_for_pipeline(self, block: ExtendedBlock) -> LocatedBlock:
        """updateBlockForPipeline: the block with a new generation stamp for a rebuilt pipeline."""
        ...

    async def update_pipeline(
        self, old_block: ExtendedBlock, new_block: ExtendedBlock, nodes: Sequence[DatanodeInfo]
    ) -> None: ...

    async def fsync(self, path: str, file_id: int, last_block_length: int) -> None: ...

    async def report_bad_blocks(self, blocks: Sequence[LocatedBlock]) -> None:
        """reportBadBlocks: each LocatedBlock names a block and the replicas found corrupt."""
        ...

    async def renew_lease(self) -> None: ...
