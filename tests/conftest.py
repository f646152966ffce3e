"""Backend fixtures: every test that touches the namespace runs on SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import databases
from support.cluster import NamenodeProcess, StartNamenodes, format_store


def _require_mysql_server() -> str:
    server_url = databases.mysql_server_url()
    if server_url is not None:
        return server_url
    message = (
        f"{databases.MYSQL_URL_ENV} is not set; run the suite via scripts/test.sh to get a MariaDB server"
    )
    if databases.in_ci():
        # CI must never pass while silently skipping the MariaDB backend.
        pytest.fail(f"CI is set but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(name="sqlite_url")
def sqlite_url_fixture(tmp_path: Path) -> str:
    return databases.sqlite_url(tmp_path)


@pytest.fixture(name="mysql_url")
def mysql_url_fixture() -> Iterator[str]:
    with databases.mysql_database(_require_mysql_server()) as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database_url(request.param, tmp_path)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("mysql+pymysql", id="pymysql", marks=pytest.mark.mysql),
        pytest.param("mariadb+mariadbconnector", id="mariadbconnector", marks=pytest.mark.mysql),
    ]
)
def db_url_every_driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Like db_url, with MariaDB reached through each supported driver (PyMySQL and the C connector)."""
    yield from _database_url(request.param, tmp_path)


def _database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a MariaDB database reached with the driver `kind` names."""
    if kind == "sqlite":
        yield databases.sqlite_url(tmp_path)
        return
    with databases.mysql_database(_require_mysql_server()) as url:
        yield url if kind == "mysql" else url.replace("mysql+pymysql://", f"{kind}://", 1)


@pytest.fixture(name="start_namenodes")
def start_namenodes_fixture() -> Iterator[StartNamenodes]:
    """`start_namenodes(url, count=1, format=True, port=0, extra_arguments=())`: namenode processes on
    one store (formatted first unless format=False, superuser `hdfs`), all stopped when the test ends."""
    started: list[NamenodeProcess] = []

    def start(
        metadata_url: str,
        count: int = 1,
        *,
        format: bool = True,
        port: int = 0,
        extra_arguments: tuple[str, ...] = (),
    ) -> list[NamenodeProcess]:
        if format:
            format_store(metadata_url)
        new = [
            NamenodeProcess.start(metadata_url, port=port, extra_arguments=extra_arguments)
            for _ in range(count)
        ]
        started.extend(new)
        return new

    yield start
    for namenode in started:
        namenode.stop()


@pytest.fixture(name="namenode")
def namenode_fixture(sqlite_url: str, start_namenodes: StartNamenodes) -> NamenodeProcess:
    """One real namenode process on a fresh embedded store, superuser `hdfs`."""
    return start_namenodes(sqlite_url)[0]


@pytest.fixture(name="namenode_any_backend")
def namenode_any_backend_fixture(db_url: str, start_namenodes: StartNamenodes) -> NamenodeProcess:
    """A real namenode process on each backend (SQLite, MariaDB), superuser `hdfs`."""
    return start_namenodes(db_url)[0]
