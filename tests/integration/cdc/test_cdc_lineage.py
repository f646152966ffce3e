"""Provenance and lineage through the whole pipeline: reads aggregated by the namenode's ReadRecorder
and writes by the engine, both tagged with application ids, captured by a real `hopsfs cdc` process,
asked through the Python client and the `hopsfs lineage` / `hopsfs search` commands.

The reads are flushed after the writes they precede (as a namenode flushing every few seconds
would), so lineage must join reads and writes by time, not by arrival order.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.cdc import CdcProcess, collect_until, wait_for_log
from support.namespace_harness import SUPERUSER, format_store, open_namespace
from support.worker_launcher import worker_environment

import hopsfs.cdc
from hopsfs.paths import split_path
from hopsfs.types import Caller
from namenode.engine.namespace import Namespace
from namenode.engine.read_provenance import ReadRecorder

SENTINEL = "/cdc-sentinel"


def _read(recorder: ReadRecorder, namespace: Namespace, caller: Caller, path: str, times: int = 1) -> None:
    """What the namenode's getBlockLocations does for provenance: one record per read."""
    status = namespace.stat(caller, path)
    parent = namespace.stat(caller, "/" + "/".join(split_path(path)[:-1]))
    for _ in range(times):
        recorder.record(status.inode_id, parent.inode_id, split_path(path)[-1], caller.user, caller.app_id)


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hopsfs.cli.main", *arguments],
        capture_output=True,
        text=True,
        env=worker_environment(),
        timeout=60,
        check=False,
    )


def test_lineage_and_provenance_follow_apps_through_renames_and_deletes(
    sqlite_url: str, tmp_path: Path
) -> None:
    format_store(sqlite_url)
    namespace = open_namespace(sqlite_url)
    recorder = ReadRecorder()
    cdc = CdcProcess.start(sqlite_url, tmp_path / "cdc")
    first, second, other = (Caller("alice", (), app_id=app) for app in ("etl-1", "etl-2", "adhoc"))
    anonymous = Caller("bob", ())
    try:
        namespace.mkdirs(SUPERUSER, "/raw", permission=0o777)
        for directory in ("/out", "/final", "/x"):
            namespace.mkdirs(SUPERUSER, directory, permission=0o777)
        namespace.create(SUPERUSER, "/raw/a")
        namespace.create(SUPERUSER, "/raw/b")
        _read(recorder, namespace, first, "/raw/a", times=3)
        _read(recorder, namespace, first, "/raw/b")
        namespace.create(first, "/out/c")  # etl-1 read a and b, then wrote c
        _read(recorder, namespace, other, "/raw/a")  # adhoc reads and writes nothing
        _read(recorder, namespace, anonymous, "/raw/b")
        namespace.create(anonymous, "/x/unrelated")  # no app id: provenance, never lineage
        recorder.flush(namespace.store)  # reads reach the log after the write they precede
        _read(recorder, namespace, second, "/out/c")
        namespace.create(second, "/final/d")  # etl-2 read c, then wrote d
        recorder.flush(namespace.store)
        namespace.mkdirs(SUPERUSER, SENTINEL)
        events = collect_until(
            hopsfs.cdc.subscribe(cdc.url, 1, idle_timeout_s=30), lambda event: event.path == SENTINEL
        )
        wait_for_log(cdc.url, events[-1].position)

        upstream = hopsfs.cdc.lineage(cdc.url, "/final/d", depth_max=3)
        assert sorted((e.source_path, e.target_path, e.app_id, e.depth) for e in upstream) == [
            ("/out/c", "/final/d", "etl-2", 1),
            ("/raw/a", "/out/c", "etl-1", 2),
            ("/raw/b", "/out/c", "etl-1", 2),
        ]
        downstream = hopsfs.cdc.lineage(cdc.url, "/raw/a", upstream=False, depth_max=3)
        assert sorted((e.source_path, e.target_path, e.depth) for e in downstream) == [
            ("/out/c", "/final/d", 2),
            ("/raw/a", "/out/c", 1),
        ]
        assert hopsfs.cdc.lineage(cdc.url, "/x/unrelated") == []
        reads = [r for r in hopsfs.cdc.provenance(cdc.url, "/raw/a") if r.operation == "READ"]
        assert sorted((r.app_id, r.user, r.read_count) for r in reads) == [
            ("adhoc", "alice", 1),
            ("etl-1", "alice", 3),
        ]

        # A renamed directory keeps its files' lineage; a deleted file keeps its provenance.
        namespace.rename(SUPERUSER, "/out", "/published")
        namespace.delete(SUPERUSER, "/final/d")
        namespace.mkdirs(SUPERUSER, SENTINEL + "-2")
        events = collect_until(
            hopsfs.cdc.subscribe(cdc.url, 1, idle_timeout_s=30), lambda event: event.path == SENTINEL + "-2"
        )
        wait_for_log(cdc.url, events[-1].position)
        moved = hopsfs.cdc.lineage(cdc.url, "/published/c", upstream=False)
        assert [(e.source_path, e.target_path) for e in moved] == [("/published/c", "/final/d")]
        history = hopsfs.cdc.provenance(cdc.url, "/final/d")
        assert [(r.operation, r.user, r.app_id) for r in history] == [
            ("DELETE", "root", ""),
            ("CREATE", "alice", "etl-2"),
        ]

        shown = _cli("lineage", "/published/c", "--downstream", "--url", cdc.url)
        assert shown.returncode == 0, shown.stderr
        assert "/published/c -> /final/d (app etl-2)" in shown.stdout
        found = _cli("search", "c", "--prefix", "/published", "--url", cdc.url)
        assert found.returncode == 0, found.stderr
        assert found.stdout.split()[-1] == "/published/c"
        missing = _cli("lineage", "/never/there", "--url", cdc.url)
        assert missing.returncode == 1 and "FileNotFound" in missing.stderr
    finally:
        cdc.stop()
        namespace.close()
