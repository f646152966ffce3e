"""Block-manager statements on a DAL session: a mixin `DalSession` inherits.

Rows come back as the dataclasses of `namenode.block_rows`; writes take those rows and are batched
per table (one executemany each). Reads by many keys use IN lists padded to a few compiled sizes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from hopsfs.invariants import check
from namenode import schema
from namenode.block_rows import (
    TABLE_OF_ROW,
    BlockLookupRow,
    BlockRow,
    BlockTableRow,
    CommandRow,
    CorruptReplicaRow,
    DatanodeRow,
    LeaderLeaseRow,
    PendingReplicationRow,
    QueuedBlockRow,
    ReplicaRow,
    row_values,
)
from namenode.dal.block_statements import delete_in_name, in_name
from namenode.dal.statements import IN_LIST_SIZES, Statement, StatementCache

RowT = TypeVar("RowT", bound=BlockTableRow)
_IN_LIST_MAX = IN_LIST_SIZES[-1]
_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(column.name for column in schema.metadata.tables[name].primary_key.columns)
    for name in TABLE_OF_ROW.values()
}


def _in_size(count: int) -> int:
    for size in IN_LIST_SIZES:
        if count <= size:
            return size
    raise AssertionError("chunks never exceed the largest IN-list size")


def _padded(values: Sequence[object], size: int) -> list[object]:
    """`values` repeated at the end up to `size`: an IN list is a set, so repeats change nothing."""
    check(0 < len(values) <= size, "an IN list needs between one value and its compiled size")
    return list(values) + [values[-1]] * (size - len(values))


class BlockDal:
    """What DalSession provides to this mixin."""

    _statements: StatementCache

    def _fetch_all(self, text: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _execute(self, text: str, parameters: Sequence[object]) -> None:
        raise NotImplementedError

    def _execute_many(self, statement: Statement, parameters: Sequence[dict[str, object]]) -> None:
        raise NotImplementedError

    # -- generic writes, batched per table ------------------------------------------------------

    def insert_rows(self, rows: Iterable[BlockTableRow]) -> None:
        self._write_rows(rows, "insert")

    def upsert_rows(self, rows: Iterable[BlockTableRow]) -> None:
        """Insert, or overwrite the row with the same primary key."""
        self._write_rows(rows, "upsert")

    def update_rows(self, rows: Iterable[BlockTableRow]) -> None:
        self._write_rows(rows, "update_key")

    def delete_rows(self, rows: Iterable[BlockTableRow]) -> None:
        by_table: dict[str, list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            table_name = TABLE_OF_ROW[type(row)]
            by_table[table_name].append({name: getattr(row, name) for name in _KEY_COLUMNS[table_name]})
        for table_name, parameters in by_table.items():
            self._execute_many(self._statements.fixed(f"{table_name}.delete_key"), parameters)

    def _write_rows(self, rows: Iterable[BlockTableRow], action: str) -> None:
        by_table: dict[str, list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            by_table[TABLE_OF_ROW[type(row)]].append(row_values(row))
        for table_name, parameters in by_table.items():
            self._execute_many(self._statements.fixed(f"{table_name}.{action}"), parameters)

    # -- reads and deletes by key lists ---------------------------------------------------------

    def read_by_blocks(
        self, row_type: type[RowT], keys: Sequence[tuple[int, int]], lock: str = "none"
    ) -> list[RowT]:
        """Rows of (inode id, block id) `keys`, in primary-key order per chunk."""
        table_name = TABLE_OF_ROW[row_type]
        found: list[RowT] = []
        for start in range(0, len(keys), _IN_LIST_MAX):
            chunk = keys[start : start + _IN_LIST_MAX]
            size = _in_size(len(chunk))
            statement = self._statements.sized(in_name(table_name, ("inode_id", "block_id"), lock), size)
            inode_ids = _padded(sorted({inode_id for inode_id, _ in chunk}), size)
            block_ids = _padded([block_id for _, block_id in chunk], size)
            parameters = {f"inode_id{i}": inode_ids[i] for i in range(size)}
            parameters.update({f"block_id{i}": block_ids[i] for i in range(size)})
            rows = self._fetch_all(statement.text, statement.bind(parameters))
            found.extend(row_type(*values) for values in rows)
        return found

    def read_by_inodes(
        self, row_type: type[RowT], inode_ids: Sequence[int], lock: str = "none"
    ) -> list[RowT]:
        return self._read_in(row_type, "inode_id", inode_ids, lock)

    def read_lookups(self, block_ids: Sequence[int]) -> dict[int, int]:
        """block id -> inode id for those of `block_ids` that exist."""
        rows = self._read_in(BlockLookupRow, "block_id", block_ids, "none")
        return {row.block_id: row.inode_id for row in rows}

    def delete_by_inodes(self, row_type: type[BlockTableRow], inode_ids: Sequence[int]) -> None:
        table_name = TABLE_OF_ROW[row_type]
        for start in range(0, len(inode_ids), _IN_LIST_MAX):
            chunk = list(inode_ids[start : start + _IN_LIST_MAX])
            size = _in_size(len(chunk))
            statement = self._statements.sized(delete_in_name(table_name, ("inode_id",)), size)
            values = _padded(chunk, size)
            self._execute(statement.text, statement.bind({f"inode_id{i}": values[i] for i in range(size)}))

    def _read_in(self, row_type: type[RowT], column: str, values: Sequence[int], lock: str) -> list[RowT]:
        table_name = TABLE_OF_ROW[row_type]
        found: list[RowT] = []
        distinct = sorted(set(values))
        for start in range(0, len(distinct), _IN_LIST_MAX):
            chunk = distinct[start : start + _IN_LIST_MAX]
            size = _in_size(len(chunk))
            statement = self._statements.sized(in_name(table_name, (column,), lock), size)
            padded = _padded(chunk, size)
            parameters = statement.bind({f"{column}{i}": padded[i] for i in range(size)})
            found.extend(row_type(*row) for row in self._fetch_all(statement.text, parameters))
        return found

    # -- blocks of one file ---------------------------------------------------------------------

    def read_blocks_of_inode(self, inode_id: int, lock: str = "none") -> list[BlockRow]:
        """The file's blocks in file order."""
        statement = self._statements.fixed(f"blocks.of_inode.{lock}")
        rows = self._fetch_all(statement.text, statement.bind({"inode_id": inode_id}))
        return [BlockRow(*row) for row in rows]

    def read_last_blocks(self, inode_id: int, count: int, lock: str = "none") -> list[BlockRow]:
        """Up to `count` blocks from the end of the file, last first."""
        statement = self._statements.fixed(f"blocks.last_of_inode.{lock}")
        rows = self._fetch_all(statement.text, statement.bind({"inode_id": inode_id, "limit": count}))
        return [BlockRow(*row) for row in rows]

    # -- pages and queues -----------------------------------------------------------------------

    def read_replicas_of_storage(self, storage_id: str, after_block_id: int, limit: int) -> list[ReplicaRow]:
        """One page of a storage's replicas in block id order, after `after_block_id`."""
        return self._fetch_rows(
            ReplicaRow,
            "replicas.of_storage_page",
            {"storage_id": storage_id, "after": after_block_id, "limit": limit},
        )

    def read_corrupt_of_storage(self, storage_id: str, limit: int) -> list[CorruptReplicaRow]:
        return self._fetch_rows(
            CorruptReplicaRow, "corrupt_replicas.of_storage", {"storage_id": storage_id, "limit": limit}
        )

    def read_corrupt_page(self, after: tuple[int, int], limit: int) -> list[CorruptReplicaRow]:
        parameters = {"after_inode": after[0], "after_inode_again": after[0], "after_block": after[1]}
        return self._fetch_rows(CorruptReplicaRow, "corrupt_replicas.page", {**parameters, "limit": limit})

    def count_corrupt_blocks(self) -> int:
        statement = self._statements.fixed("corrupt_replicas.block_count")
        return int(self._fetch_all(statement.text, ())[0][0])

    def read_due_queue(self, now_ms: int, limit: int) -> list[QueuedBlockRow]:
        """Queued blocks due by `now_ms`, most urgent first."""
        return self._fetch_rows(
            QueuedBlockRow, "under_replicated_blocks.due", {"now_ms": now_ms, "limit": limit}
        )

    def count_queue_by_priority(self) -> dict[int, int]:
        statement = self._statements.fixed("under_replicated_blocks.count_by_priority")
        return {int(priority): int(count) for priority, count in self._fetch_all(statement.text, ())}

    def read_timed_out_pending(self, before_ms: int, limit: int) -> list[PendingReplicationRow]:
        return self._fetch_rows(
            PendingReplicationRow,
            "pending_replications.timed_out",
            {"before_ms": before_ms, "limit": limit},
        )

    def read_pending_of_storage(self, storage_id: str, limit: int) -> list[PendingReplicationRow]:
        return self._fetch_rows(
            PendingReplicationRow,
            "pending_replications.of_storage",
            {"storage_id": storage_id, "limit": limit},
        )

    # -- datanodes and their commands -----------------------------------------------------------

    def read_datanodes(self) -> list[DatanodeRow]:
        return self._fetch_rows(DatanodeRow, "datanodes.all", {})

    def read_datanode_for_update(self, datanode_uuid: str) -> DatanodeRow | None:
        rows = self._fetch_rows(DatanodeRow, "datanodes.by_uuid.write", {"datanode_uuid": datanode_uuid})
        return rows[0] if rows else None

    def read_commands_for_update(
        self, datanode_uuid: str, kind: int, *, of_kind: bool, limit: int
    ) -> list[CommandRow]:
        """A datanode's oldest commands of `kind` (or of every other kind), locked for hand-out."""
        name = "datanode_commands.of_kind.write" if of_kind else "datanode_commands.other_kinds.write"
        parameters = {"datanode_uuid": datanode_uuid, "kind": kind, "limit": limit}
        return self._fetch_rows(CommandRow, name, parameters)

    def delete_commands_of_datanode(self, datanode_uuid: str) -> None:
        statement = self._statements.fixed("datanode_commands.delete_of_datanode")
        self._execute(statement.text, statement.bind({"datanode_uuid": datanode_uuid}))

    # -- leader lease and client leases ---------------------------------------------------------

    def read_leader_lease_for_update(self, name: str) -> LeaderLeaseRow | None:
        rows = self._fetch_rows(LeaderLeaseRow, "leader_lease.by_name.write", {"name": name})
        return rows[0] if rows else None

    def insert_leader_lease(self, name: str) -> None:
        self.insert_rows([LeaderLeaseRow(name=name, holder="", expires_ms=0, epoch=0)])

    def read_expired_lease_holders(self, before_ms: int, after: str, limit: int) -> list[str]:
        """Holders whose last renewal is older than `before_ms`, in name order after `after`."""
        statement = self._statements.fixed("leases.expired")
        parameters = statement.bind({"before_ms": before_ms, "after": after, "limit": limit})
        return [str(holder) for holder, _ in self._fetch_all(statement.text, parameters)]

    def read_lease_path_inodes(self, holder: str, limit: int) -> list[int]:
        statement = self._statements.fixed("lease_paths.of_holder")
        rows = self._fetch_all(statement.text, statement.bind({"holder": holder, "limit": limit}))
        return [int(inode_id) for (inode_id,) in rows]

    def read_truncating_inodes(self, limit: int) -> list[int]:
        """Files whose truncate inside a block waits for its recovery (ops/truncate.py)."""
        statement = self._statements.fixed("block_truncations.first")
        rows = self._fetch_all(statement.text, statement.bind({"limit": limit}))
        return [int(row[0]) for row in rows]

    def delete_lease_holder(self, holder: str) -> None:
        statement = self._statements.fixed("leases.delete")
        self._execute(statement.text, statement.bind({"holder": holder}))

    def _fetch_rows(self, row_type: type[RowT], name: str, parameters: dict[str, object]) -> list[RowT]:
        statement = self._statements.fixed(name)
        return [row_type(*row) for row in self._fetch_all(statement.text, statement.bind(parameters))]
