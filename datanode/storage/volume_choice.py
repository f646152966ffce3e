"""Which volume receives a new replica.

A policy sees the volumes and the bytes the replica may grow to (the block size) and returns one
whose available space holds them, or raises InsufficientSpace. Round robin spreads writes over
disks; most-available fills them evenly when disks differ in size.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from datanode.storage.errors import InsufficientSpace
from datanode.storage.volume import Volume
from hopsfs.invariants import check


class VolumeChoicePolicy(Protocol):
    def choose(self, volumes: Sequence[Volume], replica_bytes: int) -> Volume: ...


class RoundRobinChoice:
    """The next volume after the last one chosen that has room."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_index = 0

    def choose(self, volumes: Sequence[Volume], replica_bytes: int) -> Volume:
        check(len(volumes) > 0, "a store has at least one volume")
        with self._lock:
            start = self._next_index % len(volumes)
            for step in range(len(volumes)):
                volume = volumes[(start + step) % len(volumes)]
                if volume.capacity().available_bytes >= replica_bytes:
                    self._next_index = start + step + 1
                    return volume
        raise _insufficient(volumes, replica_bytes)


class MostAvailableChoice:
    """The volume with the most available bytes."""

    def choose(self, volumes: Sequence[Volume], replica_bytes: int) -> Volume:
        check(len(volumes) > 0, "a store has at least one volume")
        available = [(volume.capacity().available_bytes, index) for index, volume in enumerate(volumes)]
        best_bytes, best_index = max(available)
        if best_bytes < replica_bytes:
            raise _insufficient(volumes, replica_bytes)
        return volumes[best_index]


def _insufficient(volumes: Sequence[Volume], replica_bytes: int) -> InsufficientSpace:
    return InsufficientSpace(f"no volume of {len(volumes)} has {replica_bytes} bytes available")
