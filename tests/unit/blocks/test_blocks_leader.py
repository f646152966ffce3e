"""Leader election through the database, and bringing a schema-v2 store up to the block manager."""

from __future__ import annotations

import threading

import pytest
from block_cluster import BLOCK_SIZE, CONFIG, ROOT, BlockCluster
from sqlalchemy import delete, update
from support.fsck import assert_consistent

from hopsfs.errors import SchemaVersionMismatch
from hopsfs.types import Caller
from namenode import schema
from namenode.block_entities import DatanodeRegistration, DatanodeReportKind, StorageReport
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace
from namenode.engine.txn import Transaction, run_transaction
from namenode.ops import leader

LEASE_MS = 10_000
CONTENDERS = 6
ROUNDS = 4


def test_exactly_one_leader_among_concurrent_namenodes(cluster: BlockCluster) -> None:
    """Each contender is a namenode with its own store connections; all ask at the same instant, round
    after round, each round after the last lease expired."""
    contenders = [
        Namespace(MetadataStore(cluster.url), namenode_id=f"nn-{index}") for index in range(CONTENDERS)
    ]
    try:
        for round_number in range(ROUNDS):
            now_ms = cluster.now_ms + round_number * (LEASE_MS + 1)
            won = _contend(contenders, now_ms)
            assert len(won) == 1, won
            for namespace in contenders:
                name = namespace.context.namenode_id
                again = namespace.block_manager.try_become_leader(name, now_ms + 1, LEASE_MS)
                assert again == (name == won[0])  # the leader renews; nobody else gets in
    finally:
        for namespace in contenders:
            namespace.close()


def _contend(contenders: list[Namespace], now_ms: int) -> list[str]:
    """Every contender asks for the lease at once (released together by a barrier); who got it."""
    start = threading.Barrier(len(contenders))
    won: list[str] = []
    lock = threading.Lock()

    def contend(namespace: Namespace) -> None:
        name = namespace.context.namenode_id
        start.wait()
        if namespace.block_manager.try_become_leader(name, now_ms, LEASE_MS):
            with lock:
                won.append(name)

    threads = [threading.Thread(target=contend, args=(namespace,)) for namespace in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_a_contender_waits_while_another_holds_the_lease_row(cluster: BlockCluster) -> None:
    """A holds the lease row (taken, not yet committed) while B asks: B must see A's lease, not the
    expired one it would read without the row lock."""
    first = Namespace(MetadataStore(cluster.url), namenode_id="nn-a")
    second = Namespace(MetadataStore(cluster.url), namenode_id="nn-b")
    inside, release = threading.Event(), threading.Event()
    results: dict[str, bool] = {}

    def hold(transaction: Transaction) -> bool:
        taken = leader.try_become_leader(transaction, "nn-a", LEASE_MS)
        inside.set()
        release.wait(timeout=30)
        return taken

    def take_and_hold() -> None:
        results["nn-a"] = run_transaction(first.context, ROOT, hold, write=True)

    def ask() -> None:
        results["nn-b"] = second.block_manager.try_become_leader("nn-b", cluster.now_ms, LEASE_MS)

    holder = threading.Thread(target=take_and_hold)
    first.context.clock_ms = lambda: cluster.now_ms
    try:
        holder.start()
        assert inside.wait(timeout=30)
        asker = threading.Thread(target=ask)
        asker.start()
        asker.join(timeout=0.5)  # B now waits for the row (or, if the lock were missing, is done)
        release.set()
        holder.join()
        asker.join()
        assert results == {"nn-a": True, "nn-b": False}
    finally:
        release.set()
        first.close()
        second.close()


def test_only_the_leader_does_housekeeping_and_resigning_hands_over(cluster: BlockCluster) -> None:
    manager = cluster.manager
    cluster.add_datanode("dn-a")
    assert manager.try_become_leader("nn-1", cluster.now_ms, LEASE_MS)
    assert not manager.try_become_leader("nn-2", cluster.now_ms, LEASE_MS)
    cluster.advance(CONFIG.dead_after_ms + 1)
    assert not manager.housekeeping_once("nn-2", cluster.now_ms).leader  # not the leader: nothing done
    assert manager.cluster_stats(cluster.now_ms).dead_datanodes == 1  # silent, yet not declared dead
    assert cluster.heartbeat("dn-a").full_report_requested is False
    manager.resign_leader("nn-1", cluster.now_ms)
    assert manager.try_become_leader("nn-2", cluster.now_ms, LEASE_MS)


def test_upgrade_from_schema_2_adds_the_block_manager(db_url: str) -> None:
    store = MetadataStore(db_url)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1)
    Namespace(store).create(ROOT, "/before-upgrade", block_size=BLOCK_SIZE)
    for table in reversed(schema.BLOCK_MANAGER_TABLES):
        table.drop(store.engine)
    for index in schema.replicas.indexes:
        index.drop(store.engine)
    with store.engine.begin() as connection:
        connection.execute(delete(schema.id_counters).where(schema.id_counters.c.name == "datanode_command"))
        connection.execute(
            update(schema.settings).where(schema.settings.c.name == "schema_version").values(value="2")
        )
    store.dispose()
    store = MetadataStore(db_url)
    with pytest.raises(SchemaVersionMismatch, match="upgrade"):
        Namespace(store)
    assert store.upgrade() == (2, schema.SCHEMA_VERSION)
    namespace = Namespace(store)
    try:
        now_ms = namespace.context.clock_ms()  # the real clock: add_block judges liveness by it
        registration = DatanodeRegistration("dn", "storage", "host", 9866)
        namespace.block_manager.register_datanode(registration, StorageReport(1 << 40, 0, 1 << 40), now_ms)
        assert namespace.block_manager.try_become_leader("nn", now_ms, LEASE_MS)
        namespace.create(ROOT, "/after", replication=1, block_size=BLOCK_SIZE, holder="w")
        assert namespace.add_block(Caller("hdfs"), "/after", "w", None).locations[0].uuid == "dn"
        assert namespace.exists(ROOT, "/before-upgrade")
    finally:
        namespace.close()
    assert_consistent(db_url)


