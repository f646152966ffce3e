"""Latency statistics of the harness: log-bucket histograms, their percentiles against exact sorted
samples, and merging across client processes (real spawned processes, tallies sent back pickled)."""

from __future__ import annotations

import json
import math
import multiprocessing
import pickle
import random

import pytest

from bench.harness.histogram import (
    EXACT_LIMIT,
    RELATIVE_ERROR_MAX,
    LatencyHistogram,
    bucket_bounds,
    bucket_key,
)
from bench.harness.results import ERROR_SAMPLES_MAX, OperationTally, PhaseOutcome, merge_outcomes
from hopsfs.errors import InvariantViolation

FRACTIONS = (0.5, 0.9, 0.99, 0.999)


def _samples(seed: int, count: int) -> list[int]:
    generator = random.Random(seed)
    # Log-normal around 200 µs with a long tail, as file-system latencies are.
    return [int(generator.lognormvariate(12.2, 1.0)) for _ in range(count)]


def _exact(ordered: list[int], fraction: float) -> int:
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]  # nearest rank


def _histogram(values: list[int]) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    return histogram


def _client_tally(seed: int) -> bytes:
    """What a client process does: record its latencies, send the tally back pickled."""
    tally = OperationTally("stat")
    for value in _samples(seed, 20_000):
        tally.histogram.record(value)
    return pickle.dumps(tally)


def test_buckets_hold_their_values_and_are_narrow() -> None:
    generator = random.Random(1)
    values = [*range(EXACT_LIMIT + 5), *(generator.randrange(1, 10**12) for _ in range(20_000))]
    for value in values:
        low, high = bucket_bounds(bucket_key(value))
        assert low <= value <= high
        assert high - low <= max(0, low * RELATIVE_ERROR_MAX)
    keys = [bucket_key(value) for value in sorted(values)]
    assert keys == sorted(keys)  # a larger latency never lands in an earlier bucket


def test_percentiles_match_exact_sorted_samples_within_the_bucket_error() -> None:
    values = _samples(7, 50_000)
    histogram = _histogram(values)
    ordered = sorted(values)
    for fraction in FRACTIONS:
        exact = _exact(ordered, fraction)
        assert abs(histogram.percentile_ns(fraction) - exact) <= exact * RELATIVE_ERROR_MAX
    assert histogram.percentile_ns(0.0) == ordered[0] and histogram.percentile_ns(1.0) == ordered[-1]
    assert histogram.count == len(values) and histogram.total_ns == sum(values)
    with pytest.raises(InvariantViolation):
        LatencyHistogram().percentile_ns(0.5)


def test_tallies_merged_across_processes_equal_one_tally_of_all_samples() -> None:
    seeds = [11, 12, 13]
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(seeds)) as pool:
        pickled = pool.map(_client_tally, seeds)
    merged = OperationTally("stat")
    for blob in pickled:
        merged.merge(pickle.loads(blob))
    every_sample = [value for seed in seeds for value in _samples(seed, 20_000)]
    single = _histogram(every_sample)
    assert merged.histogram.counts == single.counts
    assert (merged.ops, merged.histogram.total_ns) == (len(every_sample), sum(every_sample))
    assert (merged.histogram.minimum_ns, merged.histogram.maximum_ns) == (
        min(every_sample),
        max(every_sample),
    )
    ordered = sorted(every_sample)
    for fraction in FRACTIONS:
        exact = _exact(ordered, fraction)
        assert merged.histogram.percentile_ns(fraction) == single.percentile_ns(fraction)
        assert abs(merged.histogram.percentile_ns(fraction) - exact) <= exact * RELATIVE_ERROR_MAX


def test_histograms_survive_the_json_report() -> None:
    histogram = _histogram(_samples(3, 5_000))
    stored = json.loads(json.dumps(histogram.as_pairs()))
    restored = LatencyHistogram.from_pairs(
        stored, histogram.total_ns, histogram.minimum_ns, histogram.maximum_ns
    )
    assert restored == histogram
    cumulative = list(restored.cumulative())
    assert cumulative[-1][1] == 1.0 and cumulative[-1][0] == histogram.maximum_ns
    assert [share for _, share in cumulative] == sorted(share for _, share in cumulative)


def test_phase_outcomes_merge_into_group_throughput() -> None:
    start_ns = 1_000_000_000

    def outcome(latencies: list[int], errors: int, finished_ns: int) -> PhaseOutcome:
        tally = OperationTally("create")
        for latency in latencies:
            tally.histogram.record(latency)
        for index in range(errors):
            tally.record_error(OSError(f"disk full {index}"))
        tally.record_unsupported("no such call")
        return PhaseOutcome("create", {"create": tally}, finished_ns)

    merged = merge_outcomes(
        "create",
        start_ns,
        [outcome([10, 20, 30], 4, start_ns + 500_000_000), outcome([40], 3, start_ns + 2_000_000_000)],
    )
    tally = merged.tallies["create"]
    assert merged.elapsed_s == 2.0  # the group's phase lasts until its last client is done
    assert (tally.ops, tally.errors, tally.unsupported) == (4, 7, 2)
    assert merged.ops_per_s(tally) == 2.0
    assert len(tally.error_samples) == ERROR_SAMPLES_MAX
    assert tally.unsupported_reason == "no such call"
    total = merged.total()
    assert (total.operation, total.attempts) == ("all", tally.attempts)
    with pytest.raises(InvariantViolation):
        merge_outcomes("stat", start_ns, [outcome([1], 0, start_ns + 1)])
