"""`hopsfs datanode` as a process: registration and reports, restart with its replicas, the block
scanner, /metrics, reregistration, namenode failover, clean stop, refusal of a foreign volume."""

from __future__ import annotations

import random
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from datanode_harness import (
    DatanodeProcess,
    DtpClient,
    read_request,
    wait_until,
    write_request,
    write_whole_block,
)
from support.fake_namenode_grpc import BLOCK_POOL_ID, FakeNamenode
from support.worker_launcher import worker_environment

from hopsfs.announce import DATANODE_METRICS
from hopsfs.protocol.proto import datatransfer_pb2 as dt

DATA = random.Random(33).randbytes(400_000)


def test_registration_reports_and_a_restart_that_keeps_every_replica(
    start_process: Callable[..., DatanodeProcess], fake_namenode: FakeNamenode
) -> None:
    datanode = start_process("dn1")
    (registration,) = fake_namenode.registrations
    assert registration.identity.datanodeUuid == datanode.uuid
    assert registration.identity.transferPort == datanode.port
    assert registration.identity.storageId.startswith("DS-")
    assert registration.storage.capacityBytes > 0
    write_whole_block(datanode.port, 11, 1, DATA)
    with DtpClient(datanode.port) as client:  # and one left being written
        client.start_write(write_request(12, 1))
        client.send_data(DATA[:5000], packet_bytes=5000)
        assert all(ack.ok for ack in client.collect_acks())
    fake_namenode.wait_for(lambda: fake_namenode.replicas_reported("received", 11))
    assert datanode.stop() == 0
    restarted = start_process("dn1")
    assert (restarted.uuid, fake_namenode.registrations[-1].identity.storageId) == (
        datanode.uuid,
        registration.identity.storageId,
    )
    report = fake_namenode.wait_for(
        lambda: [r for r in fake_namenode.block_reports if r.datanodeUuid == restarted.uuid][1:]
    )[0]
    replicas = {(r.blockId, r.generationStamp, r.numBytes, r.state) for r in report.replicas}
    assert replicas == {(11, 1, len(DATA), 1), (12, 1, 5000, 2)}
    with DtpClient(restarted.port) as reader:
        assert reader.read_bytes(11, 1, 0, len(DATA)) == DATA
        assert reader.read_bytes(12, 1, 0, 5000) == DATA[:5000]
    assert "Traceback" not in datanode.output + restarted.output


def test_the_scanner_finds_a_flipped_byte_reports_it_and_the_replica_is_refused(
    start_process: Callable[..., DatanodeProcess], fake_namenode: FakeNamenode, tmp_path: Path
) -> None:
    datanode = start_process("dn1", "--scan-interval-s", "0.2", "--scan-bytes-per-second", "100000000")
    write_whole_block(datanode.port, 21, 3, DATA)
    write_whole_block(datanode.port, 22, 3, DATA)
    (data_file,) = (tmp_path / "dn1").rglob("blk_21")
    with data_file.open("r+b") as stream:
        stream.seek(123_456)
        original = stream.read(1)
        stream.seek(123_456)
        stream.write(bytes([original[0] ^ 0x40]))
    fake_namenode.wait_for(lambda: 21 in fake_namenode.bad_blocks(), timeout_s=20)
    (report,) = fake_namenode.bad_replica_reports
    assert (report.blocks[0].generationStamp, report.blocks[0].poolId) == (3, BLOCK_POOL_ID)
    with DtpClient(datanode.port) as reader:
        refused = reader.read(read_request(21, 3, 0, 10))
        assert refused.response.status == dt.ERROR
        assert "not served" in refused.response.message
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(22, 3, 0, len(DATA)) == DATA  # the good replica is still served
    assert fake_namenode.bad_blocks() == [21]