def test_a_new_leader_judges_datanodes_only_on_their_silence_since(cluster: BlockCluster) -> None:
    """Every namenode was down longer than the dead timeout (no heartbeat could land): the next leader
    does not declare the datanodes dead at once, but only after the timeout passes again in silence.
    Its own renewals do not restart the clocks, and a datanode already DEAD stays so."""
    manager = cluster.manager
    live, gone = cluster.add_datanode("dn-live"), cluster.add_datanode("dn-gone")
    assert manager.try_become_leader("nn-old", cluster.now_ms, 2 * CONFIG.dead_after_ms)
    cluster.advance(CONFIG.dead_after_ms + 1)
    cluster.heartbeat(live)
    assert manager.housekeeping_once("nn-old", cluster.now_ms).datanodes_declared_dead == 1  # dn-gone
    cluster.advance(5 * CONFIG.dead_after_ms)  # the whole cluster is down
    assert manager.try_become_leader("nn-new", cluster.now_ms, 10 * CONFIG.dead_after_ms)
    assert manager.housekeeping_once("nn-new", cluster.now_ms).datanodes_declared_dead == 0
    assert {row.uuid for row in manager.datanode_report(DatanodeReportKind.LIVE, cluster.now_ms)} == {live}
    cluster.advance(CONFIG.dead_after_ms // 2)
    assert manager.try_become_leader("nn-new", cluster.now_ms, 10 * CONFIG.dead_after_ms)  # a renewal
    cluster.advance(CONFIG.dead_after_ms // 2 + 1)
    assert manager.housekeeping_once("nn-new", cluster.now_ms).datanodes_declared_dead == 1
    assert gone not in {row.uuid for row in manager.datanode_report(DatanodeReportKind.LIVE, cluster.now_ms)}
