"""URLs and paths of the `hopsfs://` fsspec driver: pure functions, no I/O.

A URL is `hopsfs://[authority]/path`; the authority names the namenodes (`host:port`, several
comma-separated for failover) and may be empty (`hopsfs:///data/x`), in which case the client's
configured default is used (`hopsfs.client_config`). Inside the driver a path is the absolute path
alone: it starts with "/", has no empty components, and no trailing "/" except the root itself. A
relative path is taken from the root (HDFS would resolve it against /user/<name>; fsspec callers
always mean the filesystem's root).
"""

from __future__ import annotations

import posixpath
from typing import Any

PROTOCOL = "hopsfs"
URL_PREFIX = f"{PROTOCOL}://"
ROOT = "/"


def strip_protocol(path: str) -> str:
    """The driver's path for a URL or path: absolute, normalized, no authority."""
    if path.startswith(URL_PREFIX):
        path = "/" + path[len(URL_PREFIX) :].partition("/")[2]
    elif path.startswith(f"{PROTOCOL}::"):
        path = path[len(PROTOCOL) + 2 :]
    return normalize(path)


def normalize(path: str) -> str:
    """`path` made absolute with single slashes and no trailing slash ("/" for the root)."""
    parts = [part for part in path.split("/") if part and part != "."]
    return ROOT + "/".join(parts)


def authority_of(url: str) -> str:
    """The namenode part of a `hopsfs://` URL ("" when it names none)."""
    if not url.startswith(URL_PREFIX):
        return ""
    return url[len(URL_PREFIX) :].partition("/")[0]


def kwargs_from_url(url: str) -> dict[str, Any]:
    """Constructor arguments a URL carries: its namenodes as `host` (with ports), if any."""
    authority = authority_of(url)
    return {"host": authority} if authority else {}


def namenode_url(host: str | None, port: int | None) -> str | None:
    """The client URL for a `host` (which may carry ports, or list several namenodes) and `port`."""
    if not host:
        if port is not None:
            raise ValueError("a hopsfs port was given without a host")
        return None
    if host.startswith(URL_PREFIX):
        host = authority_of(host)
    if port is None:
        return URL_PREFIX + host
    if "," in host or ":" in host.rsplit("]", 1)[-1]:
        raise ValueError(f"port {port} given, but host {host!r} already names its port(s)")
    return f"{URL_PREFIX}{host}:{port}"


def is_within(path: str, ancestor: str) -> bool:
    """Whether normalized `path` is `ancestor` or below it."""
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


def basename(path: str) -> str:
    return posixpath.basename(path)


def join(directory: str, name: str) -> str:
    return normalize(posixpath.join(directory, name))
