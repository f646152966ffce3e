"""The block manager's statements, built with SQLAlchemy Core and registered with `StatementCache`.

Every block-manager table gets the same generic statements (insert, upsert, update and delete by primary
key, select and delete by IN lists of key columns); the few range scans the block manager needs are
spelled out below. IN-list statements are compiled per list size (see statements.IN_LIST_SIZES).
SQLite gets one IN list per column, never a row-value IN (which it answers with a full scan).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.sql import ClauseElement

from namenode import schema
from namenode.dal.clauses import insert_clause, upsert_all_columns, with_lock

_TABLES: tuple[Table, ...] = (
    schema.blocks,
    schema.block_lookup,
    schema.replicas,
    *schema.BLOCK_MANAGER_TABLES,
    schema.block_truncations,
)
# Key-column combinations rows are selected or deleted by, per table, as IN lists.
_IN_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "blocks": (("inode_id",), ("inode_id", "block_id")),
    "block_lookup": (("block_id",),),
    "replicas": (("inode_id",), ("inode_id", "block_id")),
    "replicas_under_construction": (("inode_id",), ("inode_id", "block_id")),
    "corrupt_replicas": (("inode_id",), ("inode_id", "block_id")),
    "under_replicated_blocks": (("inode_id",), ("inode_id", "block_id")),
    "pending_replications": (("inode_id",), ("inode_id", "block_id")),
    "block_truncations": (("inode_id",),),
}
LOCKS = ("none", "write")


def in_name(table_name: str, columns: tuple[str, ...], lock: str = "none") -> str:
    return f"{table_name}.in.{'+'.join(columns)}.{lock}"


def delete_in_name(table_name: str, columns: tuple[str, ...]) -> str:
    return f"{table_name}.delete_in.{'+'.join(columns)}"


def _key_condition(table: Table) -> ClauseElement:
    return and_(*[column == bindparam(column.name) for column in table.primary_key.columns])


def _in_condition(table: Table, columns: tuple[str, ...], count: int) -> ClauseElement:
    return and_(
        *[table.c[name].in_([bindparam(f"{name}{index}") for index in range(count)]) for name in columns]
    )


def _select_in(table: Table, columns: tuple[str, ...], lock: str) -> Callable[[int], ClauseElement]:
    def build(count: int) -> ClauseElement:
        order = list(table.primary_key.columns)
        statement = select(*table.c).where(_in_condition(table, columns, count)).order_by(*order)
        return with_lock(statement, lock)  # type: ignore[no-any-return]

    return build


def _delete_in(table: Table, columns: tuple[str, ...]) -> Callable[[int], ClauseElement]:
    return lambda count: delete(table).where(_in_condition(table, columns, count))


def _update_by_key(table: Table) -> ClauseElement:
    keys = {column.name for column in table.primary_key.columns}
    values = {column.name: bindparam(column.name) for column in table.columns if column.name not in keys}
    return update(table).where(_key_condition(table)).values(values)


def _generic_builders() -> tuple[
    dict[str, Callable[[], ClauseElement]],
    dict[str, Callable[[str], ClauseElement]],
    dict[str, Callable[[int], ClauseElement]],
]:
    fixed: dict[str, Callable[[], ClauseElement]] = {}
    dialect: dict[str, Callable[[str], ClauseElement]] = {}
    sized: dict[str, Callable[[int], ClauseElement]] = {}
    for table in _TABLES:
        fixed[f"{table.name}.insert"] = lambda table=table: insert_clause(table)
        fixed[f"{table.name}.update_key"] = lambda table=table: _update_by_key(table)
        fixed[f"{table.name}.delete_key"] = lambda table=table: delete(table).where(_key_condition(table))
        dialect[f"{table.name}.upsert"] = lambda name, table=table: upsert_all_columns(name, table)
        for columns in _IN_KEYS.get(table.name, ()):
            for lock in LOCKS:
                sized[in_name(table.name, columns, lock)] = _select_in(table, columns, lock)
            sized[delete_in_name(table.name, columns)] = _delete_in(table, columns)
    return fixed, dialect, sized


def _blocks_of_inode(lock: str) -> ClauseElement:
    blocks = schema.blocks
    statement = (
        select(*blocks.c).where(blocks.c.inode_id == bindparam("inode_id")).order_by(blocks.c.block_index)
    )
    return with_lock(statement, lock)  # type: ignore[no-any-return]


def _last_blocks_of_inode(lock: str) -> ClauseElement:
    blocks = schema.blocks
    statement = (
        select(*blocks.c)
        .where(blocks.c.inode_id == bindparam("inode_id"))
        .order_by(blocks.c.block_index.desc())
        .limit(bindparam("limit"))
    )
    return with_lock(statement, lock)  # type: ignore[no-any-return]


def _replicas_of_storage_page() -> ClauseElement:
    replicas = schema.replicas
    return (
        select(*replicas.c)
        .where(replicas.c.storage_id == bindparam("storage_id"), replicas.c.block_id > bindparam("after"))
        .order_by(replicas.c.block_id)
        .limit(bindparam("limit"))
    )


def _keyset_page(table: Table) -> ClauseElement:
    """Rows after (after_inode, after_block) in (inode_id, block_id) order."""
    after = or_(
        table.c.inode_id > bindparam("after_inode"),
        and_(table.c.inode_id == bindparam("after_inode_again"), table.c.block_id > bindparam("after_block")),
    )
    order = list(table.primary_key.columns)
    return select(*table.c).where(after).order_by(*order).limit(bindparam("limit"))


def _commands_of_datanode(kind_wanted: bool, lock: str) -> ClauseElement:
    commands = schema.datanode_commands
    kind_condition = (
        commands.c.kind == bindparam("kind") if kind_wanted else commands.c.kind != bindparam("kind")
    )
    statement = (
        select(*commands.c)
        .where(commands.c.datanode_uuid == bindparam("datanode_uuid"), kind_condition)
        .order_by(commands.c.command_id)
        .limit(bindparam("limit"))
    )
    return with_lock(statement, lock)  # type: ignore[no-any-return]


def _queue_due() -> ClauseElement:
    queue = schema.under_replicated_blocks
    return (
        select(*queue.c)
        .where(queue.c.queued_ms <= bindparam("now_ms"))
        .order_by(queue.c.priority, queue.c.queued_ms)
        .limit(bindparam("limit"))
    )


def _corrupt_block_count() -> ClauseElement:
    corrupt = schema.corrupt_replicas
    distinct_blocks = select(corrupt.c.inode_id, corrupt.c.block_id).distinct().subquery()
    return select(func.count()).select_from(distinct_blocks)


_SPECIFIC: dict[str, Callable[[], ClauseElement]] = {
    "blocks.of_inode.none": lambda: _blocks_of_inode("none"),
    "blocks.of_inode.write": lambda: _blocks_of_inode("write"),
    "blocks.last_of_inode.none": lambda: _last_blocks_of_inode("none"),
    "blocks.last_of_inode.write": lambda: _last_blocks_of_inode("write"),
    "replicas.of_storage_page": _replicas_of_storage_page,
    "replicas_under_construction.of_storage": lambda: (
        select(*schema.replicas_under_construction.c)
        .where(schema.replicas_under_construction.c.storage_id == bindparam("storage_id"))
        .limit(bindparam("limit"))
    ),
    "corrupt_replicas.of_storage": lambda: (
        select(*schema.corrupt_replicas.c)
        .where(schema.corrupt_replicas.c.storage_id == bindparam("storage_id"))
        .limit(bindparam("limit"))
    ),
    "corrupt_replicas.page": lambda: _keyset_page(schema.corrupt_replicas),
    "corrupt_replicas.block_count": _corrupt_block_count,
    "under_replicated_blocks.due": _queue_due,
    "under_replicated_blocks.count_by_priority": lambda: select(
        schema.under_replicated_blocks.c.priority, func.count()
    ).group_by(schema.under_replicated_blocks.c.priority),
    "pending_replications.timed_out": lambda: (
        select(*schema.pending_replications.c)
        .where(schema.pending_replications.c.scheduled_ms < bindparam("before_ms"))
        .order_by(schema.pending_replications.c.scheduled_ms)
        .limit(bindparam("limit"))
    ),
    "pending_replications.of_storage": lambda: (
        select(*schema.pending_replications.c)
        .where(schema.pending_replications.c.storage_id == bindparam("storage_id"))
        .limit(bindparam("limit"))
    ),
    "datanode_commands.of_kind.write": lambda: _commands_of_datanode(True, "write"),
    "datanode_commands.other_kinds.write": lambda: _commands_of_datanode(False, "write"),
    "datanode_commands.delete_of_datanode": lambda: delete(schema.datanode_commands).where(
        schema.datanode_commands.c.datanode_uuid == bindparam("datanode_uuid")
    ),
    "datanodes.all": lambda: select(*schema.datanodes.c).order_by(schema.datanodes.c.datanode_uuid),
    "datanodes.by_uuid.write": lambda: (
        select(*schema.datanodes.c)
        .where(schema.datanodes.c.datanode_uuid == bindparam("datanode_uuid"))
        .with_for_update()
    ),
    "leader_lease.by_name.write": lambda: (
        select(*schema.leader_lease.c)
        .where(schema.leader_lease.c.name == bindparam("name"))
        .with_for_update()
    ),
    "leases.expired": lambda: (
        select(schema.leases.c.holder, schema.leases.c.last_renewed_ms)
        .where(
            schema.leases.c.last_renewed_ms < bindparam("before_ms"),
            schema.leases.c.holder > bindparam("after"),
        )
        .order_by(schema.leases.c.holder)
        .limit(bindparam("limit"))
    ),
    "leases.delete": lambda: delete(schema.leases).where(schema.leases.c.holder == bindparam("holder")),
    "block_truncations.first": lambda: (
        select(*schema.block_truncations.c)
        .order_by(schema.block_truncations.c.inode_id)
        .limit(bindparam("limit"))
    ),
    "lease_paths.of_holder": lambda: (
        select(schema.lease_paths.c.inode_id)
        .where(schema.lease_paths.c.holder == bindparam("holder"))
        .order_by(schema.lease_paths.c.inode_id)
        .limit(bindparam("limit"))
    ),
}

_GENERIC_FIXED, BLOCK_DIALECT_BUILDERS, BLOCK_SIZED_BUILDERS = _generic_builders()
BLOCK_FIXED_BUILDERS: dict[str, Callable[[], ClauseElement]] = {**_GENERIC_FIXED, **_SPECIFIC}
