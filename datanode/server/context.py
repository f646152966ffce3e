"""What every connection of the DataTransferProtocol server shares: the store, the pool, the registries."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from datanode.bad_replicas import BadReplicas
from datanode.config import TransferLimits
from datanode.events import ReplicaEvents
from datanode.metrics import DatanodeMetrics
from datanode.server.active_writes import ActiveWrites
from datanode.server.statuses import RequestRefused
from datanode.storage import ReplicaStore
from hopsfs.protocol.dtp_checksum import DEFAULT_CHECKSUM_FUNCTIONS, ChecksumFunctions

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(slots=True)
class ServerContext:
    store: ReplicaStore
    block_pool_id: str
    executor: ThreadPoolExecutor
    events: ReplicaEvents
    limits: TransferLimits
    bad_replicas: BadReplicas = field(default_factory=BadReplicas)
    active_writes: ActiveWrites = field(default_factory=ActiveWrites)
    metrics: DatanodeMetrics = field(default_factory=DatanodeMetrics)
    checksum_functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS
    # Operations (reads, writes, transfers) running now: the heartbeat's load signal.
    active_transfers: int = 0
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coroutine` in the background, holding a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def run_blocking(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run blocking disk work in the pool, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(function, *args, **kwargs))

    def check_block_pool(self, pool_id: str) -> None:
        """RequestRefused unless `pool_id` is the pool this datanode serves."""
        if pool_id != self.block_pool_id:
            raise RequestRefused(
                f"block pool {pool_id[:200]!r} is not this datanode's ({self.block_pool_id})"
            )