def test_metrics_count_bytes_operations_and_errors(
    start_process: Callable[..., DatanodeProcess], fake_namenode: FakeNamenode
) -> None:
    datanode = start_process("dn1", "--metrics-port", "0")
    url = next(m.group(1) for line in datanode.managed.output_lines if (m := DATANODE_METRICS.search(line)))
    write_whole_block(datanode.port, 31, 1, DATA)
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(31, 1, 0, len(DATA)) == DATA
    with DtpClient(datanode.port) as reader:
        assert reader.read(read_request(32, 1, 0, 1)).response.status == dt.ERROR
    # Replica counts are refreshed in the background (every 2 s): wait for the one finalized replica.
    wait_until(lambda: float(_metrics(url).get("hopsfs_datanode_replicas_finalized", 0)) == 1)
    metrics = _metrics(url)
    assert int(metrics["hopsfs_datanode_bytes_written_total"]) == len(DATA)
    assert int(metrics["hopsfs_datanode_bytes_read_total"]) == len(DATA)
    assert int(metrics['hopsfs_datanode_ops_total{op="WRITE_BLOCK"}']) == 1
    assert int(metrics['hopsfs_datanode_ops_total{op="READ_BLOCK"}']) == 2
    assert int(metrics['hopsfs_datanode_op_errors_total{op="READ_BLOCK",status="ERROR"}']) == 1
    assert float(metrics["hopsfs_datanode_replicas_finalized"]) == 1
    assert any(key.startswith("hopsfs_datanode_volume_used_bytes{") for key in metrics)


def test_reregistration_is_followed_by_a_full_block_report(
    start_process: Callable[..., DatanodeProcess], fake_namenode: FakeNamenode
) -> None:
    datanode = start_process("dn1")
    write_whole_block(datanode.port, 41, 1, DATA[:1000])
    fake_namenode.wait_for(lambda: fake_namenode.block_reports)
    fake_namenode.request_reregister(datanode.uuid)
    fake_namenode.wait_for(lambda: len(fake_namenode.registrations) >= 2)
    report = fake_namenode.wait_for(lambda: fake_namenode.block_reports[1:])[0]
    assert [(r.blockId, r.numBytes) for r in report.replicas] == [(41, 1000)]


def test_calls_fail_over_to_a_namenode_that_answers_and_reports_are_not_lost(
    tmp_path: Path, start_process: Callable[..., DatanodeProcess], fake_namenode: FakeNamenode
) -> None:
    down = FakeNamenode()
    down.start()
    down.unavailable = True
    try:
        datanode = DatanodeProcess.start(tmp_path / "dn1", f"{down.address},{fake_namenode.address}")
        try:
            assert fake_namenode.registrations and not down.registrations
            fake_namenode.unavailable = True  # both down: incremental reports wait and retry
            write_whole_block(datanode.port, 51, 1, DATA[:2000])
            fake_namenode.unavailable = False
            report = fake_namenode.wait_for(
                lambda: fake_namenode.replicas_reported("received", 51), timeout_s=20
            )
            assert report[0].numBytes == 2000
        finally:
            assert datanode.stop() == 0
    finally:
        down.stop()


def test_sigterm_during_a_write_stops_cleanly(start_process: Callable[..., DatanodeProcess]) -> None:
    datanode = start_process("dn1")
    client = DtpClient(datanode.port)
    try:
        client.start_write(write_request(61, 1))
        client.send_data(DATA[:100_000])
        assert datanode.stop() == 0
    finally:
        client.close()
    assert "Traceback" not in datanode.output


def test_a_volume_of_another_block_pool_is_refused(tmp_path: Path, fake_namenode: FakeNamenode) -> None:
    (tmp_path / "dn1" / "data" / "current" / "BP-9-other").mkdir(parents=True)
    command = [
        sys.executable, "-m", "hopsfs.cli.main", "datanode",
        "--data-dir", str(tmp_path / "dn1"), "--namenode", fake_namenode.address,
    ]  # fmt: skip
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=worker_environment(), check=False
    )
    assert finished.returncode == 1
    assert "BP-9-other" in finished.stderr and "Traceback" not in finished.stderr


@pytest.mark.parametrize(
    "arguments", [["--namenode", ","], ["--xceivers-max", "0", "--namenode", "127.0.0.1:1"]]
)
def test_bad_options_print_one_line_and_exit_1(tmp_path: Path, arguments: list[str]) -> None:
    command = [sys.executable, "-m", "hopsfs.cli.main", "datanode", "--data-dir", str(tmp_path), *arguments]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=worker_environment(), check=False
    )
    assert finished.returncode == 1
    assert finished.stderr.count("\n") == 1 and "Traceback" not in finished.stderr


def _metrics(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
