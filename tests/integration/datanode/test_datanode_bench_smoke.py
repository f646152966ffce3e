"""The datanode benchmark runs end to end on a tiny file (speed itself is measured in bench/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import main


def test_datanode_benchmark_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["datanode", "--size-mib", "2", "--block-mib", "1", "--replication", "1,2"]
    assert main([*arguments, "--directory", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for case in ("write, replication 1", "read (sendfile)", "read (pread + send)", "write, replication 2"):
        assert f"| {case} |" in out
