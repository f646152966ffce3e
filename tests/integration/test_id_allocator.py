"""The inode id allocator (engine/ids.py) under concurrency: processes and threads sharing one counter.

Batches are tiny so every few takes refill from the database; some ids are given back and handed out
again within the same process. The union of the ids each caller still holds, plus the ids of the
inodes the Namespaces created meanwhile, must have no duplicate; the counter must lie beyond all of
them; the inodes table must hold each id once.
"""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import create_engine, text
from support import worker_launcher
from support.changelog_replay import live_inodes
from support.namespace_harness import SUPERUSER, assert_store_healthy, format_store, open_namespace

from namenode.engine.ids import IdAllocator

PROCESSES = 3
THREADS_PER_PROCESS = 2
LOOPS = 150
BATCH_SIZE = 5
CREATE_EVERY = 10


def test_processes_never_receive_the_same_id(db_url: str) -> None:
    format_store(db_url)
    results = worker_launcher.run_all(
        "allocate_ids",
        [
            {
                "url": db_url,
                "process": process,
                "threads": THREADS_PER_PROCESS,
                "loops": LOOPS,
                "batch_size": BATCH_SIZE,
                "seed": process,
                "create_every": CREATE_EVERY,
            }
            for process in range(PROCESSES)
        ],
    )
    kept = [value for result in results for value in result["kept"]]
    created = [value for result in results for value in result["created"]]
    for result in results:
        # Each take asks for up to a whole batch, so refills are frequent: the race is real.
        assert result["refills"] >= LOOPS * THREADS_PER_PROCESS // BATCH_SIZE
        assert result["namespace_refills"] >= 2
    assert len(created) == PROCESSES * THREADS_PER_PROCESS * (LOOPS // CREATE_EVERY)
    check_unique_ids(db_url, kept, created)


def test_allocators_of_one_process_never_share_an_id(db_url: str) -> None:
    """Two namenodes in one process (two stores, two allocators), two threads each."""
    format_store(db_url)
    namespaces = [open_namespace(db_url, namenode_id=f"namenode-{index}") for index in range(2)]
    kept: list[list[int]] = [[] for _ in range(4)]
    created: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def body(slot: int) -> None:
        namespace = namespaces[slot % 2]
        allocator = IdAllocator(namespace.store, "inode", batch_size=BATCH_SIZE)
        namespace.context.inode_ids = IdAllocator(namespace.store, "inode", batch_size=BATCH_SIZE)
        try:
            start.wait(timeout=30)
            for index in range(LOOPS):
                kept[slot].extend(allocator.take(1 + index % BATCH_SIZE))
                if index % CREATE_EVERY == 0:
                    created[slot].append(namespace.create(SUPERUSER, f"/ids/s{slot}/f{index}").inode_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=body, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for namespace in namespaces:
        namespace.close()
    assert not errors, f"allocation failed: {errors[:3]!r}"
    check_unique_ids(
        db_url, [v for values in kept for v in values], [v for values in created for v in values]
    )


def check_unique_ids(url: str, kept: list[int], created: list[int]) -> None:
    duplicates = [value for value, count in Counter(kept + created).items() if count > 1]
    assert not duplicates, f"{len(duplicates)} ids handed out twice, e.g. {sorted(duplicates)[:10]}"
    assert set(created) <= set(live_inodes(url)), "a created inode is missing"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            repeated = connection.execute(
                text("SELECT id, COUNT(*) FROM inodes GROUP BY id HAVING COUNT(*) > 1")
            ).all()
            counter = connection.execute(
                text("SELECT next_value FROM id_counters WHERE name = 'inode'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert repeated == [], f"inode ids stored twice: {repeated[:10]}"
    assert int(counter) > max(kept + created), "the counter is behind ids already handed out"
    assert_store_healthy(url)
