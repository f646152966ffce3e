"""Namenode addresses from a hopsfs URL: `hopsfs://host[:port][,host[:port]...][/path]`.

Several comma-separated namenodes are tried in order and failed over between; a port defaults to
8020 (HDFS's). `hdfs://` is accepted too, since the wire protocol is the same. Without a URL the
client reads HOPSFS_URL, then falls back to hopsfs://127.0.0.1:8020 (what `hopsfs up` serves).
"""

from __future__ import annotations

import os

from hopsfs.errors import InvalidArgument

DEFAULT_PORT = 8020
URL_ENV = "HOPSFS_URL"
DEFAULT_URL = f"hopsfs://127.0.0.1:{DEFAULT_PORT}"
SCHEMES = ("hopsfs", "hdfs")


def namenode_addresses(url: str | None = None) -> list[tuple[str, int]]:
    """The (host, port) pairs a URL names, in order."""
    text = url or os.environ.get(URL_ENV) or DEFAULT_URL
    scheme, separator, rest = text.partition("://")
    if not separator or scheme not in SCHEMES:
        raise InvalidArgument(f"not a hopsfs URL: {text!r} (expected hopsfs://host:port)")
    authority = rest.split("/", 1)[0]
    if not authority:
        raise InvalidArgument(f"the URL {text!r} names no namenode host")
    return [_address(part, text) for part in authority.split(",")]


def _address(part: str, url: str) -> tuple[str, int]:
    part = part.rsplit("@", 1)[-1]  # user@host: the user comes from HADOOP_USER_NAME, not the URL
    if part.startswith("["):
        host, _, tail = part[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port_text = part.partition(":")
    if not host:
        raise InvalidArgument(f"empty host in {url!r}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidArgument(f"bad port {port_text!r} in {url!r}")
    return host, int(port_text)
