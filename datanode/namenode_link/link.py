"""Calls to the namenodes over gRPC (grpc.aio), to whichever of them answers.

Namenodes are stateless, so any of them takes any call: a call goes to the namenode that answered
last, and on UNAVAILABLE or DEADLINE_EXCEEDED to the next one, each at most once per call. Every call
has a deadline. Other gRPC errors are the namenode's answer and raise NamenodeCallFailed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import grpc

from hopsfs.errors import HopsFSError, TransientError
from hopsfs.invariants import check
from hopsfs.protocol.proto.datanode_namenode_pb2_grpc import DatanodeNamenodeStub

LOGGER = logging.getLogger("hopsfs.datanode.link")
CALL_TIMEOUT_S_DEFAULT = 10.0
_FAILOVER_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# Messages are small except full block reports: a million replicas is ~30 MB.
MESSAGE_BYTES_MAX = 256 * 1024 * 1024


class NamenodeUnavailable(TransientError):
    """No namenode answered the call."""


class NamenodeCallFailed(HopsFSError):
    """A namenode answered the call with an error."""


def parse_addresses(text: str) -> list[str]:
    """ "host:port[,host:port...]" as a list; InvalidArgument-free: empty items are dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


class NamenodeLink:
    def __init__(self, addresses: Sequence[str], call_timeout_s: float = CALL_TIMEOUT_S_DEFAULT) -> None:
        check(len(addresses) > 0, "at least one namenode address")
        check(call_timeout_s > 0, "calls have a deadline")
        self.addresses = list(addresses)
        self._call_timeout_s = call_timeout_s
        self._current = 0
        self._channels: dict[int, grpc.aio.Channel] = {}
        self._stubs: dict[int, DatanodeNamenodeStub] = {}

    @property
    def current_address(self) -> str:
        return self.addresses[self._current]

    async def call(self, method: str, request: Any) -> Any:
        """`method` of the DatanodeNamenode service with `request`, failing over between namenodes."""
        failures: list[str] = []
        for step in range(len(self.addresses)):
            index = (self._current + step) % len(self.addresses)
            stub = self._stub(index)
            try:
                response = await getattr(stub, method)(request, timeout=self._call_timeout_s)
            except grpc.aio.AioRpcError as error:
                if error.code() not in _FAILOVER_CODES:
                    raise NamenodeCallFailed(
                        f"{method} on {self.addresses[index]}: {error.code().name} {error.details()}"
                    ) from error
                failures.append(f"{self.addresses[index]}: {error.code().name}")
                continue
            if index != self._current:
                LOGGER.info("namenode calls now go to %s", self.addresses[index])
                self._current = index
            return response
        raise NamenodeUnavailable(f"{method}: no namenode answered ({'; '.join(failures)})")

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
        self._stubs.clear()

    def _stub(self, index: int) -> DatanodeNamenodeStub:
        stub = self._stubs.get(index)
        if stub is None:
            options = [
                ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
                ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
            ]
            channel = grpc.aio.insecure_channel(self.addresses[index], options=options)
            self._channels[index] = channel
            stub = DatanodeNamenodeStub(channel)
            self._stubs[index] = stub
        return stub
