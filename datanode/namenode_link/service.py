"""Registration, heartbeats and full block reports: the datanode's standing with the namenodes.

`register` is retried (capped backoff) until a namenode answers; its answer gives the block pool id and
the heartbeat and full-report intervals. Once the store is open, `run` sends a full block report, then
a heartbeat every `heartbeat_interval_ms` (storage report, active transfers) and a full report every
`full_block_report_interval_ms` or when a namenode asks. A heartbeat answer may carry commands (to the
executor), a request for a full report, or `reregister` (register again, then a full report).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from datanode.namenode_link.commands import CommandExecutor
from datanode.namenode_link.convert import replica_proto, storage_report
from datanode.namenode_link.link import NamenodeLink
from datanode.server.context import ServerContext
from hopsfs import __version__
from hopsfs.errors import HopsFSError
from hopsfs.protocol.proto.datanode_namenode_pb2 import (
    BlockReportRequestProto,
    DatanodeIdentityProto,
    HeartbeatRequestProto,
    HeartbeatResponseProto,
    RegisterRequestProto,
    RegisterResponseProto,
    StorageReportProto,
)

LOGGER = logging.getLogger("hopsfs.datanode.service")
REGISTER_RETRY_S_MIN = 0.2
REGISTER_RETRY_S_MAX = 5.0
HEARTBEAT_INTERVAL_MS_MIN = 10
FULL_REPORT_INTERVAL_MS_MIN = 100


class ForeignBlockPool(HopsFSError):
    """A namenode answered with a block pool other than the one this datanode serves."""


@dataclass(frozen=True, slots=True)
class Registration:
    block_pool_id: str
    heartbeat_interval_s: float
    full_block_report_interval_s: float

    @classmethod
    def of(cls, response: RegisterResponseProto) -> Registration:
        heartbeat_ms = max(HEARTBEAT_INTERVAL_MS_MIN, response.heartbeatIntervalMs)
        report_ms = max(FULL_REPORT_INTERVAL_MS_MIN, response.fullBlockReportIntervalMs)
        return cls(response.blockPoolId, heartbeat_ms / 1000, report_ms / 1000)


class NamenodeService:
    def __init__(self, link: NamenodeLink, identity: DatanodeIdentityProto) -> None:
        self._link = link
        self._identity = identity
        self.registration: Registration | None = None
        self._full_report_due = asyncio.Event()
        self.heartbeats_sent = 0
        self.full_reports_sent = 0

    async def register(self, storage: Callable[[], StorageReportProto]) -> Registration:
        """Register with whichever namenode answers, retrying until one does (cancel to give up)."""
        delay_s = REGISTER_RETRY_S_MIN
        # Retries until a namenode answers; the caller's cancellation (SIGTERM) bounds it.
        while True:
            request = RegisterRequestProto(identity=self._identity, storage=storage())
            try:
                response = await self._link.call("Register", request)
            except HopsFSError as error:
                LOGGER.warning("registration failed, retrying in %.1f s: %s", delay_s, error)
                await asyncio.sleep(delay_s)
                delay_s = min(REGISTER_RETRY_S_MAX, delay_s * 2)
                continue
            registration = Registration.of(response)
            if (
                self.registration is not None
                and registration.block_pool_id != self.registration.block_pool_id
            ):
                raise ForeignBlockPool(
                    f"namenode {self._link.current_address} serves block pool {registration.block_pool_id}, "
                    f"this datanode {self.registration.block_pool_id}"
                )
            self.registration = registration
            LOGGER.info(
                "registered with %s: block pool %s, heartbeat every %.1f s",
                self._link.current_address,
                registration.block_pool_id,
                registration.heartbeat_interval_s,
            )
            return registration

    def request_full_report(self) -> None:
        self._full_report_due.set()

    async def run(self, context: ServerContext, commands: CommandExecutor) -> None:
        """Full report first, then heartbeats and periodic full reports, until cancelled."""
        reports = asyncio.create_task(self._full_reports(context, commands), name="full-block-reports")
        try:
            await self._heartbeats(context, commands)
        finally:
            reports.cancel()
            await asyncio.gather(reports, return_exceptions=True)

    async def _heartbeats(self, context: ServerContext, commands: CommandExecutor) -> None:
        loop = asyncio.get_running_loop()
        while True:
            registration = self._registered()
            started = loop.time()
            request = HeartbeatRequestProto(
                datanodeUuid=self._identity.datanodeUuid,
                storage=storage_report(context.store.capacities()),
                activeTransfers=context.active_transfers,
            )
            try:
                response = await self._link.call("Heartbeat", request)
                self.heartbeats_sent += 1
                await self._handle_heartbeat(response, context, commands)
            except HopsFSError as error:
                LOGGER.warning("heartbeat failed: %s", error)
            elapsed_s = loop.time() - started
            await asyncio.sleep(max(0.0, registration.heartbeat_interval_s - elapsed_s))

    async def _handle_heartbeat(
        self, response: HeartbeatResponseProto, context: ServerContext, commands: CommandExecutor
    ) -> None:
        if response.reregister:
            LOGGER.info("namenode asks this datanode to register again")
            await self.register(lambda: storage_report(context.store.capacities()))
            self._full_report_due.set()
        elif response.fullBlockReportRequested:
            self._full_report_due.set()
        for command in response.commands:
            commands.submit(command)

    async def _full_reports(self, context: ServerContext, commands: CommandExecutor) -> None:
        self._full_report_due.set()
        while True:
            registration = self._registered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._full_report_due.wait(), registration.full_block_report_interval_s
                )
            self._full_report_due.clear()
            try:
                await self._send_full_report(context, commands)
            except HopsFSError as error:
                LOGGER.warning("full block report failed, retrying: %s", error)
                await asyncio.sleep(REGISTER_RETRY_S_MAX)
                self._full_report_due.set()

    async def _send_full_report(self, context: ServerContext, commands: CommandExecutor) -> None:
        records = await context.run_blocking(context.store.block_report)
        request = BlockReportRequestProto(
            datanodeUuid=self._identity.datanodeUuid, replicas=[replica_proto(record) for record in records]
        )
        response = await self._link.call("BlockReport", request)
        self.full_reports_sent += 1
        LOGGER.info("full block report sent: %d replicas", len(records))
        for command in response.commands:
            commands.submit(command)

    def _registered(self) -> Registration:
        registration = self.registration
        if registration is None:
            raise HopsFSError("the datanode is not registered")
        return registration


def identity_proto(
    datanode_uuid: str, storage_id: str, host: str, transfer_port: int, info_port: int
) -> DatanodeIdentityProto:
    return DatanodeIdentityProto(
        datanodeUuid=datanode_uuid,
        hostName=host,
        transferPort=transfer_port,
        storageId=storage_id,
        infoPort=info_port,
        softwareVersion=__version__,
    )
