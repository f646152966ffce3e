"""The benchmark harness against real hopsfs processes.

1. A namenode process (the suite's `namenode` fixture), measured through two clients at once: the
   native hopsfs client (`hopsfs://`) and hdfs-native's fsspec driver (`hdfs://`), with the Spotify
   mix and the mdtest phases at 1 and 2 client processes, beside the local-disk baseline. The
   namespace is checked with fsck afterwards.
2. `hopsfs bench` with no target: it starts a cluster of its own and runs a short suite; data
   workloads run when the client has data streams and are skipped with the reason otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness_runs import CLIENT_COUNTS, MDTEST_FILES, QUICK, read_records, rows_of, run_harness
from support.cluster import NamenodeProcess
from support.fsck import assert_consistent

from bench.harness.targets.hopsfs_target import client_has_data_streams
from hopsfs.cli.main import main as hopsfs_main

SUPERUSER = "hdfs"  # the fixture's namenode formats its store with this superuser


@pytest.mark.timeout(240)
def test_metadata_workloads_through_the_native_client_and_hdfs_native(
    namenode: NamenodeProcess, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HADOOP_USER_NAME", SUPERUSER)  # hdfs-native's user; client processes inherit it
    native = f"hopsfs://{SUPERUSER}@{namenode.host}:{namenode.port}/bench"
    foreign = f"hdfs://{namenode.host}:{namenode.port}/bench"
    status, records = run_harness(
        tmp_path / "out", *QUICK, "--workloads", "spotify,mdtest", "--target", native, "--target", foreign
    )
    assert {c["status"] for c in records["configuration"]} == {"ok"}
    for target in (f"hopsfs {namenode.host}:{namenode.port}", "fsspec hdfs"):
        for clients in CLIENT_COUNTS:
            for phase in ("create", "stat", "rename", "delete"):
                [row] = rows_of(
                    records, target=target, workload="mdtest", phase=phase, operation=phase, clients=clients
                )
                assert (row["ops"], row["errors"]) == (MDTEST_FILES * clients, 0), row
            mix = rows_of(records, target=target, workload="spotify", clients=clients)
            assert [row["operation"] for row in mix if row["errors"]] == []
            [total] = [row for row in mix if row["operation"] == "all"]
            assert total["ops"] > 0 and total["ratio_ops_per_s_to_local"] > 0
    native_mix = rows_of(records, target=f"hopsfs {namenode.host}:{namenode.port}", workload="spotify")
    native_unsupported = {row["operation"] for row in native_mix if row["unsupported"]} - {"all"}
    # The native client does every metadata call of the mix; reads need its data streams.
    assert native_unsupported == (set() if client_has_data_streams() else {"read"})
    foreign_mix = rows_of(records, target="fsspec hdfs", workload="spotify")
    assert {row["operation"] for row in foreign_mix if row["operation"] == "read" and row["ops"]} == {"read"}
    assert status == 0
    assert_consistent(sqlite_url)


@pytest.mark.timeout(240)
def test_hopsfs_bench_starts_its_own_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    arguments = [*QUICK, "--workloads", "spotify,mdtest,small-files", "--clients", "1", "--small-files", "3"]
    arguments += ["--namenodes", "1"]
    status = hopsfs_main(["bench", *arguments, "--out", str(out), "--no-plots"])
    printed = capsys.readouterr().out
    assert "starting a hopsfs cluster" in printed and "report:" in printed
    records = read_records(out)
    by_workload = {c["workload"]: c for c in records["configuration"] if c["target_kind"] == "hopsfs"}
    assert by_workload["spotify"]["status"] == by_workload["mdtest"]["status"] == "ok"
    small = by_workload["small-files"]
    if client_has_data_streams():
        assert small["status"] == "ok"
        [written] = rows_of(
            records, workload="small-files", phase="write", operation="write", target_kind="hopsfs"
        )
        assert written["ops"] > 0 and written["errors"] == 0
    else:
        assert small["status"] == "skipped" and "data streams" in small["reason"]
    assert status == 0
