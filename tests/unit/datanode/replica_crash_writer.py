"""Child process of the crash tests: writes replicas (packets of random sizes, partial chunks continued
by later packets, some resent from the chunk start) and finalizes them, until it is killed.

    python replica_crash_writer.py ROOT MODE
    MODE: "timer" (the parent kills it), or "<call>-<when>-<n>" with call pwrite|rename and when
    before|after: SIGKILL itself just before or after the n-th call of os.<call>.

Prints "ready", then "appended <id>" when every packet of a block was accepted and "finalized <id>"
when finalize returned, so the parent knows what must have survived.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

BLOCK_POOL_ID = "BP-crash"
GENSTAMP = 1
BLOCKS_MAX = 10_000


def replica_content(block_id: int) -> bytes:
    generator = random.Random(block_id)
    return generator.randbytes(generator.randint(1, 12_000))


def packet_sizes(block_id: int, length: int) -> list[int]:
    generator = random.Random(-block_id)
    sizes: list[int] = []
    while sum(sizes) < length:
        sizes.append(min(generator.randint(1, 3000), length - sum(sizes)))
    return sizes


def _kill_on_call(call: str, when: str, count: int) -> None:
    original: Callable[..., Any] = getattr(os, call)
    calls = 0

    def wrapper(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == count and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args)
        if calls == count and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(os, call, wrapper)


def main(root: Path, mode: str) -> None:
    from datanode.storage import DEFAULT_REPLICA_SPEC, ReplicaStore, StoreConfig
    from hopsfs.protocol.dtp_checksum import compute_checksums

    config = StoreConfig((root / "volume0", root / "volume1"), BLOCK_POOL_ID, replica_bytes_expected=1 << 20)
    store = ReplicaStore.open(config)
    if mode != "timer":
        call, when, count = mode.split("-")
        _kill_on_call(call, when, int(count))
    # After an earlier crash in the same directory, continue with block ids not used yet.
    first_block_id = max((record.block_id for record in store.block_report()), default=0) + 1
    print("ready", flush=True)
    for block_id in range(first_block_id, first_block_id + BLOCKS_MAX):
        content = replica_content(block_id)
        store.create_rbw(block_id, GENSTAMP)
        offset = 0
        for size in packet_sizes(block_id, len(content)):
            # Every third packet after a partial chunk is resent from the chunk start, as after hflush.
            start = offset - offset % 512 if offset % 512 and size % 3 == 0 else offset
            piece = content[start : offset + size]
            store.append(block_id, GENSTAMP, start, piece, compute_checksums(DEFAULT_REPLICA_SPEC, piece))
            offset += size
        print(f"appended {block_id}", flush=True)
        store.finalize(block_id, GENSTAMP)
        print(f"finalized {block_id}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
