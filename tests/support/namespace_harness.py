"""Formatting and opening stores for the multi-namespace tests, and the checks they all end with."""

from __future__ import annotations

import time
from collections import Counter, defaultdict

from sqlalchemy import create_engine, text

from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace
from support.changelog_replay import LoggedChange, assert_change_log_matches
from support.fsck import assert_consistent

SUPERUSER = Caller("root", ())
SUPERGROUP = "supergroup"


def format_store(url: str) -> None:
    store = MetadataStore(url)
    try:
        store.format(superuser=SUPERUSER.user, supergroup=SUPERGROUP, now_ms=int(time.time() * 1000))
    finally:
        store.dispose()


def open_namespace(url: str, namenode_id: str | None = None) -> Namespace:
    return Namespace(MetadataStore(url), namenode_id=namenode_id)


def assert_store_healthy(url: str) -> None:
    """fsck clean (no flags left) and the change log replays to the live inodes."""
    assert_consistent(url)
    assert_change_log_matches(url)


def changes_by_inode(changes: list[LoggedChange]) -> dict[int, list[LoggedChange]]:
    grouped: dict[int, list[LoggedChange]] = defaultdict(list)
    for change in changes:
        grouped[change.inode_id].append(change)
    return grouped


def operation_counts(changes: list[LoggedChange]) -> Counter[str]:
    return Counter(change.operation for change in changes)


def subtree_flags(url: str) -> list[tuple[int, str, int]]:
    """(inode id, owner, lease expiry ms) of every inode carrying a subtree flag."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, subtree_lock_owner, subtree_lock_expiry_ms FROM inodes"
                    " WHERE subtree_lock_owner IS NOT NULL"
                )
            ).all()
    finally:
        engine.dispose()
    return [(int(row[0]), str(row[1]), int(row[2] or 0)) for row in rows]


def subtree_operation_rows(url: str) -> list[tuple[int, str, str]]:
    """(inode id, path, owner) of every recorded subtree operation."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT inode_id, path, owner FROM subtree_operations")).all()
    finally:
        engine.dispose()
    return [(int(row[0]), str(row[1]), str(row[2])) for row in rows]


def inode_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT COUNT(*) FROM inodes")).scalar_one())
    finally:
        engine.dispose()
