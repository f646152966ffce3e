"""Every statement the CDC service runs against the metadata store, in one module.

The architecture allows `cdc` one look inside the namenode: the tables of `namenode.schema`, opened
with `namenode.dal.connection`. Everything here reads, except the two trims of change-log rows the
service has durably captured (`trim_changes_below` on SQLite, `delete_changes` on the MySQL family).
Every list read is bounded by the caller's batch size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from cdc.settings import LAG_PROBE_ROWS_MAX
from hopsfs.errors import HopsFSError, StoreError
from hopsfs.invariants import check
from namenode import schema
from namenode.dal.connection import Backend, backend_of, make_engine, translate_driver_error

# xattrs.namespace of user attributes (namenode/ops/xattrs.py XAttrNamespace.USER): the ones indexed.
USER_XATTR_NAMESPACE = 0
_SNAPSHOT_PAGE_ROWS = 10_000
_DELETE_SEQUENCES_MAX = 1000


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One change_log row as the operation's transaction wrote it."""

    sequence: int
    operation: str
    inode_id: int
    logical_time: int
    parent_id: int
    name: str
    previous_parent_id: int | None
    previous_name: str | None
    kind: int
    user_name: str
    time_ms: int
    app_id: str | None


CHANGE_COLUMNS: tuple[str, ...] = tuple(column.name for column in schema.change_log.columns)


def change_row(values: dict[str, Any]) -> ChangeRow:
    """A row from column values (a result row or a binlog row image); refuses a malformed row."""
    row = ChangeRow(
        sequence=int(values["sequence"]),
        operation=str(values["operation"]),
        inode_id=int(values["inode_id"]),
        logical_time=int(values["logical_time"]),
        parent_id=int(values["parent_id"]),
        name=str(values["name"]),
        previous_parent_id=_optional_int(values["previous_parent_id"]),
        previous_name=None if values["previous_name"] is None else str(values["previous_name"]),
        kind=int(values["kind"]),
        user_name=str(values["user_name"]),
        time_ms=int(values["time_ms"]),
        app_id=None if values["app_id"] is None else str(values["app_id"]),
    )
    check(row.sequence > 0, "a change-log row has a positive sequence")
    return row


@dataclass(frozen=True, slots=True)
class InodeEntry:
    inode_id: int
    parent_id: int
    name: str
    kind: int
    logical_time: int


@dataclass(frozen=True, slots=True)
class InodeAttributes:
    inode_id: int
    parent_id: int
    name: str
    kind: int
    owner: str
    group: str
    permission: int
    size: int
    modification_time: int
    access_time: int
    replication: int


@dataclass(frozen=True, slots=True)
class BinlogCoordinates:
    file: str
    position: int


@dataclass(slots=True)
class StoreSnapshot:
    """The namespace and the change-log backlog as of one instant, and where capture goes on from."""

    inodes: list[InodeEntry]
    backlog: list[ChangeRow]
    last_sequence: int  # SQLite: capture continues after this sequence
    binlog: BinlogCoordinates | None  # MySQL family: capture continues at these coordinates


@dataclass(frozen=True, slots=True)
class BinlogConnection:
    host: str
    port: int
    user: str
    password: str
    database: str


