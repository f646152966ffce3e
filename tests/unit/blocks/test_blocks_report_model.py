"""Block-report reconciliation against a model: random full and incremental reports (good, wrong
length, stale stamp, unknown blocks, deletions) and file deletes; after every step the namenode serves
exactly the replicas the model says are good, reports the corrupt ones, and fsck holds."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest
from block_cluster import CONFIG, ROOT, BlockCluster, invalidated_blocks, open_cluster
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from support import databases
from support.fsck import assert_consistent

from namenode.block_entities import Block, ReportedReplica

DATANODES = ("dn-a", "dn-b", "dn-c", "dn-d")
FILES = 3
KINDS = ("good", "wrong_length", "stale_stamp")
UNKNOWN_BLOCK_ID = 7  # below every allocated block id


class ReportModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._directory = tempfile.mkdtemp(prefix="report-model-")
        self._database = self.url_factory()
        url = self._database.__enter__()
        self.cluster: BlockCluster = open_cluster(url, CONFIG)
        for name in DATANODES:
            self.cluster.add_datanode(name)
        self.blocks: dict[str, Block] = {}  # path -> its single block
        self.good: dict[int, set[str]] = {}  # block id -> datanodes holding a good replica
        self.corrupt: dict[int, set[str]] = {}
        for index in range(FILES):
            path = f"/f{index}"
            (located,) = self.cluster.write_file(path, [100 + index], replication=2)
            block = located.block
            self.blocks[path] = block
            self.good[block.block_id] = {location.uuid for location in located.locations}
            self.corrupt[block.block_id] = set()

    def url_factory(self) -> AbstractContextManager[str]:
        """A fresh database for one run (SQLite here; a MariaDB database in the subclass)."""
        return nullcontext(databases.sqlite_url(Path(self._directory)))

    def _replica(self, block: Block, kind: str, finalized: bool = True) -> ReportedReplica:
        stamp = block.generation_stamp - (kind == "stale_stamp")
        length = block.num_bytes + (kind == "wrong_length")
        return ReportedReplica(block.block_id, stamp, length, finalized)

    def _apply(self, datanode: str, block_id: int, kind: str) -> None:
        """What the namenode must conclude from one finalized replica report."""
        if datanode in self.corrupt[block_id]:
            return
        if kind == "good":
            self.good[block_id].add(datanode)
        else:
            self.good[block_id].discard(datanode)
            self.corrupt[block_id].add(datanode)

    @rule(
        datanode=st.sampled_from(DATANODES),
        reported=st.dictionaries(st.integers(0, FILES - 1), st.sampled_from(KINDS), max_size=FILES),
        unknown=st.booleans(),
    )
    def full_report(self, datanode: str, reported: dict[int, str], unknown: bool) -> None:
        live = {index: kind for index, kind in reported.items() if f"/f{index}" in self.blocks}
        replicas = [self._replica(self.blocks[f"/f{index}"], kind) for index, kind in live.items()]
        if unknown:
            replicas.append(ReportedReplica(UNKNOWN_BLOCK_ID, 1001, 5, True))
        commands = self.cluster.manager.full_block_report(datanode, replicas, self.cluster.now_ms)
        assert (UNKNOWN_BLOCK_ID in invalidated_blocks(commands)) == unknown
        named = {self.blocks[f"/f{index}"].block_id: kind for index, kind in live.items()}
        for block_id in self.good:
            if block_id in named:
                self._apply(datanode, block_id, named[block_id])
            else:
                self.good[block_id].discard(datanode)  # missing from the report: forgotten

    @rule(datanode=st.sampled_from(DATANODES), index=st.integers(0, FILES - 1), kind=st.sampled_from(KINDS))
    def received(self, datanode: str, index: int, kind: str) -> None:
        block = self.blocks.get(f"/f{index}")
        if block is None:
            return
        replica = self._replica(block, kind)
        self.cluster.manager.incremental_block_report(datanode, [], [replica], [], self.cluster.now_ms)
        self._apply(datanode, block.block_id, kind)

    @rule(datanode=st.sampled_from(DATANODES), index=st.integers(0, FILES - 1))
    def deleted(self, datanode: str, index: int) -> None:
        block = self.blocks.get(f"/f{index}")
        if block is None:
            return
        gone = ReportedReplica(block.block_id, block.generation_stamp, 0, True)
        self.cluster.manager.incremental_block_report(datanode, [], [], [gone], self.cluster.now_ms)
        self.good[block.block_id].discard(datanode)
        self.corrupt[block.block_id].discard(datanode)

    @precondition(lambda self: len(self.blocks) > 1)
    @rule(index=st.integers(0, FILES - 1))
    def delete_file(self, index: int) -> None:
        block = self.blocks.pop(f"/f{index}", None)
        if block is None:
            return
        assert self.cluster.namespace.delete(ROOT, f"/f{index}")
        del self.good[block.block_id], self.corrupt[block.block_id]

    @invariant()
    def served_locations_match_the_model(self) -> None:
        for path, block in self.blocks.items():
            located = self.cluster.namespace.get_block_locations(ROOT, path, 0, 1).blocks[0]
            served = {location.uuid for location in located.locations}
            good, corrupt = self.good[block.block_id], self.corrupt[block.block_id]
            if good or not corrupt:
                assert (served, located.corrupt) == (good, False), path
            else:
                assert (served, located.corrupt) == (corrupt, True), path
        stats = self.cluster.manager.cluster_stats(self.cluster.now_ms)
        assert stats.corrupt_blocks == sum(
            1 for block in self.blocks.values() if self.corrupt[block.block_id]
        )

    def teardown(self) -> None:
        try:
            self.cluster.namespace.close()
            assert_consistent(self.cluster.url)
        finally:
            self._database.__exit__(None, None, None)
            shutil.rmtree(self._directory, ignore_errors=True)


_SETTINGS = settings(
    max_examples=20,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_report_reconciliation_matches_the_model() -> None:
    run_state_machine_as_test(ReportModel, settings=_SETTINGS)


@pytest.mark.mysql
def test_report_reconciliation_matches_the_model_on_mariadb() -> None:
    server = databases.mysql_server_url()
    if server is None:
        pytest.skip(f"{databases.MYSQL_URL_ENV} is not set")

    class OnMariaDB(ReportModel):
        @staticmethod
        def url_factory() -> AbstractContextManager[str]:
            return databases.mysql_database(server)

    run_state_machine_as_test(OnMariaDB, settings=settings(_SETTINGS, max_examples=5))
