"""The transaction template every namespace operation runs in (HopsFS TransactionalRequestHandler).

Phases: take the ids the operation may need (before any transaction, see ids.py); begin (SQLite:
BEGIN IMMEDIATE for writers; MySQL: READ COMMITTED); resolve paths through the hint cache with one
batched primary-key read; lock the rows the operation changes with one locking read in primary-key
order (a total order, so two operations never wait on each other in a cycle except through retries of
a stale read); check that the locked rows are the ones resolution saw; do the work on rows in memory;
flush deletes, updates, inserts, xattrs and change-log rows as batched statements (block-manager rows
are staged per primary key, last action wins, and written per table the same way); commit; update the
hint cache. Any exception rolls back. Only `TransientError` is retried, at most
TRANSACTION_RETRIES_MAX times with capped, jittered exponential backoff.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from hopsfs import limits
from hopsfs.errors import RetriesExhausted, StaleResolution, SubtreeBusy, TransientError
from hopsfs.invariants import check
from hopsfs.types import Caller, InodeKind, RetryKey
from namenode import schema
from namenode.block_rows import TABLE_OF_ROW, BlockTableRow
from namenode.dal.connection import Backend
from namenode.dal.session import DalSession
from namenode.dal.store import MetadataStore
from namenode.engine.block_config import BlockManagerConfig
from namenode.engine.hint_cache import HintCache
from namenode.engine.ids import IdAllocator
from namenode.engine.permissions import PermissionChecker
from namenode.engine.retry_cache import with_retry_cache
from namenode.entities import InodeKey, InodeRow, key_for

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class EngineContext:
    """What every transaction of one engine shares: store, caches, allocators, identity."""

    store: MetadataStore
    hint_cache: HintCache
    inode_ids: IdAllocator
    superuser: str
    supergroup: str
    namenode_id: str
    block_ids: IdAllocator
    generation_stamps: IdAllocator
    # One id per write transaction; its datanode commands are numbered below it (see new_command_id).
    command_ids: IdAllocator
    block_config: BlockManagerConfig = field(default_factory=BlockManagerConfig)
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    retries_max: int = limits.TRANSACTION_RETRIES_MAX
    statistics: dict[str, int] = field(default_factory=lambda: {"retries": 0, "transactions": 0})


class Transaction:
    """One operation's SQL transaction and its in-memory write set. Passed explicitly, never global."""

    def __init__(
        self,
        context: EngineContext,
        session: DalSession,
        caller: Caller,
        ids: list[int],
        reserved: Reservation | None = None,
    ) -> None:
        self.context = context
        self.session = session
        self.caller = caller
        self.now_ms = context.clock_ms()
        self.permissions = PermissionChecker(caller, context.superuser, context.supergroup)
        self._ids = ids
        self._ids_used = 0
        self.reserved = reserved or Reservation()
        self._before_flush: dict[str, Callable[[Transaction], None]] = {}
        # Block-manager rows to write at flush: (table, primary key) -> (action, row); last action wins.
        self._staged: dict[tuple[str, tuple[object, ...]], tuple[str, BlockTableRow]] = {}
        self._inserted: dict[InodeKey, InodeRow] = {}
        self._updated: dict[InodeKey, InodeRow] = {}
        self._deleted: dict[InodeKey, InodeRow] = {}
        self._xattr_inserts: list[tuple[int, int, str, bytes]] = []
        self._xattr_deletes: list[tuple[int, int, str]] = []
        self._deleted_inode_ids: list[int] = []
        # Small files (schema v4): bytes to store, (inode id, size) rows to drop, directories whose
        # small-file policy goes with them.
        # By inode id: a file created and then replaced in one transaction (a batch naming a path
        # twice, with overwrite) must not leave the first one's bytes behind.
        self._inline_inserts: dict[int, bytes] = {}
        self._inline_deletes: list[tuple[int, int | None]] = []
        self._policy_deletes: list[int] = []
        self._deleted_chunk_ids: list[int] = []
        self._policy_upserts: list[tuple[int, int]] = []
        self._changes: list[dict[str, object]] = []
        self._cache_puts: list[tuple[int, str, int]] = []
        self._cache_forgets: list[tuple[int, str]] = []
        self._finished_subtree_operations: list[int] = []
        self._lease_path_inserts: list[tuple[int, str]] = []
        self._lease_path_deletes: list[int] = []
        self._retry_results: list[tuple[bytes, int, bytes, int]] = []
        # The subtree operation this transaction works for: its flag does not block us.
        self.subtree_owner: str | None = None
        # Files this transaction deletes: their blocks are released at flush (ops/block_removal.py).
        self.removed_file_ids: list[int] = []

    @property
    def uses_row_locks(self) -> bool:
        return self.session.backend is Backend.MYSQL

    # -- ids ------------------------------------------------------------------------------------

    def new_inode_id(self) -> int:
        check(self._ids_used < len(self._ids), "operation used more inode ids than it reserved")
        value = self._ids[self._ids_used]
        self._ids_used += 1
        return value

    def unused_ids(self) -> list[int]:
        return self._ids[self._ids_used :]

    def new_block_id(self) -> int:
        return self.reserved.take_block_id()

    def new_generation_stamp(self) -> int:
        """The first generation stamp of a new block (a bump of an existing one is old + 1)."""
        return self.reserved.take_generation_stamp()

    def new_command_id(self) -> int:
        return self.reserved.take_command_id()

    # -- block-manager rows (written at flush, batched per table) -------------------------------

    def stage_insert(self, row: BlockTableRow) -> None:
        """A row with a fresh key (a new block, lookup, command)."""
        self._stage("insert", row)

    def stage_upsert(self, row: BlockTableRow) -> None:
        self._stage("upsert", row)

    def stage_update(self, row: BlockTableRow) -> None:
        """A row read in this transaction; its values at flush time are written."""
        self._stage("update", row)

    def stage_delete(self, row: BlockTableRow) -> None:
        self._stage("delete", row)

    @property
    def has_staged_rows(self) -> bool:
        return bool(self._staged)

    def staged_rows(self, row_type: type[BlockTableRow]) -> list[tuple[str, BlockTableRow]]:
        """(action, row) of the rows of one table this transaction will write at flush."""
        table_name = TABLE_OF_ROW[row_type]
        return [(action, row) for (table, _), (action, row) in self._staged.items() if table == table_name]

    def _stage(self, action: str, row: BlockTableRow) -> None:
        table_name = TABLE_OF_ROW[type(row)]
        key = (table_name, tuple(getattr(row, name) for name in _PRIMARY_KEYS[table_name]))
        earlier = self._staged.get(key)
        if earlier is not None:
            action = _coalesce(earlier[0], action)
        if action == "cancel":
            del self._staged[key]
        else:
            self._staged[key] = (action, row)

    def _flush_staged(self) -> None:
        by_action: dict[str, list[BlockTableRow]] = {"delete": [], "update": [], "upsert": [], "insert": []}
        for action, row in self._staged.values():
            by_action[action].append(row)
        session = self.session
        session.delete_rows(by_action["delete"])
        session.update_rows(by_action["update"])
        session.upsert_rows(by_action["upsert"])
        session.insert_rows(by_action["insert"])
        self._staged.clear()

    def before_flush(self, name: str, callback: Callable[[Transaction], None]) -> None:
        """Run `callback` once, at the start of flush (work batched over the whole operation)."""
        self._before_flush.setdefault(name, callback)

    # -- locking --------------------------------------------------------------------------------

    def lock(self, rows: Sequence[InodeRow | None]) -> dict[int, InodeRow]:
        """Write-lock `rows` (None entries skipped) in primary-key order; returns fresh rows by id.

        Raises StaleResolution when a row moved or vanished since it was resolved without a lock, and
        SubtreeBusy when a locked row is the root of another live subtree operation: a flag set after
        the unlocked read is seen here, under the lock.
        """
        wanted = {row.key: row for row in rows if row is not None}
        if not self.uses_row_locks:
            for row in wanted.values():
                self.check_not_subtree_locked(row, row.name)
            return {row.id: row for row in wanted.values()}
        locked = {row.key: row for row in self.session.read_inodes_by_keys(sorted(wanted), lock="write")}
        fresh: dict[int, InodeRow] = {}
        for key, row in wanted.items():
            current = locked.get(key)
            if current is None or current.id != row.id:
                raise StaleResolution(f"inode {row.id} ({row.name!r}) changed while it was being locked")
            self.check_not_subtree_locked(current, current.name)
            fresh[current.id] = current
        return fresh

    def read_child(self, parent: InodeRow, name: str) -> InodeRow | None:
        rows = self.session.read_inodes_by_keys([key_for(parent.id, name)])
        return rows[0] if rows else None

    def check_not_subtree_locked(self, row: InodeRow, path: str) -> None:
        if row.subtree_lock_owner is None:
            return
        if row.subtree_lock_owner == self.subtree_owner:
            return
        if (row.subtree_lock_expiry_ms or 0) < self.now_ms:
            return  # its owner stopped renewing: reclaimable
        raise SubtreeBusy(f"{path} is inside the running subtree operation {row.subtree_lock_owner}")

    # -- buffered writes ------------------------------------------------------------------------

    def insert(self, row: InodeRow) -> None:
        if row.key in self._deleted:
            del self._deleted[row.key]
            self._updated[row.key] = row
        else:
            check(row.key not in self._inserted, "an inode inserted twice in one transaction")
            self._inserted[row.key] = row
        if row.kind == InodeKind.DIRECTORY:
            self._cache_puts.append((row.parent_id, row.name, row.id))

    def update(self, row: InodeRow) -> None:
        check(row.key not in self._deleted, "update of an inode this transaction deleted")
        if row.key not in self._inserted:
            self._updated[row.key] = row

    def delete(self, row: InodeRow) -> None:
        if self._inserted.pop(row.key, None) is None:
            self._updated.pop(row.key, None)
            self._deleted[row.key] = row
        self._deleted_inode_ids.append(row.id)
        self._inline_inserts.pop(row.id, None)
        if row.file_stored_in_db:
            # A small file being moved to blocks counts its blocks in `size`: drop every tier.
            self._inline_deletes.append((row.id, None if row.under_construction else row.size))
        if row.kind == InodeKind.DIRECTORY:
            self._policy_deletes.append(row.id)
        self._cache_forgets.append((row.parent_id, row.name))
        if row.subtree_lock_owner is not None:
            # Whoever deletes a flagged root (its owner, or a taker after the lease ran out) ends
            # the operation's record with it.
            self._finished_subtree_operations.append(row.id)

    def move(self, row: InodeRow, new_parent_id: int, new_name: str) -> InodeRow:
        """The row re-keyed under a new parent/name (a rename changes the primary key)."""
        pending_data = self._inline_inserts.get(row.id)
        self.delete(row)
        if pending_data is not None:
            self._inline_inserts[row.id] = pending_data
        self._deleted_inode_ids.pop()  # the inode lives on under its new key, with its data
        if row.file_stored_in_db:
            self._inline_deletes.pop()
        if row.kind == InodeKind.DIRECTORY:
            self._policy_deletes.pop()
        if row.subtree_lock_owner is not None:
            self._finished_subtree_operations.pop()
        moved = row.copy()
        moved.partition_id, moved.parent_id, moved.name = key_for(new_parent_id, new_name)
        self.insert(moved)
        return moved

    def set_xattr(self, inode_id: int, namespace: int, name: str, value: bytes, *, replace: bool) -> None:
        if replace:
            self._xattr_deletes.append((inode_id, namespace, name))
        self._xattr_inserts.append((inode_id, namespace, name, value))

    def remove_xattr(self, inode_id: int, namespace: int, name: str) -> None:
        self._xattr_deletes.append((inode_id, namespace, name))

    def store_inline_data(self, row: InodeRow, data: bytes) -> None:
        """Keep `data` as the bytes of the file `row` (inserted or updated in this transaction),
        written at flush with the inode: the file and its bytes commit together."""
        check(row.is_file, "only a file holds inline data")
        check(row.file_stored_in_db == 1 and row.size == len(data), "an inline file's size is its bytes")
        self._inline_inserts[row.id] = data

    def drop_inline_data(self, row: InodeRow) -> None:
        """Forget the stored bytes of a file that lives on (moved to blocks), from every tier: its
        size no longer says which one holds them."""
        check(row.file_stored_in_db == 1, "only an inline file has inline bytes to drop")
        self._inline_deletes.append((row.id, None))
        self._deleted_chunk_ids.append(row.id)

    def set_inline_policy(self, directory: InodeRow, threshold_bytes: int | None) -> None:
        """A directory's small-file threshold (None: removed, inherited again), written at flush."""
        check(directory.is_directory, "a small-file policy belongs to a directory")
        if threshold_bytes is None:
            self._policy_deletes.append(directory.id)
        else:
            self._policy_upserts.append((directory.id, threshold_bytes))

    def open_lease(self, inode_id: int, holder: str) -> None:
        """Record that `holder` writes inode `inode_id` and renew the holder's lease."""
        self._lease_path_inserts.append((inode_id, holder))

    def close_lease(self, inode_id: int) -> None:
        """Release the file's lease (also one opened earlier in this transaction)."""
        self._lease_path_inserts = [entry for entry in self._lease_path_inserts if entry[0] != inode_id]
        self._lease_path_deletes.append(inode_id)

    def record_retry_result(self, retry: RetryKey, payload: bytes) -> None:
        """Keep this operation's answer for a re-sent call (see engine/retry_cache.py)."""
        expiry_ms = self.now_ms + limits.RETRY_CACHE_EXPIRY_MS
        self._retry_results.append((retry.client_id, retry.call_id, payload, expiry_ms))

    def log_change(
        self,
        operation: str,
        row: InodeRow,
        *,
        previous_parent_id: int | None = None,
        previous_name: str | None = None,
    ) -> None:
        """Bump the inode's logical time and record the change-log row for this transaction."""
        row.logical_time += 1
        self._changes.append(
            {
                "operation": operation,
                "inode_id": row.id,
                "logical_time": row.logical_time,
                "parent_id": row.parent_id,
                "name": row.name,
                "previous_parent_id": previous_parent_id,
                "previous_name": previous_name,
                "kind": row.kind,
                "user_name": self.caller.user,
                "time_ms": self.now_ms,
                "app_id": self.caller.app_id,
            }
        )

    @property
    def write_count(self) -> int:
        return len(self._inserted) + len(self._updated) + len(self._deleted)

    def flush(self) -> None:
        for callback in list(self._before_flush.values()):
            callback(self)
        session = self.session
        if self._deleted:
            session.delete_inodes(self._deleted.keys())
        if self._updated:
            session.update_inodes(self._updated.values())
        if self._inserted:
            session.insert_inodes(self._inserted.values())
        if self._deleted_inode_ids:
            session.delete_data_of_inodes(self._deleted_inode_ids)
        self._flush_inline(session)
        for inode_id in self._finished_subtree_operations:
            session.delete_subtree_operation(inode_id)
        if self._lease_path_deletes:
            session.delete_lease_paths(self._lease_path_deletes)
        if self._lease_path_inserts:
            session.insert_lease_paths(self._lease_path_inserts)
            session.upsert_leases(sorted({holder for _, holder in self._lease_path_inserts}), self.now_ms)
        if self._xattr_deletes:
            session.delete_xattrs(self._xattr_deletes)
        if self._xattr_inserts:
            session.insert_xattrs(self._xattr_inserts)
        if self._changes:
            session.insert_changes(self._changes)
        if self._retry_results:
            session.upsert_retry_results(self._retry_results)
        if self._staged:
            self._flush_staged()

    def _flush_inline(self, session: DalSession) -> None:
        # Drops first: a file rewritten in one transaction (same inode id) gets its new rows after.
        if self._inline_deletes:
            session.delete_inline_data(self._inline_deletes)
        if self._deleted_chunk_ids:
            session.delete_inline_chunks(self._deleted_chunk_ids)
        if self._inline_inserts:
            session.insert_inline_data(self._inline_inserts.items())
        if self._policy_deletes:
            session.delete_inline_policies(self._policy_deletes)
        for inode_id, threshold_bytes in self._policy_upserts:
            session.upsert_inline_policy(inode_id, threshold_bytes)

    def after_commit(self) -> None:
        cache = self.context.hint_cache
        for parent_id, name in self._cache_forgets:
            cache.forget(parent_id, name)
        for parent_id, name, inode_id in self._cache_puts:
            cache.put(parent_id, name, inode_id)


_PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    table_name: tuple(column.name for column in schema.metadata.tables[table_name].primary_key.columns)
    for table_name in TABLE_OF_ROW.values()
}

# (earlier staged action, later action) -> what to write; "cancel" writes nothing.
_COALESCED: dict[tuple[str, str], str] = {
    ("insert", "update"): "insert",
    ("insert", "upsert"): "insert",
    ("insert", "delete"): "cancel",
    ("upsert", "update"): "upsert",
    ("upsert", "delete"): "delete",
    ("update", "upsert"): "upsert",
    ("update", "delete"): "delete",
    ("delete", "insert"): "upsert",
    ("delete", "upsert"): "upsert",
}


def _coalesce(earlier: str, later: str) -> str:
    if earlier == later:
        return later
    found = _COALESCED.get((earlier, later))
    check(found is not None, f"cannot {later} a row this transaction staged for {earlier}")
    assert found is not None
    return found


def run_transaction(
    context: EngineContext,
    caller: Caller,
    operation: Callable[[Transaction], T],
    *,
    write: bool,
    ids_needed: int = 0,
    block_ids_needed: int = 0,
    snapshot: bool = False,
    retry: RetryKey | None = None,
) -> T:
    """Run `operation` in one transaction, retrying transient failures with backoff. With `retry` (an
    at-most-once RPC call), the answer goes to the retry cache in the same transaction.

    Ids are taken before the transaction begins (a refill is its own transaction): `ids_needed` inode
    ids, `block_ids_needed` block ids with as many first generation stamps, and for a writer one
    command id base."""
    operation = with_retry_cache(retry, operation)
    last_error: TransientError | None = None
    for attempt in range(context.retries_max + 1):
        if attempt:
            context.statistics["retries"] += 1
            _backoff(attempt)
        ids = context.inode_ids.take_many(ids_needed) if ids_needed else []
        reserved = Reservation.take(context, block_ids_needed, commands=write)
        transaction: Transaction | None = None
        try:
            with context.store.session() as session:
                transaction = Transaction(context, session, caller, ids, reserved)
                if write or snapshot:
                    session.begin(write=write, snapshot=snapshot)
                result = operation(transaction)
                if write:
                    transaction.flush()
                else:
                    check(not transaction.has_staged_rows, "a read-only operation staged rows to write")
                if session.in_transaction:
                    session.commit()
            transaction.after_commit()
            context.statistics["transactions"] += 1
            context.inode_ids.give_back(transaction.unused_ids())
            reserved.give_back(context)
            return result
        except TransientError as error:
            last_error = error
            log.debug("transient failure on attempt %d: %s", attempt + 1, error)
            context.inode_ids.give_back(ids if transaction is None else transaction.unused_ids())
            reserved.give_back(context)
        except BaseException:
            context.inode_ids.give_back(ids if transaction is None else transaction.unused_ids())
            reserved.give_back(context)
            raise
    raise RetriesExhausted(
        f"gave up after {context.retries_max + 1} attempts; last transient error: {last_error}"
    ) from last_error


