"""Smoke test of bench.listing at a tiny size: both ways locate every file, and a run renders both
rates with the baseline's ratio."""

from __future__ import annotations

from pathlib import Path

from bench.listing.__main__ import main, one_snapshot, per_file, populate


def test_both_ways_locate_every_file(tmp_path: Path) -> None:
    namespace = populate(f"sqlite:///{tmp_path}/listing.db", 30)
    try:
        assert one_snapshot(namespace) == per_file(namespace) == 30
    finally:
        namespace.close()


def test_a_run_writes_its_report(tmp_path: Path) -> None:
    assert main(["--files", "20", "--duration-s", "0.05", "--out", str(tmp_path)]) == 0
    (report,) = tmp_path.glob("listing-*.md")
    text = report.read_text()
    assert "| one snapshot |" in text and "| per file (baseline) |" in text and "1.0x" in text
