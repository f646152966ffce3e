"""One DBAPI connection checked out for one operation: transactions and every statement on it.

Statements come precompiled from `StatementCache`; rows come back as `InodeRow`. Driver exceptions
are translated at this boundary (`connection.translate_driver_error`), so the engine sees only
hopsfs errors, `DuplicateKey`, or `TransientError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from hopsfs import limits
from namenode import schema
from namenode.dal.block_dal import BlockDal
from namenode.dal.connection import Backend, is_driver_error, translate_driver_error
from namenode.dal.inline_dal import InlineDal
from namenode.dal.statements import Statement, StatementCache
from namenode.entities import InodeKey, InodeRow


class DalSession(BlockDal, InlineDal):
    def __init__(self, backend: Backend, statements: StatementCache, connection: Any) -> None:
        self.backend = backend
        self._statements = statements
        self._connection = connection
        self._cursor = connection.cursor()
        self.in_transaction = False

    # -- transactions ---------------------------------------------------------------------------

    def begin(self, *, write: bool, snapshot: bool = False) -> None:
        if self.backend is Backend.SQLITE:
            # IMMEDIATE takes the single writer lock now, so a writer never fails to upgrade later.
            self._execute_text("BEGIN IMMEDIATE" if write else "BEGIN")
        elif snapshot:
            self._execute_text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            self._execute_text("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        else:
            self._execute_text("START TRANSACTION")
        self.in_transaction = True

    def commit(self) -> None:
        self.in_transaction = False
        try:
            self._connection.commit()
        except Exception as error:
            self._reraise(error)

    def rollback(self) -> None:
        self.in_transaction = False
        try:
            self._connection.rollback()
        except Exception as error:
            if not is_driver_error(error):
                raise

    def release(self) -> None:
        """Close the cursor and hand the connection back to the engine's pool."""
        self._cursor.close()
        self._connection.close()

    def discard(self) -> None:
        """Drop a connection that failed (lost, timed out): it is never reused."""
        try:
            self._connection.invalidate()
        except Exception as error:
            if not is_driver_error(error):
                raise

    # -- inodes ---------------------------------------------------------------------------------

    def read_inodes_by_keys(self, keys: Sequence[InodeKey], lock: str = "none") -> list[InodeRow]:
        """Rows for those of `keys` that exist, in no particular order; `lock` is none/read/write."""
        rows: list[InodeRow] = []
        step = limits.BATCH_READ_KEYS_MAX
        for start in range(0, len(keys), step):
            chunk = keys[start : start + step]
            statement = self._statements.inodes_by_keys(len(chunk), lock)
            parameters = tuple(chain.from_iterable(chunk))
            rows.extend([InodeRow(*values) for values in self._fetch_all(statement.text, parameters)])
        return rows

    def read_inodes_by_ids(self, inode_ids: Sequence[int]) -> list[InodeRow]:
        rows: list[InodeRow] = []
        step = limits.BATCH_READ_KEYS_MAX
        for start in range(0, len(inode_ids), step):
            chunk = tuple(inode_ids[start : start + step])
            statement = self._statements.inodes_by_ids(len(chunk))
            rows.extend(InodeRow(*values) for values in self._fetch_all(statement.text, chunk))
        return rows

    def list_children(self, directory_id: int, start_after: str, limit: int) -> list[InodeRow]:
        """Up to `limit` children of the directory, by name, strictly after `start_after`."""
        if directory_id == schema.ROOT_INODE_ID:
            statement = self._statements.fixed("list_root_children")
            parameters = statement.bind(
                {
                    "partition_low": -schema.ROOT_CHILD_PARTITIONS,
                    "partition_high": -1,
                    "parent_id": directory_id,
                    "start_after": start_after,
                    "limit": limit,
                }
            )
        else:
            statement = self._statements.fixed("list_children")
            parameters = statement.bind(
                {
                    "partition_id": directory_id,
                    "parent_id": directory_id,
                    "start_after": start_after,
                    "limit": limit,
                }
            )
        return [InodeRow(*values) for values in self._fetch_all(statement.text, parameters)]

    def count_children_after(self, directory_id: int, start_after: str) -> int:
        if directory_id == schema.ROOT_INODE_ID:
            low, high = -schema.ROOT_CHILD_PARTITIONS, -1
        else:
            low = high = directory_id
        statement = self._statements.fixed("count_children_after")
        parameters = statement.bind(
            {
                "partition_low": low,
                "partition_high": high,
                "parent_id": directory_id,
                "start_after": start_after,
            }
        )
        return int(self._fetch_all(statement.text, parameters)[0][0])

    def insert_inodes(self, rows: Iterable[InodeRow]) -> None:
        statement = self._statements.fixed("insert_inode")
        self._execute_bound(statement.text, [statement.bind_attributes(row) for row in rows])

    def update_inodes(self, rows: Iterable[InodeRow]) -> None:
        statement = self._statements.fixed("update_inode")
        self._execute_bound(statement.text, [statement.bind_attributes(row) for row in rows])

    def delete_inodes(self, keys: Iterable[InodeKey]) -> None:
        parameters = [{"partition_id": key[0], "parent_id": key[1], "name": key[2]} for key in keys]
        self._execute_many(self._statements.fixed("delete_inode"), parameters)

    # -- data hanging off an inode --------------------------------------------------------------

    def read_xattrs(self, inode_id: int) -> list[tuple[int, str, bytes]]:
        statement = self._statements.fixed("select_xattrs")
        return [
            (int(namespace), str(name), bytes(value))
            for namespace, name, value in self._fetch_all(
                statement.text, statement.bind({"inode_id": inode_id})
            )
        ]

    def insert_xattrs(self, entries: Iterable[tuple[int, int, str, bytes]]) -> None:
        parameters = [
            {"inode_id": inode_id, "namespace": namespace, "name": name, "value": value}
            for inode_id, namespace, name, value in entries
        ]
        self._execute_many(self._statements.fixed("insert_xattr"), parameters)

    def delete_xattrs(self, entries: Iterable[tuple[int, int, str]]) -> None:
        parameters = [
            {"inode_id": inode_id, "namespace": namespace, "name": name}
            for inode_id, namespace, name in entries
        ]
        self._execute_many(self._statements.fixed("delete_xattr"), parameters)

    def delete_data_of_inodes(self, inode_ids: Iterable[int]) -> None:
        """Drop what hangs off deleted inodes that the engine owns (xattrs, inline chunks; the fixed
        inline tiers go by size, `delete_inline_data`, and policies with directories)."""
        parameters = [{"inode_id": inode_id} for inode_id in inode_ids]
        self._execute_many(self._statements.fixed("delete_xattrs_of_inode"), parameters)
        self._execute_many(self._statements.fixed("delete_inline_data_of_inode"), parameters)
        self._execute_many(self._statements.fixed("delete_lease_path"), parameters)

    # -- leases ---------------------------------------------------------------------------------

    def insert_lease_paths(self, entries: Iterable[tuple[int, str]]) -> None:
        parameters = [{"inode_id": inode_id, "holder": holder} for inode_id, holder in entries]
        self._execute_many(self._statements.fixed("insert_lease_path"), parameters)

    def delete_lease_paths(self, inode_ids: Iterable[int]) -> None:
        parameters = [{"inode_id": inode_id} for inode_id in inode_ids]
        self._execute_many(self._statements.fixed("delete_lease_path"), parameters)

    def upsert_leases(self, holders: Iterable[str], now_ms: int) -> None:
        parameters = [{"holder": holder, "last_renewed_ms": now_ms} for holder in holders]
        self._execute_many(self._statements.fixed("upsert_lease"), parameters)

    def renew_lease(self, holder: str, now_ms: int) -> None:
        """Move a holder's renewal time forward; a holder with no lease is left alone (HDFS too)."""
        statement = self._statements.fixed("renew_lease")
        self._execute(statement.text, statement.bind({"holder": holder, "last_renewed_ms": now_ms}))

    def read_retry_result(self, client_id: bytes, call_id: int, now_ms: int) -> bytes | None:
        statement = self._statements.fixed("select_retry_result")
        parameters = statement.bind({"client_id": client_id, "call_id": call_id, "now_ms": now_ms})
        rows = self._fetch_all(statement.text, parameters)
        return bytes(rows[0][0]) if rows else None

    def upsert_retry_results(self, entries: Iterable[tuple[bytes, int, bytes, int]]) -> None:
        parameters = [
            {"client_id": client_id, "call_id": call_id, "result": result, "expiry_ms": expiry_ms}
            for client_id, call_id, result, expiry_ms in entries
        ]
        self._execute_many(self._statements.fixed("upsert_retry_result"), parameters)

    def delete_expired_retry_results(self, now_ms: int) -> None:
        statement = self._statements.fixed("delete_expired_retry_results")
        self._execute(statement.text, statement.bind({"now_ms": now_ms}))

    def read_lease_renewal_ms(self, holder: str) -> int | None:
        statement = self._statements.fixed("select_lease")
        rows = self._fetch_all(statement.text, statement.bind({"holder": holder}))
        return int(rows[0][0]) if rows else None

    # -- change log, ids, settings, subtree operations ------------------------------------------

    def insert_changes(self, changes: Sequence[dict[str, object]]) -> None:
        self._execute_many(self._statements.fixed("insert_change"), changes)

    def read_changes(self, after_sequence: int, limit: int) -> list[tuple[Any, ...]]:
        statement = self._statements.fixed("select_changes_after")
        return self._fetch_all(statement.text, statement.bind({"after": after_sequence, "limit": limit}))

    def advance_id_counter(self, name: str, count: int) -> int:
        """Add `count` to the counter inside the caller's write transaction; returns the new value."""
        statement = self._statements.fixed("advance_id_counter")
        self._execute(statement.text, statement.bind({"name": name, "count": count}))
        select_statement = self._statements.fixed("select_id_counter")
        rows = self._fetch_all(select_statement.text, select_statement.bind({"name": name}))
        return int(rows[0][0])

    def insert_id_counters(self, counters: dict[str, int]) -> None:
        parameters = [{"name": name, "next_value": value} for name, value in counters.items()]
        self._execute_many(self._statements.fixed("insert_id_counter"), parameters)

    def read_settings(self) -> dict[str, str]:
        statement = self._statements.fixed("select_settings")
        return {str(name): str(value) for name, value in self._fetch_all(statement.text, ())}

    def insert_settings(self, values: dict[str, str]) -> None:
        parameters = [{"name": name, "value": value} for name, value in values.items()]
        self._execute_many(self._statements.fixed("insert_setting"), parameters)

    def insert_subtree_operation(
        self, inode_id: int, path: str, operation: str, owner: str, now_ms: int
    ) -> None:
        parameters = {
            "inode_id": inode_id,
            "path": path,
            "operation": operation,
            "owner": owner,
            "started_ms": now_ms,
        }
        self._execute_many(self._statements.fixed("insert_subtree_operation"), [parameters])

    def delete_subtree_operation(self, inode_id: int) -> None:
        self._execute_many(self._statements.fixed("delete_subtree_operation"), [{"inode_id": inode_id}])

    def read_subtree_operations(self) -> list[tuple[Any, ...]]:
        return self._fetch_all(self._statements.fixed("select_subtree_operations").text, ())

    # -- execution ------------------------------------------------------------------------------

    def _fetch_all(self, text: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            self._cursor.execute(text, parameters)
            return self._cursor.fetchall()
        except Exception as error:
            self._reraise(error)
            raise  # unreachable: _reraise always raises

    def _execute(self, text: str, parameters: Sequence[object]) -> None:
        try:
            self._cursor.execute(text, parameters)
        except Exception as error:
            self._reraise(error)

    def _execute_many(self, statement: Statement, parameters: Sequence[dict[str, object]]) -> None:
        self._execute_bound(statement.text, [statement.bind(values) for values in parameters])

    def _execute_bound(self, text: str, bound: Sequence[tuple[object, ...]]) -> None:
        """`text` once per tuple of positional parameters: one executemany."""
        if not bound:
            return
        try:
            if len(bound) == 1:
                self._cursor.execute(text, bound[0])
            else:
                self._cursor.executemany(text, bound)
        except Exception as error:
            self._reraise(error)

    def _execute_text(self, text: str) -> None:
        try:
            self._cursor.execute(text)
        except Exception as error:
            self._reraise(error)

    @staticmethod
    def _reraise(error: BaseException) -> None:
        if is_driver_error(error):
            raise translate_driver_error(error) from error
        raise error
