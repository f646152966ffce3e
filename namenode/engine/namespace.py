"""The namespace API: every operation the engine offers, each run as one transaction (or, for a
subtree too large for one, as the subtree protocol's sequence of small ones).

Front ends call this with a `Caller` and plain values and get hopsfs dataclasses or hopsfs errors back.
Thread-safe: one `Namespace` serves many threads; each call checks a connection out of the pool.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Sequence

from hopsfs import limits
from hopsfs.errors import FileNotFound
from hopsfs.paths import split_path
from hopsfs.types import Caller, ChangeEvent, ContentSummary, FileStatus, Listing, RetryKey, XAttrSetFlag
from namenode.block_entities import (
    Block,
    ClusterStats,
    DatanodeInfo,
    DatanodeReportKind,
    LocatedBlock,
    LocatedBlocks,
)
from namenode.dal.store import MetadataStore
from namenode.engine.block_config import BlockManagerConfig
from namenode.engine.block_manager import BlockManager
from namenode.engine.hint_cache import HintCache
from namenode.engine.ids import IdAllocator
from namenode.engine.small_file_operations import SmallFileOperations
from namenode.engine.txn import EngineContext, Transaction, run_transaction
from namenode.ops import (
    append,
    attributes,
    block_locations,
    blocks,
    corrupt,
    create,
    delete,
    inline_blocks,
    lease_recovery,
    leases,
    pipeline,
    read,
    rename,
    subtree,
    summary,
    xattrs,
)


class Namespace(SmallFileOperations):
    def __init__(
        self,
        store: MetadataStore,
        *,
        namenode_id: str | None = None,
        hint_cache_entries: int = limits.INODE_HINT_CACHE_ENTRIES_MAX,
        block_config: BlockManagerConfig | None = None,
    ) -> None:
        settings = store.open_settings()
        self.store = store
        self.settings = settings
        self.context = EngineContext(
            store=store,
            hint_cache=HintCache(hint_cache_entries),
            inode_ids=IdAllocator(store, "inode"),
            superuser=settings["superuser"],
            supergroup=settings["supergroup"],
            namenode_id=namenode_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            block_ids=IdAllocator(store, "block"),
            generation_stamps=IdAllocator(store, "generation_stamp"),
            command_ids=IdAllocator(store, "datanode_command"),
            block_config=block_config or BlockManagerConfig(),
        )
        # The datanode side and housekeeping, on the same context (allocators, clock, config).
        self.block_manager = BlockManager(self.context, settings["block_pool_id"])
        # Where HDFS clients read small files stored inline: this process's transfer server
        # (namenode/inline_block_server.py), set once it listens; None while none runs.
        self.inline_block_location: DatanodeInfo | None = None

    @property
    def block_pool_id(self) -> str:
        return self.settings["block_pool_id"]

    @classmethod
    def open(cls, url: str, **options: object) -> Namespace:
        return cls(MetadataStore(url), **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.store.dispose()

    # -- reads ----------------------------------------------------------------------------------

    def stat(self, caller: Caller, path: str) -> FileStatus:
        return run_transaction(self.context, caller, lambda tx: read.stat(tx, path), write=False)

    def list(
        self, caller: Caller, path: str, start_after: str = "", limit: int = limits.LISTING_PAGE_ENTRIES_MAX
    ) -> Listing:
        return run_transaction(
            self.context, caller, lambda tx: read.list_directory(tx, path, start_after, limit), write=False
        )

    def list_located(
        self,
        caller: Caller,
        path: str,
        start_after: str = "",
        client_host: str | None = None,
        limit: int = limits.LISTING_PAGE_ENTRIES_MAX,
    ) -> tuple[Listing, dict[str, LocatedBlocks]]:
        """A listing page and the block locations of each file in it (keyed by path), one snapshot."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: block_locations.list_located(
                tx, path, start_after, limit, client_host, inline_location=self.inline_block_location
            ),
            write=False,
            snapshot=True,
        )

    def list_all(self, caller: Caller, path: str) -> list[FileStatus]:
        """Every entry, page by page (each page its own consistent read)."""
        entries: list[FileStatus] = []
        start_after = ""
        while True:
            page = self.list(caller, path, start_after)
            entries.extend(page.entries)
            if not page.has_more or not page.entries:
                return entries
            start_after = page.entries[-1].name

    def exists(self, caller: Caller, path: str) -> bool:
        try:
            self.stat(caller, path)
        except FileNotFound:
            return False
        return True

    def get_link_target(self, caller: Caller, path: str) -> str:
        return run_transaction(self.context, caller, lambda tx: read.link_target(tx, path), write=False)

    def content_summary(self, caller: Caller, path: str) -> ContentSummary:
        return run_transaction(
            self.context, caller, lambda tx: summary.content_summary(tx, path), write=False, snapshot=True
        )

    def get_xattrs(self, caller: Caller, path: str, names: list[str] | None = None) -> dict[str, bytes]:
        return run_transaction(
            self.context, caller, lambda tx: xattrs.get_xattrs(tx, path, names), write=False
        )

    def list_xattrs(self, caller: Caller, path: str) -> list[str]:
        return run_transaction(self.context, caller, lambda tx: xattrs.list_xattrs(tx, path), write=False)

    # -- writes ---------------------------------------------------------------------------------

    def mkdirs(self, caller: Caller, path: str, permission: int = 0o755, create_parent: bool = True) -> bool:
        return run_transaction(
            self.context,
            caller,
            lambda tx: create.mkdirs(tx, path, permission, create_parent),
            write=True,
            ids_needed=_depth(path),
        )

    def create(
        self,
        caller: Caller,
        path: str,
        permission: int = 0o644,
        *,
        overwrite: bool = False,
        create_parent: bool = True,
        replication: int = limits.REPLICATION_DEFAULT,
        block_size: int = limits.BLOCK_SIZE_BYTES_DEFAULT,
        holder: str | None = None,
        retry: RetryKey | None = None,
    ) -> FileStatus:
        """An empty file; with `holder` (an HDFS client name) it stays open for writing under that
        client's lease until `complete`."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: create.create_file(
                tx,
                path,
                permission=permission,
                overwrite=overwrite,
                create_parent=create_parent,
                replication=replication,
                block_size=block_size,
                holder=holder,
            ),
            write=True,
            ids_needed=_depth(path),
            retry=retry,
        )

    def complete(
        self, caller: Caller, path: str, holder: str, last: Block | None = None, file_id: int = 0
    ) -> bool:
        """Commit `last` and close the file once every block has a finalized replica (HDFS complete);
        False while replicas are still being reported: the client calls again."""
        return run_transaction(
            self.context, caller, lambda tx: blocks.complete(tx, path, holder, last, file_id), write=True
        )

    # -- blocks (HDFS ClientProtocol) -----------------------------------------------------------

    def add_block(
        self,
        caller: Caller,
        path: str,
        holder: str,
        previous: Block | None,
        exclude: Collection[str] = frozenset(),
        file_id: int = 0,
        favored_hosts: Sequence[str] = (),
        client_host: str | None = None,
    ) -> LocatedBlock:
        """Commit `previous` (the client's last block, with its length) and start the next block on
        distinct live datanodes not in `exclude` (uuids), the client's own host first."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: blocks.add_block(
                tx, path, holder, previous, exclude, file_id, favored_hosts, client_host
            ),
            write=True,
            block_ids_needed=1,
        )

    def abandon_block(self, caller: Caller, path: str, holder: str, block: Block, file_id: int = 0) -> None:
        run_transaction(
            self.context,
            caller,
            lambda tx: blocks.abandon_block(tx, path, holder, block, file_id),
            write=True,
        )

    def fsync(
        self, caller: Caller, path: str, holder: str, last_block_length: int = -1, file_id: int = 0
    ) -> None:
        run_transaction(
            self.context,
            caller,
            lambda tx: blocks.fsync(tx, path, holder, last_block_length, file_id),
            write=True,
        )

    def get_block_locations(
        self, caller: Caller, path: str, offset: int, length: int, client_host: str | None = None
    ) -> LocatedBlocks:
        """Blocks covering [offset, offset + length) and where to read them. A closed file's blocks
        change state no more, so its reads need no snapshot; an open file's are read in one."""
        try:
            return run_transaction(
                self.context,
                caller,
                lambda tx: block_locations.get_block_locations(
                    tx, path, offset, length, client_host, inline_location=self.inline_block_location
                ),
                write=False,
            )
        except block_locations.OpenFile:
            return run_transaction(
                self.context,
                caller,
                lambda tx: block_locations.get_block_locations(
                    tx,
                    path,
                    offset,
                    length,
                    client_host,
                    snapshot=True,
                    inline_location=self.inline_block_location,
                ),
                write=False,
                snapshot=True,
            )

    def read_inline_block(self, block_id: int) -> inline_blocks.InlineBlockData:
        """The bytes behind an inline file's block id, for the transfer server (no caller: like a
        datanode, it serves any block whose id it is given)."""
        return run_transaction(
            self.context,
            Caller(self.context.superuser),
            lambda tx: inline_blocks.read_inline_block(tx, block_id),
            write=False,
        )

    def append(
        self, caller: Caller, path: str, holder: str, retry: RetryKey | None = None
    ) -> tuple[FileStatus, LocatedBlock | None]:
        """Reopen a closed file for writing; its partly filled last block (if any) with a new
        generation stamp and the datanodes holding it."""
        return run_transaction(
            self.context, caller, lambda tx: append.append(tx, path, holder), write=True, retry=retry
        )

    def update_block_for_pipeline(self, caller: Caller, block: Block, holder: str) -> LocatedBlock:
        return run_transaction(
            self.context,
            caller,
            lambda tx: pipeline.update_block_for_pipeline(tx, block, holder),
            write=True,
        )

    def get_additional_datanodes(
        self,
        caller: Caller,
        block: Block,
        holder: str,
        existing: Sequence[str],
        excluded: Collection[str],
        count: int,
        client_host: str | None = None,
    ) -> LocatedBlock:
        """Datanodes to add to a write pipeline that lost some (HDFS getAdditionalDatanode)."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: pipeline.get_additional_datanodes(
                tx, block, holder, existing, excluded, count, client_host
            ),
            write=False,
        )

    def update_pipeline(
        self,
        caller: Caller,
        holder: str,
        old: Block,
        new: Block,
        new_locations: Sequence[str],
        retry: RetryKey | None = None,
    ) -> None:
        """Record a rebuilt write pipeline: `new` (stamp, length) on `new_locations` (datanode uuids)."""
        run_transaction(
            self.context,
            caller,
            lambda tx: pipeline.update_pipeline(tx, holder, old, new, new_locations),
            write=True,
            retry=retry,
        )

    def report_bad_blocks(self, caller: Caller, reports: Sequence[tuple[Block, Sequence[str]]]) -> None:
        """A reader found these replicas corrupt (datanodes named by uuid or storage id)."""
        run_transaction(
            self.context,
            caller,
            lambda tx: corrupt.report_bad_replicas(tx, reports, "reported by a reader"),
            write=True,
        )

    def recover_lease(self, caller: Caller, path: str, holder: str) -> bool:
        """True when the file is closed; else lease recovery runs and the caller asks again."""
        return run_transaction(
            self.context, caller, lambda tx: lease_recovery.recover_lease(tx, path, holder), write=True
        )

    def cluster_stats(self) -> ClusterStats:
        return self.block_manager.cluster_stats()

    def datanode_report(self, kind: DatanodeReportKind = DatanodeReportKind.ALL) -> list[DatanodeInfo]:
        return self.block_manager.datanode_report(kind)

    def renew_lease(self, caller: Caller, holder: str) -> None:
        run_transaction(self.context, caller, lambda tx: leases.renew(tx, holder), write=True)

    def create_symlink(
        self,
        caller: Caller,
        target: str,
        link_path: str,
        create_parent: bool = False,
        retry: RetryKey | None = None,
    ) -> FileStatus:
        return run_transaction(
            self.context,
            caller,
            lambda tx: create.create_symlink(tx, target, link_path, create_parent=create_parent),
            write=True,
            ids_needed=_depth(link_path),
            retry=retry,
        )

    def delete(
        self, caller: Caller, path: str, recursive: bool = False, retry: RetryKey | None = None
    ) -> bool:
        try:
            return run_transaction(
                self.context, caller, lambda tx: delete.delete(tx, path, recursive), write=True, retry=retry
            )
        except delete.SubtreeTooLarge:
            return self._delete_subtree(caller, path, retry)

    def rename(
        self,
        caller: Caller,
        source_path: str,
        target_path: str,
        overwrite: bool = False,
        retry: RetryKey | None = None,
    ) -> None:
        """HDFS rename2: raises on every refusal."""
        run_transaction(
            self.context,
            caller,
            lambda tx: rename.rename(tx, source_path, target_path, overwrite=overwrite, legacy=False),
            write=True,
            retry=retry,
        )

    def rename_legacy(
        self, caller: Caller, source_path: str, target_path: str, retry: RetryKey | None = None
    ) -> bool:
        """HDFS rename (the old call Spark uses): moves into an existing directory; False on conflicts."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: rename.rename(tx, source_path, target_path, overwrite=False, legacy=True),
            write=True,
            retry=retry,
        )

    def set_permission(self, caller: Caller, path: str, permission: int) -> None:
        run_transaction(
            self.context, caller, lambda tx: attributes.set_permission(tx, path, permission), write=True
        )

    def set_owner(
        self, caller: Caller, path: str, owner: str | None = None, group: str | None = None
    ) -> None:
        run_transaction(
            self.context, caller, lambda tx: attributes.set_owner(tx, path, owner, group), write=True
        )

    def set_times(
        self, caller: Caller, path: str, modification_time_ms: int = -1, access_time_ms: int = -1
    ) -> None:
        run_transaction(
            self.context,
            caller,
            lambda tx: attributes.set_times(tx, path, modification_time_ms, access_time_ms),
            write=True,
        )

    def set_replication(self, caller: Caller, path: str, replication: int) -> bool:
        return run_transaction(
            self.context, caller, lambda tx: attributes.set_replication(tx, path, replication), write=True
        )

    def set_xattr(
        self,
        caller: Caller,
        path: str,
        name: str,
        value: bytes,
        flags: XAttrSetFlag = XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE,
        retry: RetryKey | None = None,
    ) -> None:
        run_transaction(
            self.context,
            caller,
            lambda tx: xattrs.set_xattr(tx, path, name, value, flags),
            write=True,
            retry=retry,
        )

    def remove_xattr(self, caller: Caller, path: str, name: str, retry: RetryKey | None = None) -> None:
        run_transaction(
            self.context, caller, lambda tx: xattrs.remove_xattr(tx, path, name), write=True, retry=retry
        )

    def expire_retry_cache(self) -> None:
        """Delete retry-cache answers older than RETRY_CACHE_EXPIRY_MS (any namenode may do it)."""
        with self.store.session() as session:
            session.begin(write=True)
            session.delete_expired_retry_results(self.context.clock_ms())
            session.commit()

    # -- change log -----------------------------------------------------------------------------

    def read_changes(self, after_sequence: int = 0, limit: int = 1000) -> list[ChangeEvent]:
        """Change-log rows after `after_sequence`, in sequence order (what CDC tails)."""
        with self.store.session() as session:
            rows = session.read_changes(after_sequence, limit)
        return [_change_event(row) for row in rows]

    # -- internals ------------------------------------------------------------------------------

    def _delete_subtree(self, caller: Caller, path: str, retry: RetryKey | None) -> bool:
        context = self.context
        handle = run_transaction(context, caller, lambda tx: subtree.begin_delete(tx, path), write=True)
        if handle is None:
            return False
        try:
            run_transaction(context, caller, lambda tx: subtree.check_permissions(tx, handle), write=False)
        except BaseException:
            run_transaction(context, caller, lambda tx: subtree.abandon(tx, handle), write=True)
            raise
        budget = limits.SUBTREE_TXN_INODES_MAX
        emptied = False
        while not emptied:  # each batch deletes at least one inode (checked in delete_batch): this ends
            emptied = run_transaction(
                context, caller, lambda tx: subtree.delete_batch(tx, handle, budget), write=True
            )

        def finish(transaction: Transaction) -> bool:
            subtree.finish_delete(transaction, handle)
            return True

        # The answer is recorded with the last step: a re-sent call before it runs the protocol again.
        return run_transaction(context, caller, finish, write=True, retry=retry)


def _depth(path: str) -> int:
    return max(len(split_path(path)), 1)


def _change_event(row: tuple[object, ...]) -> ChangeEvent:
    (
        sequence,
        operation,
        inode_id,
        logical_time,
        parent_id,
        name,
        previous_parent_id,
        previous_name,
        _kind,
        user,
        time_ms,
        app_id,
    ) = row
    return ChangeEvent(
        sequence=int(sequence),  # type: ignore[arg-type]
        operation=str(operation),
        inode_id=int(inode_id),  # type: ignore[arg-type]
        logical_time=int(logical_time),  # type: ignore[arg-type]
        parent_id=int(parent_id),  # type: ignore[arg-type]
        name=str(name),
        user=str(user),
        time_ms=int(time_ms),  # type: ignore[arg-type]
        previous_parent_id=None if previous_parent_id is None else int(previous_parent_id),  # type: ignore[arg-type]
        previous_name=None if previous_name is None else str(previous_name),
        app_id=None if app_id is None else str(app_id),
    )
