"""Retention of the durable log: keep at most N events and nothing older than an age.

Removal never passes `floor`: the first event whose change-log row is not trimmed yet, or the first
event a sink has not applied (sinks are part of the service; they must not lose events). A
subscriber outside the service that falls behind is told so (OUT_OF_RANGE), never skipped ahead.
Each call removes at most RETENTION_REMOVE_BATCH_EVENTS events, so one call is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdc.log import DurableLog
from cdc.settings import RETENTION_REMOVE_BATCH_EVENTS
from hopsfs.errors import InvalidArgument

_AGE_SCAN_PAGE = 1000


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    events_max: int
    age_s_max: float

    def __post_init__(self) -> None:
        if self.events_max < 1:
            raise InvalidArgument(f"retention must keep at least one event, not {self.events_max}")
        if self.age_s_max <= 0:
            raise InvalidArgument(f"retention age must be positive, not {self.age_s_max}")


def apply_retention(durable_log: DurableLog, policy: RetentionPolicy, floor: int, now_s: float) -> int:
    """Remove what the policy no longer keeps (below `floor` only); returns how many events went."""
    first = durable_log.first_position
    ceiling = min(floor, first + RETENTION_REMOVE_BATCH_EVENTS, durable_log.last_position + 1)
    if ceiling <= first:
        return 0
    keep_from = max(
        durable_log.last_position - policy.events_max + 1, _first_young(durable_log, policy, now_s)
    )
    return durable_log.remove_before(min(keep_from, ceiling))


def _first_young(durable_log: DurableLog, policy: RetentionPolicy, now_s: float) -> int:
    """The first position captured within the age limit (scans from the front, bounded)."""
    cutoff_ms = int((now_s - policy.age_s_max) * 1000)
    position = durable_log.first_position
    scanned = 0
    while scanned < RETENTION_REMOVE_BATCH_EVENTS:
        records = durable_log.read(position, _AGE_SCAN_PAGE)
        if not records:
            return position
        for record in records:
            if record.captured_ms >= cutoff_ms:
                return record.position
        position = records[-1].position + 1
        scanned += len(records)
    return position
