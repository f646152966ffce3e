"""Where a hopsfs node keeps its state and which metadata store it uses.

Precedence: command-line flag, then environment (HOPSFS_DATA_DIR, HOPSFS_METADATA_URL), then the
embedded default: a SQLite file in the data directory (~/.hopsfs).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "HOPSFS_DATA_DIR"
METADATA_URL_ENV = "HOPSFS_METADATA_URL"
DEFAULT_DATA_DIR = Path("~/.hopsfs")
METADATA_FILE_NAME = "metadata.db"
DEFAULT_SUPERGROUP = "supergroup"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    data_dir: Path
    metadata_url: str


def resolve_config(data_dir: str | None = None, metadata_url: str | None = None) -> NodeConfig:
    directory = Path(data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser().resolve()
    url = metadata_url or os.environ.get(METADATA_URL_ENV) or f"sqlite:///{directory / METADATA_FILE_NAME}"
    return NodeConfig(directory, url)


def current_user() -> str:
    """HADOOP_USER_NAME if set (as Hadoop clients do), else the operating-system user."""
    return os.environ.get("HADOOP_USER_NAME") or getpass.getuser()
