"""The transaction template every namespace operation runs in (HopsFS TransactionalRequestHandler).

Phases: take the ids the operation may need (before any transaction, see ids.py); begin (SQLite:
BEGIN IMMEDIATE for writers; MySQL: READ COMMITTED); resolve paths through the hint cache with one
batched primary-key read; lock the rows the operation changes with one locking read in primary-key
order (a total order, so two operations never wait on each other in a cycle except through retries of
a stale read); check that the locked rows are the ones resolution saw; do the work on rows in memory;
flush deletes, updates, inserts, xattrs and change-log rows as batched statements; commit; update the
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
from namenode.dal.connection import Backend
from namenode.dal.session import DalSession
from namenode.dal.store import MetadataStore
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
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    retries_max: int = limits.TRANSACTION_RETRIES_MAX
    statistics: dict[str, int] = field(default_factory=lambda: {"retries": 0, "transactions": 0})


class Transaction:
    """One operation's SQL transaction and its in-memory write set. Passed explicitly, never global."""

    def __init__(self, context: EngineContext, session: DalSession, caller: Caller, ids: list[int]) -> None:
        self.context = context
        self.session = session
        self.caller = caller
        self.now_ms = context.clock_ms()
        self.permissions = PermissionChecker(caller, context.superuser, context.supergroup)
        self._ids = ids
        self._ids_used = 0
        self._inserted: dict[InodeKey, InodeRow] = {}
        self._updated: dict[InodeKey, InodeRow] = {}
        self._deleted: dict[InodeKey, InodeRow] = {}
        self._xattr_inserts: list[tuple[int, int, str, bytes]] = []
        self._xattr_deletes: list[tuple[int, int, str]] = []
        self._deleted_inode_ids: list[int] = []
        self._changes: list[dict[str, object]] = []
        self._cache_puts: list[tuple[int, str, int]] = []
        self._cache_forgets: list[tuple[int, str]] = []
        self._finished_subtree_operations: list[int] = []
        self._lease_path_inserts: list[tuple[int, str]] = []
        self._lease_path_deletes: list[int] = []
        self._retry_results: list[tuple[bytes, int, bytes, int]] = []
        # The subtree operation this transaction works for: its flag does not block us.
        self.subtree_owner: str | None = None

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
        self._cache_forgets.append((row.parent_id, row.name))
        if row.subtree_lock_owner is not None:
            # Whoever deletes a flagged root (its owner, or a taker after the lease ran out) ends
            # the operation's record with it.
            self._finished_subtree_operations.append(row.id)

    def move(self, row: InodeRow, new_parent_id: int, new_name: str) -> InodeRow:
        """The row re-keyed under a new parent/name (a rename changes the primary key)."""
        self.delete(row)
        self._deleted_inode_ids.pop()  # the inode lives on under its new key
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

    def open_lease(self, inode_id: int, holder: str) -> None:
        """Record that `holder` writes inode `inode_id` and renew the holder's lease."""
        self._lease_path_inserts.append((inode_id, holder))

    def close_lease(self, inode_id: int) -> None:
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
        session = self.session
        if self._deleted:
            session.delete_inodes(self._deleted.keys())
        if self._updated:
            session.update_inodes(self._updated.values())
        if self._inserted:
            session.insert_inodes(self._inserted.values())
        if self._deleted_inode_ids:
            session.delete_data_of_inodes(self._deleted_inode_ids)
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

    def after_commit(self) -> None:
        cache = self.context.hint_cache
        for parent_id, name in self._cache_forgets:
            cache.forget(parent_id, name)
        for parent_id, name, inode_id in self._cache_puts:
            cache.put(parent_id, name, inode_id)


def run_transaction(
    context: EngineContext,
    caller: Caller,
    operation: Callable[[Transaction], T],
    *,
    write: bool,
    ids_needed: int = 0,
    snapshot: bool = False,
    retry: RetryKey | None = None,
) -> T:
    """Run `operation` in one transaction, retrying transient failures with backoff. With `retry` (an
    at-most-once RPC call), the answer goes to the retry cache in the same transaction."""
    operation = with_retry_cache(retry, operation)
    last_error: TransientError | None = None
    for attempt in range(context.retries_max + 1):
        if attempt:
            context.statistics["retries"] += 1
            _backoff(attempt)
        ids = context.inode_ids.take(ids_needed) if ids_needed else []
        transaction: Transaction | None = None
        try:
            with context.store.session() as session:
                transaction = Transaction(context, session, caller, ids)
                if write or snapshot:
                    session.begin(write=write, snapshot=snapshot)
                result = operation(transaction)
                if write:
                    transaction.flush()
                if session.in_transaction:
                    session.commit()
            transaction.after_commit()
            context.statistics["transactions"] += 1
            context.inode_ids.give_back(transaction.unused_ids())
            return result
        except TransientError as error:
            last_error = error
            log.debug("transient failure on attempt %d: %s", attempt + 1, error)
            if transaction is not None:
                context.inode_ids.give_back(transaction.unused_ids())
            else:
                context.inode_ids.give_back(ids)
        except BaseException:
            if transaction is not None:
                context.inode_ids.give_back(transaction.unused_ids())
            else:
                context.inode_ids.give_back(ids)
            raise
    raise RetriesExhausted(
        f"gave up after {context.retries_max + 1} attempts; last transient error: {last_error}"
    ) from last_error


def _backoff(attempt: int) -> None:
    ceiling_ms = min(limits.TRANSACTION_BACKOFF_MS_MAX, 2 ** min(attempt, 10))
    time.sleep(random.uniform(0, ceiling_ms) / 1000)
