"""Reads reach the change log for provenance without a write per read: the namenode counts opens
(getBlockLocations) per file, user and application and flushes them as READ rows every round."""

from __future__ import annotations

from support.cluster import StartNamenodes, wait_until

import hopsfs
from hopsfs.types import ChangeEvent
from namenode.engine.namespace import Namespace


def test_opens_are_aggregated_into_read_rows_with_the_application(
    db_url: str, start_namenodes: StartNamenodes
) -> None:
    namenode = start_namenodes(db_url, extra_arguments=("--housekeeping-interval-ms", "200"))[0]
    with hopsfs.connect(namenode.url, user="hdfs", app_id="application_42") as client:
        client.touch("/read-me")
        for _ in range(5):
            client.get_block_locations("/read-me", 0, 1)
    namespace = Namespace.open(db_url)
    try:

        def reads() -> list[ChangeEvent]:
            return [event for event in namespace.read_changes() if event.operation == "READ"]

        # One row for the five opens (a flush may split them over two rounds: never one per open).
        assert wait_until(lambda: sum(event.logical_time for event in reads()) == 5, 15)
        rows = reads()
        assert 1 <= len(rows) <= 2
        assert {(row.name, row.user, row.app_id) for row in rows} == {("read-me", "hdfs", "application_42")}
    finally:
        namespace.close()
