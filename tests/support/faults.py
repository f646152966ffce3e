"""Seeded faults in the database connection: the errors the engine claims to survive.

`FaultyCursor` wraps a DBAPI cursor and, with a seeded probability, raises the driver's own exception
for a deadlock, a lock-wait timeout or a lost connection (MySQL family), or "database is locked"
(SQLite) *instead of* running a statement, so the database never sees a half-applied statement and
the engine must roll back and retry the whole operation. `inject_faults` installs it on every
session a store hands out. Faults after a COMMIT reached the server (outcome unknown) are not
injected: HDFS answers those with a retry cache, which hopsfs does not have yet.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from namenode.dal.connection import Backend
from namenode.dal.session import DalSession
from namenode.dal.store import MetadataStore


@dataclass
class FaultPlan:
    seed: int
    probability: float
    injected: dict[str, int] = field(default_factory=dict)
    statements: int = 0

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def maybe_fail(self, backend: Backend) -> None:
        self.statements += 1
        if self.random.random() >= self.probability:
            return
        error = self._choose(backend)
        label = f"{type(error).__name__}({error.args[0]})"
        self.injected[label] = self.injected.get(label, 0) + 1
        raise error

    def _choose(self, backend: Backend) -> BaseException:
        if backend is Backend.SQLITE:
            return sqlite3.OperationalError("database is locked")
        import pymysql

        code, message = self.random.choice(
            [
                (1213, "Deadlock found when trying to get lock; try restarting transaction"),
                (1205, "Lock wait timeout exceeded; try restarting transaction"),
                (2013, "Lost connection to MySQL server during query"),
            ]
        )
        return pymysql.err.OperationalError(code, message)


class FaultyCursor:
    def __init__(self, cursor: Any, plan: FaultPlan, backend: Backend) -> None:
        self._cursor = cursor
        self._plan = plan
        self._backend = backend

    def execute(self, *arguments: Any) -> Any:
        self._plan.maybe_fail(self._backend)
        return self._cursor.execute(*arguments)

    def executemany(self, *arguments: Any) -> Any:
        self._plan.maybe_fail(self._backend)
        return self._cursor.executemany(*arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@contextmanager
def inject_faults(store: MetadataStore, plan: FaultPlan) -> Iterator[FaultPlan]:
    """Every session `store` hands out while inside the block runs its statements through the plan."""
    original_checkout = store._checkout

    def faulty_checkout() -> DalSession:
        session = original_checkout()
        if not isinstance(session._cursor, FaultyCursor):
            session._cursor = FaultyCursor(session._cursor, plan, store.backend)
        return session

    store._checkout = faulty_checkout  # type: ignore[method-assign]
    try:
        yield plan
    finally:
        store._checkout = original_checkout  # type: ignore[method-assign]
        for session in store._idle_sessions:
            if isinstance(session._cursor, FaultyCursor):
                session._cursor = session._cursor._cursor
