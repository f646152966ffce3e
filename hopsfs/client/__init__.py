"""The hopsfs client: `AsyncClient` (asyncio core) and `Client` (blocking facade); `connect()` makes one.

File data: `Client.open` / `create` / `append` return `InputStream` / `OutputStream` (binary file
objects); `AsyncClient`'s return `AsyncInputStream` / `AsyncOutputStream`. `StreamSettings` holds the
data path's timeouts, windows and buffer sizes.
"""

from hopsfs.client.core import AsyncClient
from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.client.output_stream import AsyncOutputStream
from hopsfs.client.stream_settings import StreamSettings
from hopsfs.client.sync import Client, connect
from hopsfs.client.sync_streams import InputStream, OutputStream

__all__ = [
    "AsyncClient",
    "AsyncInputStream",
    "AsyncOutputStream",
    "Client",
    "InputStream",
    "OutputStream",
    "StreamSettings",
    "connect",
]
