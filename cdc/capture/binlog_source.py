"""MySQL family: the change_log rows of each committed transaction, read from the binlog in commit order.

Why the binlog gives commit order (the argument docs/architecture.md spells out): with log_bin on,
MariaDB commits every transaction through two-phase commit with the binlog as coordinator; the
binlog is written group by group in one queue, and the storage engine then commits in the same
order (`commit_ordered`). A transaction's row events are buffered and written whole at its commit;
a rolled-back transaction never reaches the binlog. Two transactions that change one inode both
write-lock its row (`SELECT ... FOR UPDATE`, namenode/engine/txn.py), so the second cannot reach its
commit before the first released the lock by committing: per-inode order is binlog order.

Needs binlog_format=ROW and binlog_row_image=FULL (the whole inserted row), and reads with the
`mysql-replication` package (measured ~28K change-log rows/s on this machine, far above what the
namenodes write). The reader registers with a random replica server id, so several CDC services may
read one server. Stops within BINLOG_HEARTBEAT_S of `stop` being set: the server sends heartbeats
on an idle stream.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import HeartbeatLogEvent, RotateEvent, XidEvent
from pymysqlreplication.row_event import WriteRowsEvent

from cdc.metadata import BinlogConnection, BinlogCoordinates, ChangeRow, change_row
from cdc.settings import BINLOG_HEARTBEAT_S, BINLOG_READ_TIMEOUT_S
from hopsfs.errors import StoreError
from hopsfs.invariants import check

_REPLICA_SERVER_ID_MIN = 1 << 20
_REPLICA_SERVER_ID_MAX = (1 << 31) - 1
_MYSQL_BINLOG_GONE = 1236  # "could not find first log file name in binary log index file" and kin
CHANGE_LOG_TABLE = "change_log"


class BinlogPositionLost(StoreError):
    """The binlog file capture must resume from is gone (purged): events in it can never be read."""


@dataclass(frozen=True, slots=True)
class BinlogStep:
    """What one read produced: the rows of a committed transaction (possibly none: another table's,
    another database's, or a heartbeat), and the coordinates just after it."""

    rows: list[ChangeRow]
    coordinates: BinlogCoordinates
    committed: bool  # False for a heartbeat: nothing new was committed


class BinlogChangeSource:
    def __init__(self, connection: BinlogConnection, start: BinlogCoordinates, stop: threading.Event) -> None:
        check(start.position >= 4, "binlog positions start after the 4-byte magic")
        self._connection = connection
        self._start = start
        self._stop = stop

    def steps(self) -> Iterator[BinlogStep]:
        """Committed transactions from the start coordinates on, until `stop` is set."""
        stream = BinLogStreamReader(
            connection_settings={
                "host": self._connection.host,
                "port": self._connection.port,
                "user": self._connection.user,
                "passwd": self._connection.password,
                "read_timeout": BINLOG_READ_TIMEOUT_S,
                "connect_timeout": 10,
            },
            server_id=random.randint(_REPLICA_SERVER_ID_MIN, _REPLICA_SERVER_ID_MAX),
            resume_stream=True,
            log_file=self._start.file,
            log_pos=self._start.position,
            blocking=True,
            slave_heartbeat=BINLOG_HEARTBEAT_S,
            only_schemas=[self._connection.database],
            only_tables=[CHANGE_LOG_TABLE],
            only_events=[WriteRowsEvent, XidEvent, RotateEvent, HeartbeatLogEvent],
            freeze_schema=True,
            enable_logging=False,
        )
        try:
            yield from self._read(stream)
        except pymysql.err.MySQLError as error:
            code = error.args[0] if error.args else None
            if code == _MYSQL_BINLOG_GONE:
                raise BinlogPositionLost(
                    f"binlog {self._start.file}:{self._start.position} is no longer on the server "
                    f"({error}); see docs/operations.md, 'CDC recovery'"
                ) from error
            raise
        finally:
            stream.close()

    def _read(self, stream: BinLogStreamReader) -> Iterator[BinlogStep]:
        pending: list[ChangeRow] = []
        for event in stream:
            if isinstance(event, WriteRowsEvent):
                if event.schema == self._connection.database and event.table == CHANGE_LOG_TABLE:
                    pending.extend(change_row(row["values"]) for row in event.rows)
                continue
            coordinates = BinlogCoordinates(str(stream.log_file), int(stream.log_pos))
            if isinstance(event, XidEvent):
                yield BinlogStep(pending, coordinates, committed=True)
                pending = []
            elif isinstance(event, HeartbeatLogEvent) and not pending:
                yield BinlogStep([], coordinates, committed=False)
            if self._stop.is_set() and not pending:
                return
