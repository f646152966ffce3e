"""Kill -9 a namenode while clients write through it, then restart it: no committed change is lost,
no operation runs twice, and the namespace stays consistent (fsck + change-log replay), on both
backends.

Four client threads each own a directory and repeat create / rename / mkdir / delete steps through a
URL that lists two namenodes. Namenode A is killed while they run and started again on its port. Every
step a client saw succeed must be in the final tree exactly as the client's own log says; retried
at-most-once calls must be answered by the retry cache (a create retried after A died must not report
FileAlreadyExists, a delete must not report False).
"""

from __future__ import annotations

import threading
import time

import pytest
from support.changelog_replay import assert_change_log_matches
from support.cluster import StartNamenodes, wait_until
from support.fsck import assert_consistent

import hopsfs
from hopsfs.errors import HopsFSError

WRITERS = 4
# Writers run until told to stop, so none can finish before the kill; this bounds them otherwise.
STEPS_MAX = 1_000_000
STEPS_BEFORE_KILL = 20
STEPS_AFTER_RESTART = 20


class Writer(threading.Thread):
    """Creates, renames and deletes files in its own directory; remembers what should exist."""

    def __init__(self, url: str, index: int) -> None:
        super().__init__(name=f"writer-{index}")
        self.url = url
        self.index = index
        self.expected: set[str] = set()
        self.failures: list[str] = []
        self.steps_done = 0
        self.stop = threading.Event()

    def run(self) -> None:
        home = f"/w{self.index}"
        with hopsfs.connect(self.url, user="hdfs", attempts_max=12) as client:
            for step in range(STEPS_MAX):
                if self.stop.is_set():
                    return
                try:
                    self._step(client, home, step)
                except HopsFSError as error:
                    self.failures.append(f"step {step}: {type(error).__name__}: {error}")
                self.steps_done = step + 1

    def _step(self, client: hopsfs.Client, home: str, step: int) -> None:
        kind = step % 4
        name = f"{home}/f{step}"
        if kind == 0:
            client.touch(name)
            self.expected.add(name)
        elif kind == 1:
            source = f"{home}/f{step - 1}"
            client.rename(source, f"{home}/r{step}")
            self.expected.discard(source)
            self.expected.add(f"{home}/r{step}")
        elif kind == 2:
            client.mkdirs(f"{home}/d{step}")
            self.expected.add(f"{home}/d{step}")
        else:
            deleted = client.delete(f"{home}/r{step - 2}")
            if not deleted:
                self.failures.append(f"step {step}: delete of {home}/r{step - 2} answered False")
            self.expected.discard(f"{home}/r{step - 2}")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_killing_a_namenode_mid_stream_loses_nothing_and_runs_nothing_twice(
    backend: str, request: pytest.FixtureRequest, start_namenodes: StartNamenodes
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "mysql_url")
    first, second = start_namenodes(url, 2)
    cluster_url = f"hopsfs://127.0.0.1:{first.port},127.0.0.1:{second.port}"
    with hopsfs.connect(cluster_url, user="hdfs") as admin:
        for index in range(WRITERS):
            admin.mkdirs(f"/w{index}")
    writers = [Writer(cluster_url, index) for index in range(WRITERS)]
    for writer in writers:
        writer.start()
    assert wait_until(lambda: min(writer.steps_done for writer in writers) >= STEPS_BEFORE_KILL, 60)
    first.kill()
    progress_at_kill = [writer.steps_done for writer in writers]
    assert all(writer.is_alive() for writer in writers), "a writer stopped before the kill"
    time.sleep(0.3)
    restarted = start_namenodes(url, format=False, port=first.port)[0]
    assert wait_until(
        lambda: all(
            writer.steps_done >= done + STEPS_AFTER_RESTART
            for writer, done in zip(writers, progress_at_kill, strict=True)
        ),
        120,
    )
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        writer.join(120)
        assert not writer.is_alive()
    assert [failure for writer in writers for failure in writer.failures] == []
    with hopsfs.connect(cluster_url, user="hdfs") as admin:
        for writer in writers:
            found = {entry.path for entry in admin.walk(f"/w{writer.index}")}
            assert found == writer.expected
    for namenode in (first, second, restarted):
        namenode.stop()  # nothing may write while fsck reads
    assert_consistent(url)
    assert_change_log_matches(url)
