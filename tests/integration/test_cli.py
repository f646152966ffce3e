"""The `hopsfs` command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from namenode import schema


def _hopsfs(*arguments: str, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HOME": str(home), "HADOOP_USER_NAME": "hdfs"}
    environment.pop("HOPSFS_METADATA_URL", None)
    environment.pop("HOPSFS_DATA_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "hopsfs.cli.main", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def _up_until_serving(home: Path) -> str:
    """Run `hopsfs up --port 0` in the default data dir until it serves, SIGTERM it; its output."""
    environment = {**os.environ, "HOME": str(home), "HADOOP_USER_NAME": "hdfs"}
    environment.pop("HOPSFS_METADATA_URL", None)
    environment.pop("HOPSFS_DATA_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "hopsfs.cli.main", "up", "--port", "0", "--namenodes", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "hopsfs up: serving hopsfs://127.0.0.1:" in line:
            process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0, lines
    return "".join(lines)


def test_up_formats_once_then_reopens_in_the_default_data_dir(tmp_path: Path) -> None:
    first = _up_until_serving(tmp_path)
    assert "formatted a new namespace" in first and "superuser hdfs" in first
    assert (tmp_path / ".hopsfs" / "metadata.db").exists()
    second = _up_until_serving(tmp_path)
    assert "formatted" not in second and "hopsfs up: stopping" in second


def test_format_refuses_a_formatted_store_with_one_line(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "state")
    assert _hopsfs("format", "--data-dir", data_dir, home=tmp_path).returncode == 0
    refused = _hopsfs("format", "--data-dir", data_dir, home=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0
    assert "AlreadyFormatted" in refused.stderr and "--force" in refused.stderr
    forced = _hopsfs("format", "--data-dir", data_dir, "--force", "--superuser", "admin", home=tmp_path)
    assert forced.returncode == 0 and "superuser admin" in forced.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("up", "--metadata-url", "postgresql://nowhere/db"), "unsupported metadata backend"),
        (("fsck", "--metadata-url", "sqlite:///{tmp}/empty.db"), "not formatted"),
        (("up", "--metadata-url", "not a url"), "not a database URL"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_nonzero_exit(
    tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    result = _hopsfs(*(argument.format(tmp=tmp_path) for argument in arguments), home=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_fsck_reports_a_healthy_namespace_and_finds_an_orphan(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    assert _hopsfs("format", "--data-dir", str(data_dir), home=tmp_path).returncode == 0
    healthy = _hopsfs("fsck", "--data-dir", str(data_dir), home=tmp_path)
    assert healthy.returncode == 0 and "healthy" in healthy.stdout
    with sqlite3.connect(data_dir / "metadata.db") as connection:
        connection.execute(
            "INSERT INTO inodes SELECT 4242, 4242, 'lost', 999, kind, permission, owner, group_name,"
            " modification_time, access_time, size, replication, block_size, 0, 0, storage_policy,"
            " under_construction, file_stored_in_db, xattr_count, symlink_target, client_name,"
            " subtree_lock_owner, subtree_lock_expiry_ms FROM inodes WHERE id = 1"
        )
    broken = _hopsfs("fsck", "--data-dir", str(data_dir), home=tmp_path)
    assert broken.returncode == 1
    assert "orphan: inode 999" in broken.stdout


def test_upgrade_brings_a_version_1_store_forward(tmp_path: Path) -> None:
    """A store as hopsfs 1 wrote it (no retry cache) is refused with advice, then upgraded in place."""
    data_dir = tmp_path / "state"
    assert _hopsfs("format", "--data-dir", str(data_dir), home=tmp_path).returncode == 0
    with sqlite3.connect(data_dir / "metadata.db") as connection:
        connection.execute("DROP TABLE retry_cache")
        for table in schema.BLOCK_MANAGER_TABLES:
            connection.execute(f"DROP TABLE {table.name}")
        connection.execute("DELETE FROM id_counters WHERE name = 'datanode_command'")
        connection.execute("UPDATE settings SET value = '1' WHERE name = 'schema_version'")
    refused = _hopsfs("fsck", "--data-dir", str(data_dir), home=tmp_path)
    assert refused.returncode == 1
    assert "schema version 1" in refused.stderr and "run `hopsfs upgrade` first" in refused.stderr
    upgraded = _hopsfs("upgrade", "--data-dir", str(data_dir), home=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from schema version 1 to {schema.SCHEMA_VERSION}" in upgraded.stdout
    assert _hopsfs("fsck", "--data-dir", str(data_dir), home=tmp_path).returncode == 0
    with sqlite3.connect(data_dir / "metadata.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        counters = {row[0] for row in connection.execute("SELECT name FROM id_counters")}
    assert {table.name for table in schema.BLOCK_MANAGER_TABLES} <= tables
    assert set(schema.ID_COUNTER_NAMES) <= counters
    again = _hopsfs("upgrade", "--data-dir", str(data_dir), home=tmp_path)
    assert f"already at schema version {schema.SCHEMA_VERSION}" in again.stdout
