"""The metadata store: one database (SQLite file or MySQL-family server) holding one namespace.

`MetadataStore` owns the SQLAlchemy engine and its pool, the compiled statements, and the store-wide
lifecycle: format (create the schema, the root inode, id counters and settings), open (check that the
store is formatted with this schema version) and size accounting.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Lock

from sqlalchemy import Engine, insert, inspect, select, text, update
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from hopsfs.errors import AlreadyFormatted, NotFormatted, SchemaVersionMismatch, StoreError, TransientError
from hopsfs.types import InodeKind
from namenode import schema
from namenode.dal.connection import Backend, backend_of, is_connection_lost, make_engine
from namenode.dal.session import DalSession
from namenode.dal.statements import StatementCache
from namenode.entities import ROOT_KEY, InodeRow, new_inode_row

ROOT_PERMISSION = 0o755
FIRST_BLOCK_ID = 1 << 30  # HDFS starts block ids high; ours only need to be unique
FIRST_GENERATION_STAMP = 1001  # HDFS GenerationStamp.LAST_RESERVED_STAMP + 1


class MetadataStore:
    def __init__(self, url: str, *, sessions_max: int = 64) -> None:
        self.url = url
        self.backend = backend_of(url)
        # SQLAlchemy's pool opens connections and bounds their number (sessions_max, no overflow);
        # idle sessions are kept here because a pool checkout and return costs ~13 us, more than a
        # primary-key read on SQLite.
        self.engine = make_engine(url, pool_size=sessions_max, pool_overflow=0)
        self.statements = StatementCache(self.engine.dialect)
        self._idle_sessions: list[DalSession] = []
        self._idle_lock = Lock()

    @contextmanager
    def session(self) -> Iterator[DalSession]:
        """A session on a kept connection; a transaction left open is rolled back."""
        session = self._checkout()
        healthy = True
        try:
            yield session
        except BaseException as error:
            healthy = not is_connection_lost(error.__cause__ or error)
            raise
        finally:
            try:
                if session.in_transaction:
                    session.rollback()
            finally:
                self._checkin(session, healthy)

    def _checkout(self) -> DalSession:
        with self._idle_lock:
            if self._idle_sessions:
                return self._idle_sessions.pop()
        try:
            connection = self.engine.raw_connection()
        except SQLAlchemyTimeoutError as error:
            raise TransientError(f"every one of the store's connections is busy: {error}") from error
        return DalSession(self.backend, self.statements, connection)

    def _checkin(self, session: DalSession, healthy: bool) -> None:
        if healthy:
            with self._idle_lock:
                self._idle_sessions.append(session)
        else:
            session.discard()

    def dispose(self) -> None:
        with self._idle_lock:
            sessions, self._idle_sessions = self._idle_sessions, []
        for session in sessions:
            session.release()
        self.engine.dispose()

    # -- lifecycle ------------------------------------------------------------------------------

    def is_formatted(self) -> bool:
        return inspect(self.engine).has_table(schema.settings.name)

    def format(self, *, superuser: str, supergroup: str, now_ms: int, force: bool = False) -> dict[str, str]:
        """Create an empty namespace. Refuses a store that holds one unless `force`."""
        if self.is_formatted() and not force:
            raise AlreadyFormatted(
                f"the metadata store {self._display_url()} already holds a namespace; "
                "pass --force to erase it and format again"
            )
        schema.metadata.drop_all(self.engine)
        schema.metadata.create_all(self.engine)
        values = {
            "schema_version": str(schema.SCHEMA_VERSION),
            "namespace_id": str(secrets.randbelow(2**31 - 1) + 1),
            "cluster_id": f"CID-{uuid.uuid4()}",
            "block_pool_id": f"BP-{secrets.randbelow(2**31 - 1)}-127.0.0.1-{now_ms}",
            "created_ms": str(now_ms),
            "superuser": superuser,
            "supergroup": supergroup,
        }
        with self.session() as session:
            session.begin(write=True)
            session.insert_inodes([_root_row(superuser, supergroup, now_ms)])
            session.insert_id_counters(
                {
                    "inode": schema.FIRST_ALLOCATED_INODE_ID,
                    "block": FIRST_BLOCK_ID,
                    "generation_stamp": FIRST_GENERATION_STAMP,
                    "datanode_command": 1,
                }
            )
            session.insert_settings(values)
            session.insert_leader_lease(schema.LEADER_LEASE_HOUSEKEEPING)
            session.commit()
        return values

    def format_if_empty(self, *, superuser: str, supergroup: str, now_ms: int) -> dict[str, str] | None:
        """Format an empty store (the embedded default's first start); the new settings, or None when
        the store already held a namespace."""
        if self.is_formatted():
            return None
        return self.format(superuser=superuser, supergroup=supergroup, now_ms=now_ms)

    def open_settings(self) -> dict[str, str]:
        """The namespace's settings; raises unless the store is formatted with our schema version."""
        if not self.is_formatted():
            raise NotFormatted(
                f"the metadata store {self._display_url()} is not formatted: run `hopsfs format`"
            )
        with self.session() as session:
            values = session.read_settings()
        found = values.get("schema_version")
        if found != str(schema.SCHEMA_VERSION):
            advice = "run `hopsfs upgrade` first" if _older(found) else "use the hopsfs that wrote it"
            raise SchemaVersionMismatch(
                f"the metadata store has schema version {found}, this hopsfs needs "
                f"{schema.SCHEMA_VERSION}: {advice}"
            )
        return values

    def upgrade(self) -> tuple[int, int]:
        """Bring a store written by an older hopsfs to this schema version, step by step; returns
        (found, now). Every step is additive, so namenodes of the old version must be stopped first
        only because they would refuse the new version number, not because data changes shape."""
        if not self.is_formatted():
            raise NotFormatted(f"the metadata store {self._display_url()} is not formatted")
        with self.session() as session:
            found = session.read_settings().get("schema_version", "")
        if not found.isdigit() or int(found) > schema.SCHEMA_VERSION:
            raise SchemaVersionMismatch(
                f"the metadata store has schema version {found}, newer than this hopsfs "
                f"({schema.SCHEMA_VERSION}): nothing to upgrade"
            )
        for version in range(int(found), schema.SCHEMA_VERSION):
            _UPGRADE_STEPS[version](self.engine)
            with self.engine.begin() as connection:
                connection.execute(
                    update(schema.settings)
                    .where(schema.settings.c.name == "schema_version")
                    .values(value=str(version + 1))
                )
        return int(found), schema.SCHEMA_VERSION

    def partition_inodes(self, partitions: int) -> None:
        """PARTITION BY KEY(partition_id) for MySQL-family servers: what a sharded engine shards on."""
        if self.backend is not Backend.MYSQL:
            raise StoreError("table partitioning applies to MySQL-family servers only")
        if not 1 <= partitions <= 1024:
            raise StoreError(f"partitions must be between 1 and 1024, not {partitions}")
        with self.engine.begin() as connection:
            connection.execute(
                text(f"ALTER TABLE inodes PARTITION BY KEY(partition_id) PARTITIONS {partitions}")
            )

    def size_bytes(self) -> int:
        """Bytes the store occupies: file sizes on SQLite, data + index length on MySQL."""
        if self.backend is Backend.SQLITE:
            path = self.engine.url.database or ""
            return sum(
                os.path.getsize(path + suffix) for suffix in ("", "-wal") if os.path.exists(path + suffix)
            )
        with self.engine.connect() as connection:
            value = connection.execute(
                text(
                    "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
                    "WHERE table_schema = DATABASE()"
                )
            ).scalar_one()
        return int(value)

    def _display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


def _older(version: str | None) -> bool:
    return version is not None and version.isdigit() and int(version) < schema.SCHEMA_VERSION


def _add_retry_cache(engine: Engine) -> None:
    schema.retry_cache.create(engine, checkfirst=True)


def _add_block_manager(engine: Engine) -> None:
    for table in schema.BLOCK_MANAGER_TABLES:
        table.create(engine, checkfirst=True)
    # Version 1 declared `replicas` without the per-storage index block reports need.
    for index in schema.replicas.indexes:
        index.create(engine, checkfirst=True)
    with engine.begin() as connection:
        present = connection.execute(
            select(schema.id_counters.c.name).where(schema.id_counters.c.name == "datanode_command")
        ).first()
        if present is None:
            connection.execute(insert(schema.id_counters).values(name="datanode_command", next_value=1))
        lease = connection.execute(
            select(schema.leader_lease.c.name).where(
                schema.leader_lease.c.name == schema.LEADER_LEASE_HOUSEKEEPING
            )
        ).first()
        if lease is None:
            connection.execute(
                insert(schema.leader_lease).values(
                    name=schema.LEADER_LEASE_HOUSEKEEPING, holder="", expires_ms=0, epoch=0
                )
            )


def _add_inline_data(engine: Engine) -> None:
    # `inline_data` exists since version 1 (never written before 4); the tiers and policies are new.
    for table in schema.INLINE_TABLES:
        table.create(engine, checkfirst=True)
    schema.block_truncations.create(engine, checkfirst=True)


# _UPGRADE_STEPS[n] turns a version-n store into a version-(n + 1) one.
_UPGRADE_STEPS: dict[int, Callable[[Engine], None]] = {
    1: _add_retry_cache,
    2: _add_block_manager,
    3: _add_inline_data,
}


def _root_row(superuser: str, supergroup: str, now_ms: int) -> InodeRow:
    return new_inode_row(
        ROOT_KEY, schema.ROOT_INODE_ID, InodeKind.DIRECTORY, ROOT_PERMISSION, superuser, supergroup, now_ms
    )
