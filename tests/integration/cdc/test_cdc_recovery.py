"""kill -9 of the CDC service mid-stream, a consumer restarting from its last position, retention.

Writers keep committing while the service is killed with SIGKILL and started again on its state
directory; a subscriber that was reading reconnects by itself. Everything committed must arrive once,
with dense positions (nothing lost, nothing doubled), and a second consumer starting from a position
the first one saved must see exactly the rest of the stream.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.cdc import CdcProcess, check_stream, collect_until, wait_for_log
from support.namespace_harness import SUPERUSER, format_store, open_namespace
from support.worker_launcher import worker_environment

import hopsfs.cdc
from hopsfs.cdc_events import ChangeRecord
from namenode.engine.namespace import Namespace

SENTINEL = "/cdc-sentinel"


def _keep_writing(namespace: Namespace, stop: threading.Event, errors: list[BaseException]) -> None:
    index = 0
    try:
        while not stop.is_set():
            directory = f"/load/d{index % 7}"
            namespace.mkdirs(SUPERUSER, directory)
            namespace.create(SUPERUSER, f"{directory}/f{index}")
            if index % 4 == 3:
                namespace.rename(SUPERUSER, f"{directory}/f{index}", f"/load/renamed-{index}")
            if index % 9 == 8:
                namespace.delete(SUPERUSER, f"/load/d{(index + 1) % 7}", recursive=True)
            index += 1
            time.sleep(0.002)
    except BaseException as error:
        errors.append(error)


def _read_into(
    subscription: hopsfs.cdc.Subscription, found: list[ChangeRecord], failures: list[BaseException]
) -> None:
    try:
        found.extend(collect_until(subscription, lambda event: event.path == SENTINEL, timeout_s=120))
    except BaseException as error:
        failures.append(error)


def test_kill_9_mid_stream_then_restart_loses_and_doubles_nothing(db_url: str, tmp_path: Path) -> None:
    format_store(db_url)
    namespace = open_namespace(db_url)
    state = tmp_path / "cdc"
    cdc = CdcProcess.start(db_url, state)
    port = cdc.port
    try:
        stop, errors, failures = threading.Event(), [], []
        found: list[ChangeRecord] = []
        subscription = hopsfs.cdc.subscribe(cdc.url, 1, idle_timeout_s=60)
        reader = threading.Thread(target=_read_into, args=(subscription, found, failures))
        writer = threading.Thread(target=_keep_writing, args=(namespace, stop, errors))
        writer.start()
        reader.start()
        time.sleep(1.0)
        assert hopsfs.cdc.status(cdc.url).last_position > 0, "nothing captured before the kill"
        cdc.kill()  # SIGKILL while capturing, trimming and streaming
        time.sleep(0.5)  # writers go on committing meanwhile
        cdc = CdcProcess.start(db_url, state, port=port)
        time.sleep(1.0)
        stop.set()
        writer.join()
        namespace.mkdirs(SUPERUSER, SENTINEL)
        reader.join(150)
        assert not errors and not failures, (errors, failures)
        problems = check_stream(found, db_url)
        assert not problems, "\n".join(problems[:30])
        assert len(found) > 50, "the writers committed too little for the test to mean anything"

        # A consumer that saved a position resumes from it and sees exactly the rest.
        middle = found[len(found) // 2].position
        resumed = collect_until(
            hopsfs.cdc.subscribe(cdc.url, middle, idle_timeout_s=30), lambda event: event.path == SENTINEL
        )
        assert [event.position for event in resumed] == [event.position for event in found[middle - 1 :]]
        assert resumed == found[middle - 1 :]
    finally:
        cdc.stop()
        namespace.close()


def test_a_subscriber_behind_retention_gets_out_of_range(sqlite_url: str, tmp_path: Path) -> None:
    format_store(sqlite_url)
    namespace = open_namespace(sqlite_url)
    cdc = CdcProcess.start(sqlite_url, tmp_path / "cdc", extra_arguments=("--retention-events", "10"))
    try:
        for index in range(30):
            namespace.mkdirs(SUPERUSER, f"/r/d{index}")
        status = wait_for_log(cdc.url, 31)
        deadline = time.monotonic() + 20
        while status.first_position == 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            status = hopsfs.cdc.status(cdc.url)
        assert status.first_position == status.last_position - 9, status
        with pytest.raises(hopsfs.cdc.PositionOutOfRange, match="no longer retained: the oldest event is at"):
            next(iter(hopsfs.cdc.subscribe(cdc.url, 1)))
        oldest = next(iter(hopsfs.cdc.subscribe(cdc.url, hopsfs.cdc.FROM_OLDEST)))
        assert oldest.position == status.first_position
        tail = subprocess.run(
            [sys.executable, "-m", "hopsfs.cli.main", "cdc", "tail", "--url", cdc.url, "--from", "1"],
            capture_output=True,
            text=True,
            env=worker_environment(),
            timeout=60,
        )
        assert tail.returncode == 1
        assert "PositionOutOfRange" in tail.stderr and "no longer retained" in tail.stderr
    finally:
        cdc.stop()
        namespace.close()
