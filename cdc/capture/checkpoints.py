"""Where capture resumes, as stored in the durable log next to the events it covers (JSON bytes)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hopsfs.errors import StoreError


@dataclass(frozen=True, slots=True)
class Checkpoint:
    backend: str  # "sqlite" or "mysql"
    sequence: int = 0  # sqlite: the last change-log sequence captured
    binlog_file: str = ""  # mysql: the binlog coordinates just after the last captured commit
    binlog_position: int = 0

    def encode(self) -> bytes:
        return json.dumps(
            {
                "backend": self.backend,
                "sequence": self.sequence,
                "binlog_file": self.binlog_file,
                "binlog_position": self.binlog_position,
            },
            sort_keys=True,
        ).encode()


def decode_checkpoint(data: bytes) -> Checkpoint:
    try:
        values = json.loads(data)
        return Checkpoint(
            backend=str(values["backend"]),
            sequence=int(values["sequence"]),
            binlog_file=str(values["binlog_file"]),
            binlog_position=int(values["binlog_position"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise StoreError(f"the CDC log's capture checkpoint is unreadable: {data!r}") from error
