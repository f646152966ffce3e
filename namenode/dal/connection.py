"""Engines per backend, per-connection session settings, and driver-error translation.

The dialect switch lives here and nowhere else: SQLite (WAL, BEGIN IMMEDIATE for writers) versus the
MySQL family (READ COMMITTED plus explicit row locks, as HopsFS runs on NDB).
"""

from __future__ import annotations

import enum
import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from hopsfs import limits
from hopsfs.errors import StoreError, TransientError


class Backend(enum.Enum):
    SQLITE = "sqlite"
    MYSQL = "mysql"


class DuplicateKey(Exception):
    """An INSERT hit an existing primary key; the engine decides what that means."""


# MySQL/MariaDB error codes worth retrying: lock wait timeout, deadlock, server gone, lost connection,
# query interrupted by max_statement_time on a lock wait, and galera/TiDB-style write conflicts.
_MYSQL_TRANSIENT_CODES = frozenset({1205, 1213, 2003, 2006, 2013, 1927, 3024, 1969, 1180, 1181, 9007})
_MYSQL_DUPLICATE_KEY = 1062


def backend_of(url: str) -> Backend:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(f"not a database URL: {url!r}") from error
    name = parsed.get_backend_name()
    if name == "sqlite":
        return Backend.SQLITE
    if name in ("mysql", "mariadb"):
        return Backend.MYSQL
    raise StoreError(
        f"unsupported metadata backend {name!r}: use sqlite:/// or mysql+pymysql:// or mariadb://"
    )


def make_engine(url: str, *, pool_size: int = 8, pool_overflow: int = 32) -> Engine:
    """An engine whose connections carry hopsfs's session settings."""
    backend = backend_of(url)
    options: dict[str, Any] = {"pool_size": pool_size, "max_overflow": pool_overflow, "pool_pre_ping": False}
    if backend is Backend.SQLITE:
        options["connect_args"] = {
            "check_same_thread": False,
            "timeout": limits.SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
    else:
        options["pool_recycle"] = 3600
        if make_url(url).get_driver_name() in ("pymysql", "mysqldb"):
            options["paramstyle"] = "format"
    try:
        engine = create_engine(url, **options)
    except (NoSuchModuleError, ImportError) as error:
        raise StoreError(
            f"the driver for {url!r} is not installed ({error}); try pip install 'hopsfs[mysql]'"
        ) from error
    if backend is Backend.SQLITE:
        event.listen(engine, "connect", _configure_sqlite)
    else:
        event.listen(engine, "connect", _configure_mysql)
    return engine


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Autocommit mode: the DAL issues BEGIN / BEGIN IMMEDIATE itself, so writers take the write lock
    # up front instead of failing to upgrade a read lock half way through a transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={limits.SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.execute("PRAGMA cache_size=-65536")
    # Reads through a memory map skip a copy per page; the file stays the source of truth.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()


def _configure_mysql(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    cursor.execute(f"SET SESSION innodb_lock_wait_timeout = {limits.LOCK_WAIT_TIMEOUT_S}")
    cursor.execute("SELECT VERSION()")
    version = str(cursor.fetchone()[0])
    if "MariaDB" in version:
        cursor.execute(f"SET SESSION max_statement_time = {limits.STATEMENT_TIMEOUT_MS / 1000}")
    else:
        cursor.execute(f"SET SESSION max_execution_time = {limits.STATEMENT_TIMEOUT_MS}")
    cursor.close()
    # The DAL issues START TRANSACTION itself; single-statement reads then need no COMMIT round trip.
    if callable(dbapi_connection.autocommit):
        dbapi_connection.autocommit(True)  # PyMySQL, mysqlclient
    else:
        dbapi_connection.autocommit = True  # MariaDB Connector/Python


def translate_driver_error(error: BaseException) -> BaseException:
    """Map a DBAPI exception to DuplicateKey, TransientError, or StoreError (chained by the caller)."""
    if isinstance(error, sqlite3.IntegrityError):
        return DuplicateKey(str(error))
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        if "locked" in text or "busy" in text:
            return TransientError(f"SQLite is busy: {error}")
        return StoreError(f"SQLite error: {error}")
    if isinstance(error, sqlite3.Error):
        return StoreError(f"SQLite error: {error}")
    code = _mysql_error_code(error)
    if code == _MYSQL_DUPLICATE_KEY:
        return DuplicateKey(str(error))
    if code in _MYSQL_TRANSIENT_CODES:
        return TransientError(f"database error {code}, retryable: {error}")
    return StoreError(f"database error: {error}")


def is_driver_error(error: BaseException) -> bool:
    if isinstance(error, sqlite3.Error):
        return True
    module = type(error).__module__
    return module.startswith(("pymysql", "MySQLdb", "mariadb"))


def is_connection_lost(error: BaseException) -> bool:
    return _mysql_error_code(error) in (2003, 2006, 2013) or type(error).__name__ == "InterfaceError"


def _mysql_error_code(error: BaseException) -> int | None:
    arguments = getattr(error, "args", ())
    if arguments and isinstance(arguments[0], int):
        return arguments[0]
    return getattr(error, "errno", None)
