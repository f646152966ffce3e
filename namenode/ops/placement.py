"""Where new replicas go: distinct live datanodes with room, the writer's own host first.

Pure: takes the datanode rows and a random source, returns the chosen rows. Beyond the writer's host
and the hosts it favours, each pick compares two distinct random candidates and keeps the less busy one (fewer
transfers in progress, then more space left): load spreads without every writer piling onto the same
"best" node between two heartbeats.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence

from hopsfs.invariants import check
from namenode.block_rows import DatanodeRow


def candidates(
    datanodes: Sequence[DatanodeRow],
    *,
    is_live: Callable[[DatanodeRow], bool],
    excluded_uuids: Collection[str],
    bytes_needed: int,
) -> list[DatanodeRow]:
    """Live datanodes, not excluded, with room for `bytes_needed`."""
    return [
        row
        for row in datanodes
        if is_live(row) and row.datanode_uuid not in excluded_uuids and row.remaining_bytes >= bytes_needed
    ]


def choose_targets(
    eligible: Sequence[DatanodeRow],
    count: int,
    rng: random.Random,
    *,
    client_host: str | None = None,
    favored_hosts: Sequence[str] = (),
) -> list[DatanodeRow]:
    """Up to `count` distinct datanodes from `eligible`, in pipeline order."""
    check(count >= 0, "a negative number of targets")
    pool = list(eligible)
    chosen: list[DatanodeRow] = []
    preferred_hosts = [host for host in (client_host, *favored_hosts) if host]
    for host in preferred_hosts:
        if len(chosen) >= count:
            break
        local = [row for row in pool if row.host_name == host]
        if local:
            best = min(local, key=_load)
            chosen.append(best)
            pool.remove(best)
    while len(chosen) < count and pool:
        best = min(rng.sample(pool, min(2, len(pool))), key=_load)
        chosen.append(best)
        pool.remove(best)
    check(len({row.datanode_uuid for row in chosen}) == len(chosen), "targets must be distinct datanodes")
    return chosen


def _load(row: DatanodeRow) -> tuple[int, int]:
    return (row.active_transfers, -row.remaining_bytes)