class MetadataReader:
    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = backend_of(url)
        self._engine = make_engine(url, pool_size=2, pool_overflow=2)

    def close(self) -> None:
        self._engine.dispose()

    @property
    def database_name(self) -> str:
        return make_url(self.url).database or ""

    def binlog_connection(self) -> BinlogConnection:
        check(self.backend is Backend.MYSQL, "only the MySQL family has a binlog")
        url = make_url(self.url)
        if "unix_socket" in url.query:
            raise StoreError("the binlog reader needs a TCP address in the metadata URL, not unix_socket")
        return BinlogConnection(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
            database=self.database_name,
        )

    # -- change log -----------------------------------------------------------------------------

    def read_changes_after(self, sequence: int, limit: int) -> list[ChangeRow]:
        """Rows after `sequence` in sequence order (on SQLite: commit order), at most `limit`."""
        check(limit > 0, "a change-log read asks for at least one row")
        statement = (
            select(schema.change_log)
            .where(schema.change_log.c.sequence > bindparam("after"))
            .order_by(schema.change_log.c.sequence)
            .limit(limit)
        )
        with _translated(), self._engine.connect() as connection:
            rows = connection.execute(statement, {"after": sequence}).mappings().all()
        return [change_row(dict(row)) for row in rows]

    def trim_changes_below(self, sequence: int, batch_rows: int) -> int:
        """SQLite: delete rows with a sequence below `sequence`, `batch_rows` per transaction.

        The row at `sequence` stays: SQLite gives a new row max(rowid) + 1, so deleting the newest
        captured row would let the next change reuse a sequence capture has already passed."""
        check(self.backend is Backend.SQLITE, "range trims rely on SQLite's commit-ordered rowids")
        removed = 0
        while True:
            with _translated(), self._engine.connect() as connection:
                lowest = connection.execute(select(func.min(schema.change_log.c.sequence))).scalar()
                if lowest is None or lowest >= sequence:
                    return removed
                upper = min(int(lowest) + batch_rows, sequence)
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                result = connection.execute(
                    delete(schema.change_log).where(schema.change_log.c.sequence < bindparam("upper")),
                    {"upper": upper},
                )
                connection.exec_driver_sql("COMMIT")
                removed += int(result.rowcount or 0)

    def delete_changes(self, sequences: Sequence[int]) -> int:
        """MySQL family: delete exactly these rows (their events are durably captured)."""
        removed = 0
        for start in range(0, len(sequences), _DELETE_SEQUENCES_MAX):
            chunk = list(sequences[start : start + _DELETE_SEQUENCES_MAX])
            statement = delete(schema.change_log).where(
                schema.change_log.c.sequence.in_(bindparam("sequences", expanding=True))
            )
            with _translated(), self._engine.begin() as connection:
                result = connection.execute(statement, {"sequences": chunk})
            removed += int(result.rowcount or 0)
        return removed

    def lag(self, after_sequence: int) -> tuple[int, int | None]:
        """(rows after `after_sequence`, time_ms of the oldest of them); the count stops at `rows_max`."""
        table = schema.change_log
        pending = (
            select(table.c.time_ms)
            .where(table.c.sequence > bindparam("after"))
            .limit(bindparam("rows_max"))
            .subquery()
        )
        statement = select(func.count(), func.min(pending.c.time_ms)).select_from(pending)
        with _translated(), self._engine.connect() as connection:
            count, oldest = connection.execute(
                statement, {"after": after_sequence, "rows_max": LAG_PROBE_ROWS_MAX}
            ).one()
        return int(count), None if oldest is None else int(oldest)

    # -- snapshot (first start) -----------------------------------------------------------------

    def snapshot(self) -> StoreSnapshot:
        """Every inode and every change-log row, read in one consistent snapshot, with the point in
        the change stream that snapshot ends at."""
        with _translated(), self._engine.connect() as connection:
            if self.backend is Backend.SQLITE:
                # One read transaction: WAL gives it one snapshot for all its statements.
                connection.exec_driver_sql("BEGIN")
                coordinates = None
            else:
                coordinates = _start_consistent_snapshot(connection)
            try:
                inodes = list(_read_all_inodes(connection))
                backlog = self._read_backlog(connection)
            finally:
                connection.exec_driver_sql("ROLLBACK")
        last_sequence = max((row.sequence for row in backlog), default=0)
        if self.backend is Backend.SQLITE:
            last_sequence = max(last_sequence, self._max_sequence())
        return StoreSnapshot(inodes, backlog, last_sequence, coordinates)

    def _read_backlog(self, connection: Connection) -> list[ChangeRow]:
        rows: list[ChangeRow] = []
        after = 0
        table = schema.change_log
        while True:
            statement = select(table).where(table.c.sequence > after).order_by(table.c.sequence)
            page = connection.execute(statement.limit(_SNAPSHOT_PAGE_ROWS)).mappings().all()
            rows.extend(change_row(dict(row)) for row in page)
            if len(page) < _SNAPSHOT_PAGE_ROWS:
                return rows
            after = rows[-1].sequence

    def _max_sequence(self) -> int:
        with _translated(), self._engine.connect() as connection:
            value = connection.execute(select(func.max(schema.change_log.c.sequence))).scalar()
        return int(value or 0)

    # -- attributes for the search sink ---------------------------------------------------------

    def inode_attributes(self, inode_ids: Sequence[int]) -> dict[int, InodeAttributes]:
        """Current attributes of the inodes that still exist among `inode_ids`."""
        if not inode_ids:
            return {}
        table = schema.inodes
        statement = select(
            table.c.id,
            table.c.parent_id,
            table.c.name,
            table.c.kind,
            table.c.owner,
            table.c.group_name,
            table.c.permission,
            table.c.size,
            table.c.modification_time,
            table.c.access_time,
            table.c.replication,
        ).where(table.c.id.in_(bindparam("ids", expanding=True)))
        with _translated(), self._engine.connect() as connection:
            rows = connection.execute(statement, {"ids": list(inode_ids)}).all()
        return {int(row[0]): InodeAttributes(*row) for row in rows}

    def user_xattrs(self, inode_ids: Sequence[int]) -> dict[int, dict[str, bytes]]:
        if not inode_ids:
            return {}
        table = schema.xattrs
        statement = select(table.c.inode_id, table.c.name, table.c.value).where(
            table.c.inode_id.in_(bindparam("ids", expanding=True)),
            table.c.namespace == USER_XATTR_NAMESPACE,
        )
        found: dict[int, dict[str, bytes]] = {}
        with _translated(), self._engine.connect() as connection:
            for inode_id, name, value in connection.execute(statement, {"ids": list(inode_ids)}):
                found.setdefault(int(inode_id), {})[str(name)] = bytes(value)
        return found

    # -- the binlog -----------------------------------------------------------------------------

    def binlog_settings(self) -> dict[str, str]:
        names = ("log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "server_id")
        found: dict[str, str] = {}
        with _translated(), self._engine.connect() as connection:
            for name in names:
                row = connection.exec_driver_sql(f"SHOW GLOBAL VARIABLES LIKE '{name}'").first()
                if row is not None:
                    found[name] = str(row[1])
        return found


def _start_consistent_snapshot(connection: Connection) -> BinlogCoordinates:
    """MariaDB: a consistent-snapshot transaction knows the binlog position it corresponds to."""
    connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    connection.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
    status = dict(
        connection.exec_driver_sql(
            "SHOW STATUS WHERE Variable_name IN ('Binlog_snapshot_file', 'Binlog_snapshot_position')"
        ).all()
    )
    file = status.get("Binlog_snapshot_file")
    position = status.get("Binlog_snapshot_position")
    if not file or position is None:
        raise StoreError(
            "the metadata server reports no binlog_snapshot_file/position: the CDC service's first start "
            "needs MariaDB with log_bin=ON (see docs/operations.md)"
        )
    return BinlogCoordinates(str(file), int(position))


def _read_all_inodes(connection: Connection) -> Iterator[InodeEntry]:
    table = schema.inodes
    columns = (table.c.partition_id, table.c.parent_id, table.c.name)
    statement = select(*columns, table.c.id, table.c.kind, table.c.logical_time).order_by(*columns)
    last_key: tuple[Any, ...] | None = None
    while True:
        page_statement = statement
        if last_key is not None:
            page_statement = statement.where(_after_key(last_key))
        page = connection.execute(page_statement.limit(_SNAPSHOT_PAGE_ROWS)).all()
        for _partition_id, parent_id, name, inode_id, kind, logical_time in page:
            yield InodeEntry(int(inode_id), int(parent_id), str(name), int(kind), int(logical_time))
        if len(page) < _SNAPSHOT_PAGE_ROWS:
            return
        last_key = tuple(page[-1][:3])


def _after_key(key: tuple[Any, ...]) -> ColumnElement[bool]:
    """Keyset pagination over the primary key (partition_id, parent_id, name), dialect-neutral."""
    table = schema.inodes
    partition_id, parent_id, name = key
    return or_(
        table.c.partition_id > partition_id,
        and_(table.c.partition_id == partition_id, table.c.parent_id > parent_id),
        and_(table.c.partition_id == partition_id, table.c.parent_id == parent_id, table.c.name > name),
    )


@contextmanager
def _translated() -> Iterator[None]:
    """Driver errors leave this module as hopsfs errors: TransientError (busy, deadlock, connection
    lost: the caller retries) or StoreError."""
    try:
        yield
    except DBAPIError as error:
        translated = translate_driver_error(error.orig)
        if isinstance(translated, HopsFSError):
            raise translated from error
        raise StoreError(str(error)) from error


def _optional_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
