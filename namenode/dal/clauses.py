"""Small SQLAlchemy Core builders every statement module shares (insert, upsert, locking reads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.sql import ClauseElement


def insert_clause(table: Table) -> ClauseElement:
    """INSERT of every column but an auto-increment key, each bound by its own name."""
    columns = [column.name for column in table.columns if column.autoincrement is not True]
    return insert(table).values({name: bindparam(name) for name in columns})


def upsert_clause(
    dialect_name: str, table: Table, key_columns: list[str], values: dict[str, object]
) -> ClauseElement:
    """INSERT, or UPDATE the non-key columns when the key exists: one statement on either backend."""
    updated = [name for name in values if name not in key_columns]
    if dialect_name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).values(values)
        return statement.on_conflict_do_update(
            index_elements=[table.c[name] for name in key_columns],
            set_={name: statement.excluded[name] for name in updated},
        )
    from sqlalchemy.dialects.mysql import insert as mysql_insert

    statement = mysql_insert(table).values(values)
    return statement.on_duplicate_key_update({name: statement.inserted[name] for name in updated})


def upsert_all_columns(dialect_name: str, table: Table) -> ClauseElement:
    """`upsert_clause` of every column of `table`, keyed by its primary key."""
    keys = [column.name for column in table.primary_key.columns]
    values = {column.name: bindparam(column.name) for column in table.columns}
    return upsert_clause(dialect_name, table, keys, values)


def with_lock(statement: Any, lock: str) -> Any:
    """`statement` as a locking read: lock is none, read (shared) or write (exclusive)."""
    if lock == "write":
        return statement.with_for_update()
    if lock == "read":
        return statement.with_for_update(read=True)
    return statement
