"""Smoke tests for the test infrastructure itself: fixtures, MariaDB server, collation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

# Distinct only under a case- and accent-sensitive (binary) collation; a
# utf8mb4_general_ci database would reject the second row as a duplicate.
NAMES = ["Ärger", "ärger", "Arger"]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = sa.create_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def _names_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "names",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
    )


def test_case_sensitive_non_ascii_names_round_trip(engine: Engine) -> None:
    metadata = sa.MetaData()
    names = _names_table(metadata)
    metadata.create_all(engine)

    with engine.begin() as conn:
        conn.execute(names.insert(), [{"name": n} for n in NAMES])

    with engine.connect() as conn:
        stored = conn.execute(sa.select(names.c.name).order_by(names.c.id)).scalars().all()
        exact = conn.execute(sa.select(names.c.id).where(names.c.name == "ärger")).scalars().all()

    assert stored == NAMES
    assert len(exact) == 1


def test_duplicate_name_is_rejected(engine: Engine) -> None:
    metadata = sa.MetaData()
    names = _names_table(metadata)
    metadata.create_all(engine)

    with engine.begin() as conn:
        conn.execute(names.insert(), {"name": "Ärger"})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(names.insert(), {"name": "Ärger"})


@pytest.mark.mysql
def test_mysql_server_has_engine_settings(mysql_url: str) -> None:
    eng = sa.create_engine(mysql_url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
                    "('tx_isolation', 'transaction_isolation', 'log_bin', 'binlog_format', "
                    "'binlog_row_image', 'server_id', 'character_set_server', 'collation_server', "
                    "'max_connections')"
                )
            ).all()
            variables = {str(name): str(value) for name, value in rows}
            schema = conn.execute(
                sa.text(
                    "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                    "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()"
                )
            ).one()
    finally:
        eng.dispose()

    isolation = variables.get("transaction_isolation") or variables.get("tx_isolation")
    assert isolation == "READ-COMMITTED"
    assert variables["log_bin"] == "ON"
    assert variables["binlog_format"] == "ROW"
    assert variables["binlog_row_image"] == "FULL"
    assert variables["server_id"] == "1"
    assert variables["character_set_server"] == "utf8mb4"
    assert variables["collation_server"] == "utf8mb4_bin"
    assert variables["max_connections"] == "500"
    assert tuple(schema) == ("utf8mb4", "utf8mb4_bin")


def test_sqlite_url_is_a_file_under_tmp_path(sqlite_url: str, tmp_path: Path) -> None:
    assert sqlite_url == f"sqlite:///{tmp_path}/meta.db"
