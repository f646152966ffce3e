"""Where a client finds its cluster when the caller names none: HOPSFS_URL, then a config file.

Precedence for the namenode URL: the caller's own URL (or host and port), then the HOPSFS_URL
environment variable, then `url` in the client config file, then hopsfs://127.0.0.1:8020 (what
`hopsfs up` serves). For the user: the caller's, then HADOOP_USER_NAME, then `user` in the file, then
the operating-system user. The file is TOML, at HOPSFS_CLIENT_CONFIG if set (it must then exist),
else ~/.hopsfs/client.toml if present:

    url = "hopsfs://namenode-1:8020,namenode-2:8020"
    user = "alice"

So `hopsfs.connect()` and `pd.read_parquet("hopsfs:///data/x.parquet")` work with no address in the
code. A bad value (unreadable or invalid TOML, an unknown key, a wrong type, a URL that is not a
hopsfs URL) raises `InvalidArgument` naming where the value came from: configuration is never
silently ignored. Reading the file is the only I/O; nothing is cached, so a notebook that edits the
file or the environment sees the change on the next connect.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hopsfs.client.address import DEFAULT_URL, URL_ENV, namenode_addresses
from hopsfs.config import current_user
from hopsfs.errors import InvalidArgument

CONFIG_PATH_ENV = "HOPSFS_CLIENT_CONFIG"
CONFIG_PATH_DEFAULT = Path("~/.hopsfs/client.toml")
USER_ENV = "HADOOP_USER_NAME"
# A config file is a few lines; anything this large is not one (and is not read into memory).
CONFIG_FILE_BYTES_MAX = 64 * 1024
_KEYS = frozenset({"url", "user"})


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The cluster a client talks to and as whom; `url_source` says where the URL came from."""

    url: str
    user: str
    url_source: str


def resolve_client_config(url: str | None = None, user: str | None = None) -> ClientConfig:
    """The URL and user for a new client: the arguments where given, else the defaults above."""
    file_values = _file_values(config_path())
    chosen_url, url_source = _choose_url(url, file_values)
    _check_url(chosen_url, url_source)
    chosen_user = user or os.environ.get(USER_ENV) or file_values.get("user") or current_user()
    return ClientConfig(url=chosen_url, user=chosen_user, url_source=url_source)


def config_path() -> Path | None:
    """The config file to read: HOPSFS_CLIENT_CONFIG (which must exist), else the default if present."""
    named = os.environ.get(CONFIG_PATH_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise InvalidArgument(f"{CONFIG_PATH_ENV}={named!r} names no readable file")
        return path
    default = CONFIG_PATH_DEFAULT.expanduser()
    return default if default.is_file() else None


def parse_config_text(text: str, source: str) -> dict[str, str]:
    """The values of a config file's text; InvalidArgument naming `source` for anything wrong."""
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidArgument(f"hopsfs client config {source} is not valid TOML: {error}") from error
    unknown = sorted(set(values) - _KEYS)
    if unknown:
        raise InvalidArgument(
            f"hopsfs client config {source} has unknown keys {unknown} (known: {sorted(_KEYS)})"
        )
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            raise InvalidArgument(f"hopsfs client config {source}: {key} must be a non-empty string")
    return values


def _file_values(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        size = path.stat().st_size
        if size > CONFIG_FILE_BYTES_MAX:
            raise InvalidArgument(f"hopsfs client config {path} is {size} bytes: not a config file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"hopsfs client config {path} cannot be read: {error}") from error
    return parse_config_text(text, str(path))


def _choose_url(url: str | None, file_values: dict[str, str]) -> tuple[str, str]:
    if url:
        return url, "the caller"
    from_environment = os.environ.get(URL_ENV)
    if from_environment:
        return from_environment, URL_ENV
    if "url" in file_values:
        return file_values["url"], f"the client config {config_path()}"
    return DEFAULT_URL, "the built-in default"


def _check_url(url: str, source: str) -> None:
    try:
        addresses = namenode_addresses(url)
    except InvalidArgument as error:
        raise InvalidArgument(f"bad hopsfs URL from {source}: {error}") from error
    if not addresses:
        raise InvalidArgument(f"the hopsfs URL {url!r} from {source} names no namenode")
