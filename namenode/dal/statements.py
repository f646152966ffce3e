"""Every statement the engine runs, built once with SQLAlchemy Core and compiled once per dialect.

Compiling per call costs 60-250 us of CPU (measured); a compiled `Statement` is a SQL string plus the
order of its positional parameters, run straight on a DBAPI cursor. Statements whose shape depends on a
count (batched key reads) are compiled per count and cached, bounded by BATCH_READ_KEYS_MAX.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from threading import Lock

from sqlalchemy import and_, bindparam, delete, func, or_, select, union_all, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from hopsfs import limits
from hopsfs.errors import InvariantViolation
from hopsfs.invariants import check
from namenode import schema
from namenode.dal.block_statements import BLOCK_DIALECT_BUILDERS, BLOCK_FIXED_BUILDERS, BLOCK_SIZED_BUILDERS
from namenode.dal.clauses import insert_clause, upsert_clause, with_lock
from namenode.dal.inline_statements import (
    INLINE_DIALECT_BUILDERS,
    INLINE_FIXED_BUILDERS,
    INLINE_SIZED_BUILDERS,
)
from namenode.schema import (
    change_log,
    id_counters,
    inline_data,
    inodes,
    lease_paths,
    leases,
    retry_cache,
    settings,
    subtree_operations,
    xattrs,
)


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    parameter_names: tuple[str, ...]
    # Values the compiler bound itself (SQLite renders LIMIT as "LIMIT ? OFFSET ?" with offset 0).
    parameter_defaults: tuple[tuple[str, object], ...] = ()
    # One C call per row instead of a generator over the names: binding the thousands of rows of an
    # executemany (a batch of small files) was a third of its flush time.
    _by_key: Callable[[dict[str, object]], tuple[object, ...]] = field(init=False, repr=False, compare=False)
    _by_attribute: Callable[[object], tuple[object, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = self.parameter_names
        # itemgetter/attrgetter of one name return the bare value: wrap it so a row is always a tuple.
        by_key = itemgetter(*names) if names else (lambda _: ())
        by_attribute = attrgetter(*names) if names else (lambda _: ())
        if len(names) == 1:
            object.__setattr__(self, "_by_key", lambda values: (by_key(values),))
            object.__setattr__(self, "_by_attribute", lambda row: (by_attribute(row),))
        else:
            object.__setattr__(self, "_by_key", by_key)
            object.__setattr__(self, "_by_attribute", by_attribute)

    def bind(self, parameters: dict[str, object]) -> tuple[object, ...]:
        """Positional parameters in statement order; a missing name is a bug."""
        if self.parameter_defaults:
            parameters = {**dict(self.parameter_defaults), **parameters}
        try:
            return self._by_key(parameters)
        except KeyError as error:
            raise InvariantViolation(f"statement parameter {error} not bound: {self.text[:80]}") from None

    def bind_attributes(self, row: object) -> tuple[object, ...]:
        """Positional parameters read from the attributes of `row` named like the parameters (an
        `InodeRow` for the inode statements); a missing attribute is a bug."""
        check(not self.parameter_defaults, "a statement with compiler defaults binds from a dict")
        try:
            return self._by_attribute(row)
        except AttributeError as error:
            raise InvariantViolation(f"statement parameter not bound: {error}: {self.text[:80]}") from None


def compile_statement(clause: ClauseElement, dialect: Dialect) -> Statement:
    compiled = clause.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    defaults = tuple((name, value) for name, value in compiled.params.items() if value is not None)
    return Statement(compiled.string, names, defaults)


_INODE_KEY_COLUMNS = ("partition_id", "parent_id", "name")
_INODE_VALUE_COLUMNS = tuple(name for name in schema.INODE_COLUMNS if name not in _INODE_KEY_COLUMNS)


def _select_inodes_by_keys(count: int, lock: str, union: bool) -> ClauseElement:
    """One statement reading `count` primary keys.

    SQLite: UNION ALL of point selects, measured 30% faster there than OR of ANDs (both are index
    lookups; the OR form pays for its multi-index bookkeeping). MySQL: OR of ANDs, which the range
    optimizer turns into sorted point ranges, so a locking read takes its row locks in key order.
    """
    conditions = [
        and_(
            inodes.c.partition_id == bindparam(f"k{index}_partition"),
            inodes.c.parent_id == bindparam(f"k{index}_parent"),
            inodes.c.name == bindparam(f"k{index}_name"),
        )
        for index in range(count)
    ]
    if union and count > 1:
        return union_all(*[select(*inodes.c).where(condition) for condition in conditions])
    statement = select(*inodes.c).where(or_(*conditions) if count > 1 else conditions[0])
    return _with_lock(statement, lock)


_with_lock = with_lock


def _select_inodes_by_ids(count: int) -> ClauseElement:
    return select(*inodes.c).where(inodes.c.id.in_([bindparam(f"id{index}") for index in range(count)]))


def _list_children() -> ClauseElement:
    return (
        select(*inodes.c)
        .where(
            inodes.c.partition_id == bindparam("partition_id"),
            inodes.c.parent_id == bindparam("parent_id"),
            inodes.c.name > bindparam("start_after"),
        )
        .order_by(inodes.c.name)
        .limit(bindparam("limit"))
    )


def _list_root_children() -> ClauseElement:
    return (
        select(*inodes.c)
        .where(
            inodes.c.partition_id.between(bindparam("partition_low"), bindparam("partition_high")),
            inodes.c.parent_id == bindparam("parent_id"),
            inodes.c.name > bindparam("start_after"),
        )
        .order_by(inodes.c.name)
        .limit(bindparam("limit"))
    )


def _count_children_after() -> ClauseElement:
    return select(func.count()).where(
        inodes.c.partition_id.between(bindparam("partition_low"), bindparam("partition_high")),
        inodes.c.parent_id == bindparam("parent_id"),
        inodes.c.name > bindparam("start_after"),
    )


def _update_inode() -> ClauseElement:
    return (
        update(inodes)
        .where(
            inodes.c.partition_id == bindparam("partition_id"),
            inodes.c.parent_id == bindparam("parent_id"),
            inodes.c.name == bindparam("name"),
        )
        .values({name: bindparam(name) for name in _INODE_VALUE_COLUMNS})
    )


def _delete_inode() -> ClauseElement:
    return delete(inodes).where(
        inodes.c.partition_id == bindparam("partition_id"),
        inodes.c.parent_id == bindparam("parent_id"),
        inodes.c.name == bindparam("name"),
    )


_insert = insert_clause


_FIXED_BUILDERS: dict[str, Callable[[], ClauseElement]] = {
    "list_children": _list_children,
    "list_root_children": _list_root_children,
    "count_children_after": _count_children_after,
    "insert_inode": lambda: _insert(inodes),
    "update_inode": _update_inode,
    "delete_inode": _delete_inode,
    "select_xattrs": lambda: select(xattrs.c.namespace, xattrs.c.name, xattrs.c.value).where(
        xattrs.c.inode_id == bindparam("inode_id")
    ),
    "insert_xattr": lambda: _insert(xattrs),
    "delete_xattr": lambda: delete(xattrs).where(
        xattrs.c.inode_id == bindparam("inode_id"),
        xattrs.c.namespace == bindparam("namespace"),
        xattrs.c.name == bindparam("name"),
    ),
    "delete_xattrs_of_inode": lambda: delete(xattrs).where(xattrs.c.inode_id == bindparam("inode_id")),
    "delete_inline_data_of_inode": lambda: delete(inline_data).where(
        inline_data.c.inode_id == bindparam("inode_id")
    ),
    "insert_change": lambda: _insert(change_log),
    "select_changes_after": lambda: (
        select(*change_log.c)
        .where(change_log.c.sequence > bindparam("after"))
        .order_by(change_log.c.sequence)
        .limit(bindparam("limit"))
    ),
    "advance_id_counter": lambda: (
        update(id_counters)
        .where(id_counters.c.name == bindparam("name"))
        .values(next_value=id_counters.c.next_value + bindparam("count"))
    ),
    "select_id_counter": lambda: select(id_counters.c.next_value).where(
        id_counters.c.name == bindparam("name")
    ),
    "insert_id_counter": lambda: _insert(id_counters),
    "select_settings": lambda: select(settings.c.name, settings.c.value),
    "insert_setting": lambda: _insert(settings),
    "insert_subtree_operation": lambda: _insert(subtree_operations),
    "delete_subtree_operation": lambda: delete(subtree_operations).where(
        subtree_operations.c.inode_id == bindparam("inode_id")
    ),
    "select_subtree_operations": lambda: select(*subtree_operations.c),
    "insert_lease_path": lambda: _insert(lease_paths),
    "delete_lease_path": lambda: delete(lease_paths).where(lease_paths.c.inode_id == bindparam("inode_id")),
    "renew_lease": lambda: (
        update(leases)
        .where(leases.c.holder == bindparam("holder"))
        .values(last_renewed_ms=bindparam("last_renewed_ms"))
    ),
    "select_lease": lambda: select(leases.c.last_renewed_ms).where(leases.c.holder == bindparam("holder")),
    "select_retry_result": lambda: select(retry_cache.c.result).where(
        retry_cache.c.client_id == bindparam("client_id"),
        retry_cache.c.call_id == bindparam("call_id"),
        retry_cache.c.expiry_ms > bindparam("now_ms"),
    ),
    "delete_expired_retry_results": lambda: delete(retry_cache).where(
        retry_cache.c.expiry_ms <= bindparam("now_ms")
    ),
}


_upsert = upsert_clause


def _upsert_lease(dialect_name: str) -> ClauseElement:
    """Insert a holder's lease or move its renewal time forward, in one statement on either backend.

    Two namenodes opening files for one client at once must not both insert it (a duplicate-key
    error would fail a create that did nothing wrong).
    """
    values = {"holder": bindparam("holder"), "last_renewed_ms": bindparam("last_renewed_ms")}
    return _upsert(dialect_name, leases, ["holder"], values)


def _upsert_retry_result(dialect_name: str) -> ClauseElement:
    """A re-used (client id, call id) (a client whose ids are not unique) replaces the old answer rather
    than failing the operation it answers."""
    names = ("client_id", "call_id", "result", "expiry_ms")
    return _upsert(
        dialect_name, retry_cache, ["client_id", "call_id"], {name: bindparam(name) for name in names}
    )


_DIALECT_BUILDERS: dict[str, Callable[[str], ClauseElement]] = {
    "upsert_lease": _upsert_lease,
    "upsert_retry_result": _upsert_retry_result,
}

check(not set(BLOCK_FIXED_BUILDERS) & set(_FIXED_BUILDERS), "block statement names clash")
check(not set(BLOCK_DIALECT_BUILDERS) & set(_DIALECT_BUILDERS), "block statement names clash")
check(not set(INLINE_FIXED_BUILDERS) & set(_FIXED_BUILDERS), "inline statement names clash")
check(not set(INLINE_SIZED_BUILDERS) & set(BLOCK_SIZED_BUILDERS), "inline statement names clash")
_FIXED_BUILDERS.update(BLOCK_FIXED_BUILDERS)
_FIXED_BUILDERS.update(INLINE_FIXED_BUILDERS)
_DIALECT_BUILDERS.update(BLOCK_DIALECT_BUILDERS)
_DIALECT_BUILDERS.update(INLINE_DIALECT_BUILDERS)
_SIZED_BUILDERS = {**BLOCK_SIZED_BUILDERS, **INLINE_SIZED_BUILDERS}
# Sizes a statement with an IN list is compiled for; callers pad their values up to one of them, so
# at most len(IN_LIST_SIZES) variants of each such statement exist.
IN_LIST_SIZES = (1, 4, 16, 64, 256)


class StatementCache:
    """Compiled statements for one dialect; safe to share between threads."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._compiled: dict[tuple[str, int, str], Statement] = {}
        self._lock = Lock()

    def fixed(self, name: str) -> Statement:
        found = self._compiled.get((name, 0, ""))
        if found is None:
            dialect_builder = _DIALECT_BUILDERS.get(name)
            clause = dialect_builder(self._dialect.name) if dialect_builder else _FIXED_BUILDERS[name]()
            found = self._store((name, 0, ""), clause)
        return found

    def inodes_by_keys(self, count: int, lock: str) -> Statement:
        check(1 <= count <= limits.BATCH_READ_KEYS_MAX, "batched key read size out of range")
        found = self._compiled.get(("by_keys", count, lock))
        if found is None:
            union = self._dialect.name == "sqlite"
            found = self._store(("by_keys", count, lock), _select_inodes_by_keys(count, lock, union))
            expected = tuple(
                f"k{index}_{part}" for index in range(count) for part in ("partition", "parent", "name")
            )
            check(found.parameter_names == expected, "key-read parameters must be in key order")
        return found

    def inodes_by_ids(self, count: int) -> Statement:
        check(1 <= count <= limits.BATCH_READ_KEYS_MAX, "batched id read size out of range")
        found = self._compiled.get(("by_ids", count, ""))
        if found is None:
            found = self._store(("by_ids", count, ""), _select_inodes_by_ids(count))
        return found

    def sized(self, name: str, count: int) -> Statement:
        """A statement whose IN lists hold `count` values each (count one of IN_LIST_SIZES)."""
        check(count in IN_LIST_SIZES, "IN-list statements are compiled for the fixed sizes only")
        found = self._compiled.get((name, count, ""))
        if found is None:
            found = self._store((name, count, ""), _SIZED_BUILDERS[name](count))
        return found

    def _store(self, cache_key: tuple[str, int, str], clause: ClauseElement) -> Statement:
        statement = compile_statement(clause, self._dialect)
        with self._lock:
            self._compiled[cache_key] = statement
        return statement
