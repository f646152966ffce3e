"""Concurrent writers on both backends: the stream holds every committed change exactly once, in
per-inode order, and nothing from a rolled-back transaction.

Writers are threads driving the engine in-process on one store (each op its own transaction; on
MariaDB they contend on shared directories and hit real deadlocks and retries), while a real
`hopsfs cdc` process captures. Rolled-back transactions come two ways: engine operations whose
transaction fails after it inserted its change-log rows (a seeded fault on the statement after them,
then the engine's own retry), and raw transactions that insert a marker row and roll back.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.cdc import CdcProcess, check_stream, collect_until
from support.faults import FaultPlan, inject_faults
from support.namespace_harness import SUPERUSER, format_store, open_namespace

import hopsfs.cdc
from hopsfs.errors import HopsFSError
from hopsfs.types import Caller, RetryKey
from namenode.engine.namespace import Namespace

WRITERS = 4
ROUNDS = 25
ROLLBACK_MARKER = "ROLLED_BACK"
SENTINEL = "/cdc-sentinel"


def _writer(namespace: Namespace, index: int, errors: list[BaseException]) -> None:
    """Own subtree plus shared directories: creates, renames (files and directories), xattrs,
    permission changes on a shared inode, deletes."""
    caller = Caller(SUPERUSER.user, SUPERUSER.groups, app_id=f"writer-{index}")
    home = f"/w{index}"
    try:
        namespace.mkdirs(caller, f"{home}/a")
        for round_index in range(ROUNDS):
            retry = RetryKey(f"writer-{index:02d}-client".encode()[:16], round_index)
            namespace.create(caller, f"{home}/a/f{round_index}", retry=retry)
            namespace.create(caller, f"/shared/s{index}-{round_index}")
            namespace.set_xattr(caller, f"{home}/a/f{round_index}", "user.round", str(round_index).encode())
            namespace.set_permission(caller, "/shared", 0o755 if round_index % 2 else 0o775)
            if round_index % 3 == 0:
                namespace.rename(caller, f"{home}/a/f{round_index}", f"/shared/moved-{index}-{round_index}")
            if round_index % 5 == 4:
                namespace.rename(caller, f"{home}/a", f"{home}/b{round_index}")
                namespace.mkdirs(caller, f"{home}/a")
                namespace.delete(caller, f"{home}/b{round_index}", recursive=True)
    except BaseException as error:  # reported by the test, not swallowed
        errors.append(error)


def _rolled_back_marker_rows(url: str, count: int) -> None:
    """Transactions that insert a change-log row and roll back: none may reach the stream."""
    engine = create_engine(url)
    try:
        for index in range(count):
            with engine.connect() as connection:
                transaction = connection.begin()
                connection.execute(
                    text(
                        "INSERT INTO change_log (operation, inode_id, logical_time, parent_id, name, kind,"
                        " user_name, time_ms) VALUES (:operation, :inode, 1, 1, :name, 1, 'x', 0)"
                    ),
                    {"operation": ROLLBACK_MARKER, "inode": 10_000_000 + index, "name": f"gone-{index}"},
                )
                transaction.rollback()
            time.sleep(0.01)
    finally:
        engine.dispose()


def test_concurrent_writers_stream_every_committed_change_once_in_order(db_url: str, tmp_path: Path) -> None:
    format_store(db_url)
    namespace = open_namespace(db_url)
    cdc = CdcProcess.start(db_url, tmp_path / "cdc")
    try:
        namespace.mkdirs(SUPERUSER, "/shared")
        errors: list[BaseException] = []
        plan = FaultPlan(seed=8, probability=0.03)
        with inject_faults(namespace.store, plan):
            threads = [threading.Thread(target=_writer, args=(namespace, i, errors)) for i in range(WRITERS)]
            threads.append(threading.Thread(target=_rolled_back_marker_rows, args=(db_url, 20)))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert not errors, errors
        assert sum(plan.injected.values()) > 0, "the fault plan rolled back no transaction"
        namespace.mkdirs(SUPERUSER, SENTINEL)
        events = collect_until(
            hopsfs.cdc.subscribe(cdc.url, hopsfs.cdc.FROM_OLDEST, idle_timeout_s=30),
            lambda event: event.path == SENTINEL,
        )
        assert not [event for event in events if event.operation == ROLLBACK_MARKER]
        problems = check_stream(events, db_url)
        assert not problems, "\n".join(problems[:30])
        if db_url.startswith("sqlite"):
            sequences = [event.sequence for event in events]
            assert sequences == sorted(sequences), "SQLite capture follows rowid (commit) order"
        metrics = urllib.request.urlopen(cdc.metrics_url, timeout=10).read().decode()
        assert "hopsfs_cdc_logical_time_regressions_total 0" in metrics
        assert "hopsfs_cdc_logical_time_gaps_total 0" in metrics
        assert "hopsfs_cdc_unresolved_paths_total 0" in metrics
        assert "Traceback" not in cdc.output()
    finally:
        cdc.stop()
        namespace.close()


def test_a_subscription_filters_by_prefix_and_operation(db_url: str, tmp_path: Path) -> None:
    format_store(db_url)
    namespace = open_namespace(db_url)
    cdc = CdcProcess.start(db_url, tmp_path / "cdc")
    try:
        namespace.mkdirs(SUPERUSER, "/in/deep")
        namespace.mkdirs(SUPERUSER, "/out")
        namespace.create(SUPERUSER, "/in/deep/x")
        namespace.create(SUPERUSER, "/out/y")
        namespace.rename(SUPERUSER, "/out/y", "/in/y")  # moves into the prefix: delivered
        namespace.rename(SUPERUSER, "/in", "/moved")  # an ancestor-or-self rename: delivered
        namespace.create(SUPERUSER, "/moved/deep/z")  # no longer under /in: not delivered
        namespace.mkdirs(SUPERUSER, SENTINEL)
        everything = collect_until(
            hopsfs.cdc.subscribe(cdc.url, 1, idle_timeout_s=30), lambda event: event.path == SENTINEL
        )
        under_in = hopsfs.cdc.subscribe(cdc.url, 1, prefix="/in/", idle_timeout_s=5)
        shown = []
        try:
            for event in under_in:
                shown.append((event.operation, event.path))
                if under_in.next_position and under_in.next_position > everything[-1].position:
                    break
        except TimeoutError:
            pass
        assert shown == [
            ("MKDIR", "/in"),
            ("MKDIR", "/in/deep"),
            ("CREATE", "/in/deep/x"),
            ("RENAME", "/in/y"),
            ("RENAME", "/moved"),
        ]
        creates = hopsfs.cdc.subscribe(cdc.url, 1, operations=["create"], idle_timeout_s=30)
        found = collect_until(creates, lambda event: event.path == "/moved/deep/z")
        assert [event.path for event in found] == ["/in/deep/x", "/out/y", "/moved/deep/z"]
    finally:
        cdc.stop()
        namespace.close()


def test_bad_subscriptions_get_clear_errors(sqlite_url: str, tmp_path: Path) -> None:
    format_store(sqlite_url)
    cdc = CdcProcess.start(sqlite_url, tmp_path / "cdc")
    try:
        with pytest.raises(HopsFSError, match="absolute"):
            list(hopsfs.cdc.subscribe(cdc.url, 1, prefix="relative/path"))
        with pytest.raises(hopsfs.cdc.PositionOutOfRange, match="past the log's end"):
            list(hopsfs.cdc.subscribe(cdc.url, 1000))
        with pytest.raises(hopsfs.cdc.LogReplaced):
            list(hopsfs.cdc.subscribe(cdc.url, 1, log_id="not-this-log"))
    finally:
        cdc.stop()
