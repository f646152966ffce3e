"""The datanode's gRPC link against fake namenodes: failover, batched incremental reports that keep
their order and survive a namenode outage, bad-replica reports."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

import pytest
from support.fake_namenode_grpc import BLOCK_POOL_ID, FakeNamenode

from datanode.namenode_link.link import NamenodeLink, NamenodeUnavailable
from datanode.namenode_link.reports import IncrementalReporter
from datanode.storage import ReplicaRecord, ReplicaState
from hopsfs.protocol.proto.datanode_namenode_pb2 import RegisterRequestProto


def _record(block_id: int, state: ReplicaState = ReplicaState.FINALIZED, length: int = 10) -> ReplicaRecord:
    return ReplicaRecord(block_id, state, 1, length, "DS-1", PurePosixPath(f"rbw/blk_{block_id}"))


def _register_request() -> RegisterRequestProto:
    request = RegisterRequestProto()
    request.identity.datanodeUuid, request.identity.hostName = "u", "127.0.0.1"
    request.identity.transferPort, request.identity.storageId = 1, "DS-1"
    request.storage.capacityBytes = request.storage.usedBytes = request.storage.remainingBytes = 0
    return request


def test_calls_fail_over_to_the_namenode_that_answers(fake_namenode: FakeNamenode) -> None:
    down = FakeNamenode()
    down.start()
    down.unavailable = True

    async def scenario() -> None:
        link = NamenodeLink([down.address, fake_namenode.address], call_timeout_s=5)
        try:
            response = await link.call("Register", _register_request())
            assert response.blockPoolId == BLOCK_POOL_ID
            assert link.current_address == fake_namenode.address
            fake_namenode.unavailable = True
            with pytest.raises(NamenodeUnavailable):
                await link.call("Register", _register_request())
            down.unavailable = False
            await link.call("Register", _register_request())
            assert link.current_address == down.address
        finally:
            await link.close()

    try:
        asyncio.run(scenario())
    finally:
        down.stop()
    assert len(fake_namenode.registrations) == 1 and len(down.registrations) == 1


def test_reports_are_batched_in_order_and_never_split_a_block(fake_namenode: FakeNamenode) -> None:
    async def scenario() -> None:
        link = NamenodeLink([fake_namenode.address])
        reporter = IncrementalReporter(link, "uuid-1", BLOCK_POOL_ID, batch_delay_s=0.01)
        reporter.replica_receiving(_record(1, ReplicaState.RBW, 0))
        reporter.replica_received(_record(1))
        reporter.replica_deleted(2)
        reporter.replica_received(_record(3))
        reporter.replica_bad(4, 1, 100)
        reporter.replica_received(_record(5))
        await reporter.flush()
        await link.close()

    asyncio.run(scenario())
    reports = [
        (
            [r.blockId for r in report.receiving],
            [r.blockId for r in report.received],
            [r.blockId for r in report.deleted],
        )
        for report in fake_namenode.incremental_reports
    ]
    # A second event of block 1 starts a new report; the bad replica goes in its own call between.
    assert reports == [([1], [], []), ([], [1, 3], [2]), ([], [5], [])]
    assert fake_namenode.bad_blocks() == [4]
    assert all(report.datanodeUuid == "uuid-1" for report in fake_namenode.incremental_reports)


def test_reports_wait_out_an_outage_and_lose_nothing(fake_namenode: FakeNamenode) -> None:
    fake_namenode.unavailable = True

    async def scenario() -> None:
        link = NamenodeLink([fake_namenode.address], call_timeout_s=2)
        reporter = IncrementalReporter(link, "uuid-2", BLOCK_POOL_ID, batch_delay_s=0.01)
        sender = asyncio.create_task(reporter.run())
        for block_id in range(10):
            reporter.replica_received(_record(block_id))
        await asyncio.sleep(0.5)
        assert reporter.pending == 10  # nothing delivered, nothing dropped
        fake_namenode.unavailable = False
        for _ in range(200):
            if reporter.pending == 0:
                break
            await asyncio.sleep(0.05)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        await link.close()

    asyncio.run(scenario())
    delivered = [r.blockId for report in fake_namenode.incremental_reports for r in report.received]
    assert delivered == list(range(10))
