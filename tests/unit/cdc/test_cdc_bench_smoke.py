"""`python -m bench.cdc --quick` runs end to end and writes its report (the harness, not the numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.worker_launcher import worker_environment


@pytest.mark.slow
def test_the_cdc_benchmark_runs_and_reports(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "cdc", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=worker_environment(),
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    (jsonl,) = tmp_path.glob("cdc-*.jsonl")
    (record,) = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert record["backend"] == "sqlite"
    assert record["events"] > 0 and record["backlog_events"] >= 300
    assert record["capture_events_per_s"] > 0 and record["lag_ms_p50"] > 0
    assert "| sqlite |" in finished.stdout