COMMANDS_PER_TRANSACTION_MAX = 1 << 20


@dataclass(slots=True)
class Reservation:
    """Block ids, first generation stamps and a command id base taken for one transaction attempt.

    Command ids are base * 2^20 + n: the base is unique across namenodes (batch allocator), so one id
    per write transaction numbers up to 2^20 commands without another allocation inside it."""

    block_ids: list[int] = field(default_factory=list)
    generation_stamps: list[int] = field(default_factory=list)
    command_base: int | None = None
    block_ids_used: int = 0
    commands_used: int = 0

    @classmethod
    def take(cls, context: EngineContext, block_count: int, *, commands: bool) -> Reservation:
        reserved = cls()
        if block_count:
            reserved.block_ids = context.block_ids.take(block_count)
            reserved.generation_stamps = context.generation_stamps.take(block_count)
        if commands:
            reserved.command_base = context.command_ids.take(1)[0]
        return reserved

    def take_block_id(self) -> int:
        check(self.block_ids_used < len(self.block_ids), "operation used more block ids than it reserved")
        self.block_ids_used += 1
        return self.block_ids[self.block_ids_used - 1]

    def take_generation_stamp(self) -> int:
        used = self.block_ids_used
        check(0 < used <= len(self.generation_stamps), "a first generation stamp goes with a new block id")
        return self.generation_stamps[used - 1]

    def take_command_id(self) -> int:
        check(self.command_base is not None, "datanode commands need a write transaction")
        check(self.commands_used < COMMANDS_PER_TRANSACTION_MAX, "too many commands in one transaction")
        assert self.command_base is not None
        self.commands_used += 1
        return self.command_base * COMMANDS_PER_TRANSACTION_MAX + self.commands_used

    def give_back(self, context: EngineContext) -> None:
        """Return what this attempt did not write (once: the lists are emptied)."""
        used = self.block_ids_used
        if self.block_ids[used:]:
            context.block_ids.give_back(self.block_ids[used:])
            context.generation_stamps.give_back(self.generation_stamps[used:])
        if self.command_base is not None and not self.commands_used:
            context.command_ids.give_back([self.command_base])
        self.block_ids, self.generation_stamps, self.command_base = [], [], None


def _backoff(attempt: int) -> None:
    # Ceilings of 10, 20, 40 ... 500 ms: about a second over all retries, long enough to ride out the
    # short transactions of a subtree operation on a busy machine (from 2 ms, the whole budget was
    # about 0.25 s, and racing creators ran out of it in CI).
    ceiling_ms = min(
        limits.TRANSACTION_BACKOFF_MS_MAX, limits.TRANSACTION_BACKOFF_MS_FIRST * 2 ** min(attempt - 1, 10)
    )
    time.sleep(random.uniform(0, ceiling_ms) / 1000)
