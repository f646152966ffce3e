"""Datanode reports and client calls on the same blocks at once, from several threads and connections:
every file ends closed with all its replicas, and fsck (block invariants included) holds."""

from __future__ import annotations

import threading

from block_cluster import BLOCK_SIZE, ROOT, BlockCluster

from namenode.block_entities import Block

FILES = 6
# complete() calls a writer may still make once every report has landed (the last one may be mid-flight).
COMPLETE_CALLS_AFTER_REPORTS = 3


def test_reports_and_completes_race_to_a_consistent_end(cluster: BlockCluster, three: list[str]) -> None:
    namespace = cluster.namespace
    pending: list[tuple[str, Block, list[str]]] = []
    for index in range(FILES):
        path = f"/race/f{index}"
        namespace.create(ROOT, path, holder=f"writer-{index}", block_size=BLOCK_SIZE)
        located = namespace.add_block(ROOT, path, f"writer-{index}", None)
        block = Block(located.block.block_id, located.block.generation_stamp, 100 + index)
        pending.append((path, block, [location.uuid for location in located.locations]))
    failures: list[BaseException] = []

    def guarded(action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except BaseException as error:  # the assertion below reports it
            failures.append(error)

    def report(uuid: str) -> None:
        for _, block, holders in pending:
            if uuid in holders:
                cluster.received(uuid, block)

    reports_done = threading.Event()

    def complete(index: int) -> None:
        # Retries while reports may still come (as a client does), then a few more: a bounded number
        # of tries alone would fail whenever the reporting threads are slow to get the write lock.
        path, block, _ = pending[index]
        left_after_reports = COMPLETE_CALLS_AFTER_REPORTS
        while left_after_reports > 0:
            done_before = reports_done.is_set()
            if namespace.complete(ROOT, path, f"writer-{index}", block):
                return
            if done_before:
                left_after_reports -= 1
        raise AssertionError(f"{path} never closed although every replica was reported")

    reporters = [threading.Thread(target=guarded, args=(lambda uuid=uuid: report(uuid),)) for uuid in three]

    def report_all() -> None:
        for reporter in reporters:
            reporter.start()
        for reporter in reporters:
            reporter.join()
        reports_done.set()

    threads = [threading.Thread(target=report_all)]
    threads += [
        threading.Thread(target=guarded, args=(lambda index=index: complete(index),))
        for index in range(FILES)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    for path, block, holders in pending:
        status = namespace.stat(ROOT, path)
        assert (status.size, status.under_construction) == (block.num_bytes, False)
        located = namespace.get_block_locations(ROOT, path, 0, 1).blocks[0]
        assert sorted(location.uuid for location in located.locations) == sorted(holders)
