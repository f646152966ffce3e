"""Renewing the client's lease while it has files open for writing.

The namenode lets another client take over a file whose writer has not renewed its lease for the
soft limit (60 s), so a client with open output streams calls renewLease every
`lease_renewal_interval_s` (HDFS: 30 s) from one background task. The task runs only while at least
one stream is registered; a failed renewal is logged and tried again at the next tick (the soft limit
leaves room for one miss).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from hopsfs.errors import HopsFSError

log = logging.getLogger(__name__)


class LeaseRenewer:
    def __init__(self, renew: Callable[[], Awaitable[None]], interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("the lease renewal interval must be positive")
        self._renew = renew
        self._interval_s = interval_s
        self._holders: set[object] = set()
        self._task: asyncio.Task[None] | None = None
        self.renewals = 0

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def register(self, holder: object) -> None:
        """Keep renewing while `holder` (an open output stream) is registered."""
        self._holders.add(holder)
        if not self.active:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hopsfs-lease-renewer")

    def unregister(self, holder: object) -> None:
        self._holders.discard(holder)
        if not self._holders and self._task is not None:
            self._task.cancel()
            self._task = None

    async def close(self) -> None:
        self._holders.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while self._holders:
            await asyncio.sleep(self._interval_s)
            try:
                await self._renew()
                self.renewals += 1
            except HopsFSError as error:
                log.warning("lease renewal failed (retrying in %.0f s): %s", self._interval_s, error)
