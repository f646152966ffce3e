"""hopsfs: a HopsFS-style distributed filesystem whose namespace lives in SQL tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hopsfs.client import AsyncClient, Client


def connect(url: str | None = None, **options: Any) -> Client:
    """A blocking client for `hopsfs://host:port` (see `hopsfs.client.connect`)."""
    from hopsfs.client import connect as connect_client

    return connect_client(url, **options)


def __getattr__(name: str) -> Any:
    # The client pulls in asyncio and protobuf: load it only when asked, so `import hopsfs` by a
    # server or a tool stays cheap.
    if name in ("AsyncClient", "Client"):
        import hopsfs.client

        return getattr(hopsfs.client, name)
    raise AttributeError(f"module 'hopsfs' has no attribute {name!r}")


__all__ = ["AsyncClient", "Client", "__version__", "connect"]
