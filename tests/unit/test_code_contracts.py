"""The tree keeps its own rules: import layering (import-linter) and lint (ruff) are part of the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=False)


def test_import_contracts_hold() -> None:
    executable = shutil.which("lint-imports")
    if executable is None:
        pytest.fail("lint-imports is missing: install the dev extra (pip install -e '.[dev]')")
    result = _run([executable])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_ruff_is_clean() -> None:
    result = _run([sys.executable, "-m", "ruff", "check", "."])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
