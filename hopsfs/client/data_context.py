"""What every data stream of one client shares: the namenode's block calls, the datanode connection
pool, the lease renewer and the settings.

`AsyncClient` owns one (built on first use, inside its event loop); tests build one around an
in-memory namenode. Streams hold a reference and never close it; the owner does, which first aborts
the streams still open (an output stream is left incomplete, as when a writer dies: closing one
means waiting on datanodes, which a client shutting down should not do implicitly).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Protocol

from hopsfs.client.block_namenode import BlockNamenode
from hopsfs.client.datanode_connection import DatanodePool
from hopsfs.client.lease_renewer import LeaseRenewer
from hopsfs.client.short_circuit import ShortCircuitReads
from hopsfs.client.stream_settings import DEFAULT_STREAM_SETTINGS, StreamSettings


class OpenStream(Protocol):
    async def abort(self, reason: str | None = None) -> None: ...


@dataclass(slots=True)
class DataContext:
    namenode: BlockNamenode
    settings: StreamSettings
    pool: DatanodePool
    leases: LeaseRenewer
    short_circuit: ShortCircuitReads
    # Streams register while open; weak, so a stream dropped without close() does not linger here.
    open_streams: weakref.WeakSet[OpenStream] = field(default_factory=weakref.WeakSet)

    @classmethod
    def create(
        cls, namenode: BlockNamenode, settings: StreamSettings = DEFAULT_STREAM_SETTINGS
    ) -> DataContext:
        pool = DatanodePool(settings)
        return cls(
            namenode=namenode,
            settings=settings,
            pool=pool,
            leases=LeaseRenewer(namenode.renew_lease, settings.lease_renewal_interval_s),
            short_circuit=ShortCircuitReads(settings, pool.packet_buffers),
        )

    async def close(self) -> None:
        for stream in list(self.open_streams):
            await stream.abort("the client was closed while the stream was open")
        await self.leases.close()
        self.pool.close()
        self.short_circuit.close()
