"""Statements on the small-file tables (schema v4): the size tiers, the chunk table and the
per-directory policies. Names are merged into `statements.StatementCache` like the block ones."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam, delete, select
from sqlalchemy.sql import ClauseElement

from namenode import schema
from namenode.dal.clauses import insert_clause, upsert_clause

CHUNKS = schema.inline_data
POLICIES = schema.inline_policies


def tier_name(action: str, tier: int) -> str:
    return f"inline.tier{tier}.{action}"


def _tier_builders() -> dict[str, Callable[[], ClauseElement]]:
    builders: dict[str, Callable[[], ClauseElement]] = {}
    for tier, table in enumerate(schema.inline_tier_tables):
        builders[tier_name("insert", tier)] = lambda table=table: insert_clause(table)
        builders[tier_name("select", tier)] = lambda table=table: select(table.c.data).where(
            table.c.inode_id == bindparam("inode_id")
        )
        builders[tier_name("delete", tier)] = lambda table=table: delete(table).where(
            table.c.inode_id == bindparam("inode_id")
        )
    return builders


INLINE_FIXED_BUILDERS: dict[str, Callable[[], ClauseElement]] = {
    **_tier_builders(),
    "inline.chunks.insert": lambda: insert_clause(CHUNKS),
    "inline.chunks.select": lambda: (
        select(CHUNKS.c.data).where(CHUNKS.c.inode_id == bindparam("inode_id")).order_by(CHUNKS.c.chunk_index)
    ),
    "inline.policies.delete": lambda: delete(POLICIES).where(POLICIES.c.inode_id == bindparam("inode_id")),
}


def _upsert_policy(dialect_name: str) -> ClauseElement:
    values = {"inode_id": bindparam("inode_id"), "threshold_bytes": bindparam("threshold_bytes")}
    return upsert_clause(dialect_name, POLICIES, ["inode_id"], values)


INLINE_DIALECT_BUILDERS: dict[str, Callable[[str], ClauseElement]] = {
    "inline.policies.upsert": _upsert_policy
}


def _policies_of(count: int) -> ClauseElement:
    wanted = [bindparam(f"inode_id{index}") for index in range(count)]
    return select(POLICIES.c.inode_id, POLICIES.c.threshold_bytes).where(POLICIES.c.inode_id.in_(wanted))


INLINE_SIZED_BUILDERS: dict[str, Callable[[int], ClauseElement]] = {"inline.policies.of": _policies_of}
