"""Smoke runs of the benchmark harness end to end (real client processes, real files): every workload
on a local directory (os) and on fsspec memory://, beside the local-disk baseline, through the
command line; then the report is read back and checked for completeness and consistency.

Counts are checked exactly where a workload fixes them (mdtest: N files per client per phase;
small files; big-file chunks); the mix only for shape (every operation drawn, none failing). Speed
is never asserted: the machine is shared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness_runs import (
    BIG_FILE_BYTES,
    CHUNK_BYTES,
    CLIENT_COUNTS,
    MDTEST_DIRECTORIES,
    MDTEST_FILES,
    QUICK,
    SMALL_FILES,
    rows_of,
    run_harness,
)

from bench.harness.__main__ import main
from bench.harness.distributions import SPOTIFY_MIX
from bench.harness.workloads import WORKLOADS


@pytest.fixture(name="directory")
def directory_fixture(tmp_path: Path) -> Path:
    """An empty directory to measure as a target (the run must leave it empty again)."""
    directory = tmp_path / "target"
    directory.mkdir()
    return directory


def check_fixed_counts(records: dict[str, list[dict[str, Any]]], target: str) -> None:
    """The phases whose operation counts the workload fixes ran exactly those operations."""
    for clients in CLIENT_COUNTS:
        for phase in ("create", "stat", "rename", "delete"):
            [row] = rows_of(
                records, target=target, workload="mdtest", phase=phase, clients=clients, operation=phase
            )
            assert (row["ops"], row["errors"]) == (MDTEST_FILES * clients, 0), row
        [listing] = rows_of(
            records, target=target, workload="mdtest", phase="list", operation="list", clients=clients
        )
        assert listing["ops"] == MDTEST_DIRECTORIES * clients
        for phase in ("write", "read"):
            [small] = rows_of(
                records, target=target, workload="small-files", phase=phase, operation=phase, clients=clients
            )
            assert small["ops"] == SMALL_FILES * clients and small["mb_per_s"] > 0
            [big] = rows_of(
                records, target=target, workload="big-files", phase=phase, operation=phase, clients=clients
            )
            assert big["ops"] == BIG_FILE_BYTES // CHUNK_BYTES * clients
            assert big["payload_bytes"] == BIG_FILE_BYTES * clients


def check_ratios(records: dict[str, list[dict[str, Any]]]) -> None:
    """Every measured row carries its ratio to the baseline row of the same configuration."""
    baseline = {
        (row["workload"], row["phase"], row["clients"], row["operation"]): row
        for row in records["operation"]
        if row["baseline"]
    }
    for row in records["operation"]:
        local = baseline.get((row["workload"], row["phase"], row["clients"], row["operation"]))
        if row["ops"] and local and local["ops"]:
            assert row["ratio_ops_per_s_to_local"] == pytest.approx(
                row["ops_per_s"] / local["ops_per_s"], rel=0.01
            )
            assert row["ratio_p50_to_local"] == pytest.approx(
                row["p50_us"] / local["p50_us"], rel=0.01, abs=0.001
            )
        if row["baseline"] and row["ops"]:
            assert row["ratio_ops_per_s_to_local"] == 1.0
        if row["ops"]:
            assert 0 < row["p50_us"] <= row["p90_us"] <= row["p99_us"] <= row["max_us"]


@pytest.mark.timeout(180)
def test_every_workload_on_a_directory_and_on_memory(tmp_path: Path, directory: Path) -> None:
    status, records = run_harness(
        tmp_path / "out",
        *QUICK,
        "--target",
        str(directory),
        "--target",
        "memory://",
        "--baseline-dir",
        str(tmp_path),
    )
    assert status == 0
    [machine] = records["machine"]
    assert machine["cpu_count"] >= 1 and machine["memory_bytes"] > 0 and machine["kernel"]
    assert str(tmp_path) in machine["disks"] and machine["packages"]["fsspec"]
    configurations = records["configuration"]
    assert {(c["workload"], c["clients"], c["status"]) for c in configurations} == {
        (workload, clients, "ok") for workload in WORKLOADS for clients in CLIENT_COUNTS
    }
    assert len(configurations) == len(WORKLOADS) * len(CLIENT_COUNTS) * 3  # baseline, directory, memory
    labels = {c["target"] for c in configurations}
    [directory_label] = [label for label in labels if label.startswith("os ")]
    for label in (directory_label, "fsspec memory", "local disk"):
        check_fixed_counts(records, label)
    check_ratios(records)
    mix_rows = rows_of(records, workload="spotify", target="fsspec memory", clients=2)
    drawn = {row["operation"] for row in mix_rows} - {"all"}
    assert {"read", "stat_file", "ls_dir"} <= drawn <= {operation for operation, _ in SPOTIFY_MIX}
    assert all(row["errors"] == 0 for row in mix_rows)
    # fsspec's memory driver has no chown, chmod or replication: those draws are counted, with the reason.
    unsupported = {row["operation"] for row in mix_rows if row["unsupported"] and row["operation"] != "all"}
    assert "chown_dir" in unsupported
    assert unsupported <= {"chown_dir", "set_replication", "chmod_file", "chmod_dir"}
    assert all(
        row["unsupported_reason"] for row in mix_rows if row["unsupported"] and row["operation"] != "all"
    )
    markdown = next((tmp_path / "out").glob("harness-*.md")).read_text()
    assert "## spotify" in markdown and "## Operations a target cannot do" in markdown
    for png in ("throughput", "latency"):
        [plot] = (tmp_path / "out").glob(f"harness-*-{png}.png")
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(directory.iterdir()) == []  # the run removed what it made


@pytest.mark.timeout(120)
def test_a_shared_namespace_is_contended_and_refused_where_clients_cannot_share(
    tmp_path: Path, directory: Path
) -> None:
    status, records = run_harness(
        tmp_path / "out",
        *QUICK,
        "--workloads",
        "spotify,mdtest",
        "--namespace",
        "shared",
        "--target",
        str(directory),
        "--target",
        "memory://",
        "--no-plots",
    )
    assert status == 0
    by_target = {(c["target"], c["workload"], c["clients"]): c for c in records["configuration"]}
    for (target, _, _), configuration in by_target.items():
        if target == "fsspec memory":
            assert (
                configuration["status"] == "skipped" and "private to each process" in configuration["reason"]
            )
        else:
            assert configuration["status"] == "ok"
    # The list phase checks that each shared directory holds every client's files: no error means it did.
    for clients in CLIENT_COUNTS:
        [listing] = rows_of(
            records, baseline=False, workload="mdtest", phase="list", operation="list", clients=clients
        )
        assert (listing["ops"], listing["errors"]) == (MDTEST_DIRECTORIES * clients, 0)
        mix = rows_of(records, baseline=False, workload="spotify", clients=clients, operation="all")
        assert mix[0]["ops"] > 0 and mix[0]["errors"] == 0
    assert list(directory.iterdir()) == []


def test_bad_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--target", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 1
    assert "not a directory" in capsys.readouterr().err
    assert main(["--workloads", "nosuch", "--out", str(tmp_path)]) == 1
    assert "unknown workload" in capsys.readouterr().err
    assert main(["--big-file-size", "12 parsecs", "--out", str(tmp_path)]) == 1
    assert "not a size" in capsys.readouterr().err
    assert list(tmp_path.glob("harness-*")) == []
