"""`python -m bench cdc --load spotify --quick` runs the bench harness's Spotify mix against a cluster
with its CDC service and reports lag figures (the benchmark works; the numbers go in bench/results)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.worker_launcher import worker_environment

MIX_CHANGES = {"CREATE", "RENAME"}  # logged by the mix's creates (2.7%) and renames (1.3%)


@pytest.mark.slow
def test_the_spotify_load_reports_lag_and_rates(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "cdc", "--load", "spotify", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=worker_environment(),
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    (jsonl,) = tmp_path.glob("cdc-spotify-*.jsonl")
    (record,) = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert record["load"] == "spotify" and record["backend"] == "sqlite"
    assert record["harness_ops_per_s"] > 0 and record["harness_write_ops_per_s"] > 0
    assert set(record["operations"]) >= MIX_CHANGES
    assert record["markers"] > 0 and 0 < record["lag_ms_p50"] <= record["lag_ms_p99"]
    assert 0 < record["event_lag_ms_p50"] <= record["event_lag_ms_p99"]
    assert record["committed_events_per_s"] > 0 and record["captured_events_per_s"] > 0
    (markdown,) = tmp_path.glob("cdc-spotify-*.md")
    assert "| sqlite | 2 | 1 |" in markdown.read_text()
