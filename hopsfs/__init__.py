"""hopsfs: a HopsFS-style distributed filesystem whose namespace lives in SQL tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hopsfs.client import AsyncClient, Client


def connect(url: str | None = None, **options: Any) -> Client:
    """A blocking client for `hopsfs://host:port` (see `hopsfs.client.connect`). Without a URL or
    user, the defaults come from HOPSFS_URL / HADOOP_USER_NAME, then the client config file
    (`hopsfs.client_config`: ~/.hopsfs/client.toml or HOPSFS_CLIENT_CONFIG)."""
    from hopsfs.client import connect as connect_client
    from hopsfs.client_config import resolve_client_config

    config = resolve_client_config(url, options.pop("user", None))
    return connect_client(config.url, user=config.user, **options)


def __getattr__(name: str) -> Any:
    # The client pulls in asyncio and protobuf: load it only when asked, so `import hopsfs` by a
    # server or a tool stays cheap.
    if name in ("AsyncClient", "Client"):
        import hopsfs.client

        return getattr(hopsfs.client, name)
    raise AttributeError(f"module 'hopsfs' has no attribute {name!r}")


__all__ = ["AsyncClient", "Client", "__version__", "connect"]
