"""Latency histograms with logarithmic buckets (HdrHistogram's layout), mergeable across processes.

A value below 2**(SUB_BUCKET_BITS + 1) ns has a bucket of its own; a larger value keeps its top
SUB_BUCKET_BITS + 1 significant bits, so every bucket spans at most 1/2**SUB_BUCKET_BITS of its
lower edge (0.8% with 7 bits) and a percentile read back is within half of that of the exact one.
The bucket key is monotonic in the value, so walking the keys in order walks the latencies in order.

Merging two histograms adds their counts bucket by bucket: the merge of the client processes'
histograms is exactly the histogram of all their latencies, which is why each process keeps one and
the coordinator sums them instead of shipping every sample.

Bounds: at most (64 - SUB_BUCKET_BITS) * 2**SUB_BUCKET_BITS buckets for 64-bit latencies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from hopsfs.errors import InvariantViolation
from hopsfs.invariants import check

SUB_BUCKET_BITS = 7
SUB_BUCKETS = 1 << SUB_BUCKET_BITS  # 128 sub-buckets per power of two
EXACT_LIMIT = 2 * SUB_BUCKETS  # values below this have a bucket each
RELATIVE_ERROR_MAX = 1 / SUB_BUCKETS

check(EXACT_LIMIT == 1 << (SUB_BUCKET_BITS + 1), "exact buckets end where shifting starts")


def bucket_key(value: int) -> int:
    """The bucket of a non-negative value; larger values never get a smaller key."""
    check(value >= 0, "latencies are not negative")
    if value < EXACT_LIMIT:
        return value
    shift = value.bit_length() - (SUB_BUCKET_BITS + 1)
    mantissa = value >> shift  # in [SUB_BUCKETS, 2 * SUB_BUCKETS)
    return shift * SUB_BUCKETS + mantissa


def bucket_bounds(key: int) -> tuple[int, int]:
    """The smallest and largest value that fall into bucket `key`."""
    check(key >= 0, "bucket keys are not negative")
    if key < EXACT_LIMIT:
        return key, key
    shift = key // SUB_BUCKETS - 1
    mantissa = key - shift * SUB_BUCKETS
    return mantissa << shift, ((mantissa + 1) << shift) - 1


def bucket_value(key: int) -> int:
    """The value a percentile in bucket `key` reports: the middle of the bucket."""
    low, high = bucket_bounds(key)
    return (low + high) // 2


@dataclass(slots=True)
class LatencyHistogram:
    """Counts of latencies (ns) per bucket, plus the exact count, sum, minimum and maximum."""

    counts: dict[int, int] = field(default_factory=dict)
    count: int = 0
    total_ns: int = 0
    minimum_ns: int = 0
    maximum_ns: int = 0

    def record(self, latency_ns: int) -> None:
        key = bucket_key(latency_ns)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.count == 0 or latency_ns < self.minimum_ns:
            self.minimum_ns = latency_ns
        self.maximum_ns = max(self.maximum_ns, latency_ns)
        self.count += 1
        self.total_ns += latency_ns

    def merge(self, other: LatencyHistogram) -> None:
        """Add `other`'s latencies to this histogram."""
        if other.count == 0:
            return
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        self.minimum_ns = other.minimum_ns if self.count == 0 else min(self.minimum_ns, other.minimum_ns)
        self.maximum_ns = max(self.maximum_ns, other.maximum_ns)
        self.count += other.count
        self.total_ns += other.total_ns
        check(sum(self.counts.values()) == self.count, "bucket counts add up to the count")

    def percentile_ns(self, fraction: float) -> int:
        """The latency at or below which `fraction` of the recorded latencies fall (nearest rank)."""
        check(0.0 <= fraction <= 1.0, "a percentile is a fraction between 0 and 1")
        check(self.count > 0, "a percentile of an empty histogram")
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen >= rank:
                # Clamp to the exact extremes: the first and last bucket are known better than halfway.
                return min(max(bucket_value(key), self.minimum_ns), self.maximum_ns)
        raise InvariantViolation("the ranks cover every recorded latency")

    @property
    def mean_ns(self) -> float:
        return self.total_ns / self.count if self.count else 0.0

    def cumulative(self) -> Iterator[tuple[int, float]]:
        """(latency ns, fraction of latencies at or below it) per non-empty bucket, ascending."""
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            yield min(bucket_bounds(key)[1], self.maximum_ns), seen / self.count

    def as_pairs(self) -> list[list[int]]:
        """The non-empty buckets as [key, count] pairs (JSON)."""
        return [[key, self.counts[key]] for key in sorted(self.counts)]

    @classmethod
    def from_pairs(
        cls, pairs: list[list[int]], total_ns: int, minimum_ns: int, maximum_ns: int
    ) -> LatencyHistogram:
        counts = {int(key): int(count) for key, count in pairs}
        check(all(count > 0 for count in counts.values()), "stored buckets are not empty")
        return cls(counts, sum(counts.values()), total_ns, minimum_ns, maximum_ns)
