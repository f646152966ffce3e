"""The operation mixes and file-size distributions the workloads draw from, and the weighted draw.

SPOTIFY_MIX is hammer-bench's Spotify operation mix (HopsFS FAST'17) and HAMMER_SMALL_FILE_SIZES its
small-file size distribution, both in percent as listed in HOPSFS-FACTS.md; import checks that each
adds up to 100. `WeightedChoice` draws from either with a seeded `random.Random`: one uniform number
and a binary search over the cumulative weights per draw, so a realized mix converges on the weights
(tests/unit/bench/test_harness_generators.py measures how closely).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from hopsfs.invariants import check

T = TypeVar("T")

KIB = 1024
MIB = 1024 * KIB

# Operation names of the Spotify mix; the workload maps each to a target call.
READ = "read"
STAT_FILE = "stat_file"
STAT_DIRECTORY = "stat_dir"
LIST_DIRECTORY = "ls_dir"
LIST_FILE = "ls_file"
CREATE_FILE = "create_file"
RENAME = "rename"
DELETE = "delete"
CHOWN_DIRECTORY = "chown_dir"
SET_REPLICATION = "set_replication"
MKDIR = "mkdir"
CHMOD_FILE = "chmod_file"
CHMOD_DIRECTORY = "chmod_dir"

# hammer-bench master.properties, the Spotify workload (percent of all operations).
SPOTIFY_MIX: tuple[tuple[str, float], ...] = (
    (READ, 68.73),
    (STAT_FILE, 13.04),
    (STAT_DIRECTORY, 3.96),
    (LIST_DIRECTORY, 8.52),
    (LIST_FILE, 0.49),
    (CREATE_FILE, 2.70),
    (RENAME, 1.30),
    (DELETE, 0.75),
    (CHOWN_DIRECTORY, 0.32),
    (SET_REPLICATION, 0.14),
    (MKDIR, 0.02),
    (CHMOD_FILE, 0.02),
    (CHMOD_DIRECTORY, 0.01),
)

# hammer-bench's small-file size distribution (bytes, percent of files).
HAMMER_SMALL_FILE_SIZES: tuple[tuple[int, float], ...] = (
    (0, 0.3),
    (1 * KIB, 6.3),
    (2 * KIB, 7.2),
    (3 * KIB, 8.5),
    (4 * KIB, 9.6),
    (5 * KIB, 10.2),
    (6 * KIB, 10.5),
    (7 * KIB, 10.8),
    (8 * KIB, 11.0),
    (16 * KIB, 11.9),
    (32 * KIB, 13.7),
)

ZERO_BYTE_SIZES: tuple[tuple[int, float], ...] = ((0, 100.0),)
FILE_SIZE_DISTRIBUTIONS = {"zero": ZERO_BYTE_SIZES, "hammer": HAMMER_SMALL_FILE_SIZES}

SMALL_FILE_BYTES_MIN = 4 * KIB  # the small-files workload: uniform sizes in [MIN, MAX]
SMALL_FILE_BYTES_MAX = 64 * KIB

check(math.isclose(sum(weight for _, weight in SPOTIFY_MIX), 100.0), "the Spotify mix adds up to 100%")
check(
    math.isclose(sum(weight for _, weight in HAMMER_SMALL_FILE_SIZES), 100.0),
    "the small-file size distribution adds up to 100%",
)
check(len({name for name, _ in SPOTIFY_MIX}) == len(SPOTIFY_MIX), "each mix operation is listed once")
check(
    max(size for size, _ in HAMMER_SMALL_FILE_SIZES) <= SMALL_FILE_BYTES_MAX,
    "every distribution's file fits the small-file payload buffer",
)


@dataclass(frozen=True, slots=True)
class WeightedChoice(Generic[T]):
    """Draws items with probability proportional to their weights."""

    items: tuple[T, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weighted: Sequence[tuple[T, float]]) -> WeightedChoice[T]:
        check(len(weighted) > 0, "a choice needs at least one item")
        check(all(weight >= 0 for _, weight in weighted), "weights are not negative")
        cumulative = tuple(itertools.accumulate(weight for _, weight in weighted))
        check(cumulative[-1] > 0, "some weight is positive")
        return cls(tuple(item for item, _ in weighted), cumulative)

    def draw(self, generator: random.Random) -> T:
        point = generator.random() * self.cumulative[-1]
        # bisect_right skips zero-weight items: their cumulative equals the previous one.
        index = bisect.bisect_right(self.cumulative, point)
        return self.items[min(index, len(self.items) - 1)]

    def shares(self) -> dict[T, float]:
        """Each item's expected fraction of the draws."""
        total = self.cumulative[-1]
        previous = 0.0
        shares: dict[T, float] = {}
        for item, edge in zip(self.items, self.cumulative, strict=True):
            shares[item] = (edge - previous) / total
            previous = edge
        return shares
