"""Create and drop throwaway test databases.

Kept free of pytest so subprocess-based tests and scripts can reuse it. The
MariaDB side talks to the server with pymysql directly: the engine under test
must not be involved in setting up its own fixtures.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
from sqlalchemy.engine import URL, make_url

MYSQL_URL_ENV = "HOPSFS_TEST_MYSQL_URL"
DATABASE_PREFIX = "hopsfs_t_"
# A session holding a metadata lock must not hang teardown for the server
# default of a day.
_DROP_LOCK_WAIT_SECONDS = 30


def in_ci() -> bool:
    """True when running under CI, where a missing backend is an error, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def mysql_server_url() -> str | None:
    """The server URL from the environment (no database part), or None if unset."""
    return os.environ.get(MYSQL_URL_ENV) or None


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'meta.db'}"


def _connect(url: URL, database: str | None = None) -> pymysql.connections.Connection:
    query = dict(url.query)
    kwargs: dict[str, Any] = {
        "user": url.username or "root",
        "password": url.password or "",
        "database": database,
        "charset": "utf8mb4",
        "autocommit": True,
        "connect_timeout": 10,
    }
    if "unix_socket" in query:
        kwargs["unix_socket"] = str(query["unix_socket"])
    else:
        kwargs["host"] = url.host or "127.0.0.1"
        kwargs["port"] = url.port or 3306
    return pymysql.connect(**kwargs)


def _quote_name(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"refusing unusual database name {name!r}")
    return f"`{name}`"


def create_mysql_database(server_url: str, prefix: str = DATABASE_PREFIX) -> str:
    """Create a fresh utf8mb4_bin database on the server; return a URL naming it."""
    url = make_url(server_url)
    name = f"{prefix}{secrets.token_hex(6)}"
    conn = _connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {_quote_name(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    finally:
        conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_mysql_database(db_url: str) -> None:
    """Drop the database named in db_url, first killing sessions still using it."""
    url = make_url(db_url)
    if not url.database:
        raise ValueError(f"no database in {db_url!r}")
    name = url.database
    conn = _connect(url.set(database=None))
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = %s", (_DROP_LOCK_WAIT_SECONDS,))
            # Leaked pools or a killed subprocess's connections would otherwise
            # block DROP DATABASE on metadata locks.
            cur.execute(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
                (name,),
            )
            for (session_id,) in cur.fetchall():
                # The session may have ended on its own meanwhile.
                with contextlib.suppress(pymysql.err.OperationalError):
                    cur.execute(f"KILL CONNECTION {int(session_id)}")
            cur.execute(f"DROP DATABASE IF EXISTS {_quote_name(name)}")
    finally:
        conn.close()


@contextlib.contextmanager
def mysql_database(server_url: str, prefix: str = DATABASE_PREFIX) -> Iterator[str]:
    """A fresh database for the duration of the block; yields its SQLAlchemy URL."""
    db_url = create_mysql_database(server_url, prefix)
    try:
        yield db_url
    finally:
        drop_mysql_database(db_url)
