"""The storage benchmark runs end to end on a tiny replica."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.storage.__main__ import main


def test_storage_benchmark_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--size-mib", "1", "--directory", str(tmp_path)]) == 0
    assert "| read with checksums, verified |" in capsys.readouterr().out
