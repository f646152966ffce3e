"""The hopsfs client: `AsyncClient` (asyncio core) and `Client` (blocking facade); `connect()` makes one."""

from hopsfs.client.core import AsyncClient
from hopsfs.client.sync import Client, connect

__all__ = ["AsyncClient", "Client", "connect"]
