"""Crash safety: a writer process SIGKILLed mid-append or mid-finalize, then the store reopened.

Every replica found must be either being written with a verified prefix of its content, or finalized
and whole; every replica whose finalize returned must be finalized and whole; every replica whose
appends all returned must still hold all its bytes (pwrite reaches the kernel, which a SIGKILL does not
undo).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from replica_crash_writer import BLOCK_POOL_ID, replica_content

from datanode.storage import DEFAULT_REPLICA_SPEC, ReplicaState, ReplicaStore, StoreConfig
from hopsfs.protocol.dtp_checksum import compute_checksums

REPOSITORY = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("replica_crash_writer.py")
SEED = int(os.environ.get("HOPSFS_CRASH_SEED", "20240607"))


def _run_until_killed(root: Path, mode: str, delay_s: float) -> list[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), mode], stdout=subprocess.PIPE, text=True, env=environment
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    if mode == "timer":
        time.sleep(delay_s)
        child.send_signal(signal.SIGKILL)
    output, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, f"the writer ended with {child.returncode}"
    return output.splitlines()


def _check_reopened_store(root: Path, lines: list[str]) -> None:
    appended = {int(line.split()[1]) for line in lines if line.startswith("appended")}
    finalized = {int(line.split()[1]) for line in lines if line.startswith("finalized")}
    config = StoreConfig((root / "volume0", root / "volume1"), BLOCK_POOL_ID, replica_bytes_expected=1 << 20)
    store = ReplicaStore.open(config)
    try:
        report = {record.block_id: record for record in store.block_report()}
        assert finalized <= report.keys()
        for block_id, record in report.items():
            content = replica_content(block_id)
            assert store.verify(block_id) is None, f"blk_{block_id} fails verification"
            if record.state is ReplicaState.FINALIZED or block_id in appended:
                assert record.length == len(content), f"blk_{block_id} lost bytes"
            if block_id in finalized:
                assert record.state is ReplicaState.FINALIZED
            with store.open_for_read(block_id, 1) as reader:
                stored = reader.read(0, record.length).data if record.length else b""
            assert stored == content[: record.length], f"blk_{block_id} holds other bytes"
        # The store keeps working after recovery: a replica being written continues from its recovered length.
        for block_id, record in report.items():
            if record.state is ReplicaState.RBW:
                rest = replica_content(block_id)[record.length :]
                store.append(block_id, 1, record.length, rest, compute_checksums(DEFAULT_REPLICA_SPEC, rest))
                store.finalize(block_id, 1)
    finally:
        store.close()


@pytest.mark.parametrize(
    "mode",
    ["rename-before-1", "rename-after-1", "rename-before-2", "rename-after-2", "rename-after-5"],
)
def test_kill_mid_finalize(tmp_path: Path, mode: str) -> None:
    _check_reopened_store(tmp_path, _run_until_killed(tmp_path, mode, 0))


def test_kill_mid_append(tmp_path: Path) -> None:
    generator = random.Random(SEED)
    modes = [f"pwrite-{generator.choice(['before', 'after'])}-{generator.randint(3, 60)}" for _ in range(3)]
    for index, mode in enumerate(modes):
        root = tmp_path / str(index)
        _check_reopened_store(root, _run_until_killed(root, mode, 0))


def test_kill_at_random_times_then_again_after_recovery(tmp_path: Path) -> None:
    generator = random.Random(SEED + 1)
    # The same directory each round: recovery must cope with what earlier crashes and recoveries left.
    for round_index in range(3):
        delay_s = generator.uniform(0.0, 0.25)
        lines = _run_until_killed(tmp_path / "shared", "timer", delay_s)
        _check_reopened_store(tmp_path / "shared", lines)
        del round_index
