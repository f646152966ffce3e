"""The harness's generators: the namespace tree shape, the live-path model, the small-file size
distribution and the Spotify operation mix (the realized mix matches the weights within tolerance)."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from bench.harness import distributions as mix
from bench.harness.namespace import LivePaths, NamespaceShape, plan_tree
from bench.harness.results import OperationTally
from bench.harness.targets.local import LocalTarget
from bench.harness.worker import run_steps
from bench.harness.workloads import ClientContext, WorkloadSettings
from bench.harness.workloads.spotify import MIX_PHASE, SpotifyWorkload
from hopsfs.errors import InvariantViolation

DRAWS = 200_000
SIGMAS = 5.0  # a share further than this many binomial standard deviations off the weight fails


def _within_tolerance(observed: int, draws: int, expected_share: float) -> bool:
    sigma = math.sqrt(draws * expected_share * (1 - expected_share))
    return abs(observed - draws * expected_share) <= SIGMAS * max(sigma, 1.0)


def test_default_tree_is_hammer_bench_shape() -> None:
    shape = NamespaceShape()  # hammer-bench: 2 directories per directory, 16 files each, depth 3
    plan = plan_tree("/bench/c000", shape)
    assert len(plan.directories) == 1 + 2 + 4 + 8 == shape.directory_count
    assert len(plan.files) == 16 * len(plan.directories) == shape.file_count
    assert plan.directories[0] == "/bench/c000"
    depths = Counter(path.count("/") - 2 for path in plan.directories)
    assert depths == {0: 1, 1: 2, 2: 4, 3: 8}
    seen: set[str] = set()
    for directory in plan.directories:  # parents before children: the plan can be created in order
        assert directory == plan.directories[0] or directory.rsplit("/", 1)[0] in seen
        seen.add(directory)
    files_per_directory = Counter(path.rsplit("/", 1)[0] for path in plan.files)
    assert set(files_per_directory) == set(plan.directories)
    assert set(files_per_directory.values()) == {16}
    assert len(set(plan.files) | set(plan.directories)) == len(plan.files) + len(plan.directories)


@pytest.mark.parametrize(("fanout", "files", "depth"), [(3, 5, 2), (1, 0, 4), (4, 2, 0)])
def test_tree_shapes(fanout: int, files: int, depth: int) -> None:
    plan = plan_tree("/r", NamespaceShape(fanout, files, depth))
    assert len(plan.directories) == sum(fanout**level for level in range(depth + 1))
    assert len(plan.files) == files * len(plan.directories)
    assert max(path.count("/") for path in plan.directories) == 1 + depth


def test_bad_shapes_and_roots_are_refused() -> None:
    with pytest.raises(InvariantViolation):
        NamespaceShape(-1, 16, 3)
    with pytest.raises(InvariantViolation):
        plan_tree("relative", NamespaceShape())


def test_live_paths_follow_adds_renames_and_removes() -> None:
    live = LivePaths({"/a": 1, "/b": 2, "/c": 3})
    live.rename("/a", "/z")
    live.remove("/b")
    live.add("/d", 4)
    assert ("/a" in live, "/b" in live, len(live)) == (False, False, 3)
    assert [live.size(path) for path in ("/z", "/c", "/d")] == [1, 3, 4]
    generator = random.Random(3)
    drawn = Counter(live.choice(generator) for _ in range(30_000))
    assert set(drawn) == {"/z", "/c", "/d"}
    assert all(_within_tolerance(count, 30_000, 1 / 3) for count in drawn.values())
    with pytest.raises(InvariantViolation):
        live.add("/c", 0)


def test_spotify_weights_are_hammer_bench_master_properties() -> None:
    weights = dict(mix.SPOTIFY_MIX)
    assert weights[mix.READ] == 68.73
    assert weights[mix.STAT_FILE] == 13.04
    assert weights[mix.LIST_DIRECTORY] == 8.52
    assert weights[mix.CHMOD_DIRECTORY] == 0.01
    assert len(weights) == 13
    assert math.isclose(sum(weights.values()), 100.0)


@pytest.mark.parametrize(
    "weighted", [mix.SPOTIFY_MIX, mix.HAMMER_SMALL_FILE_SIZES], ids=["spotify-mix", "small-file-sizes"]
)
def test_realized_draws_match_the_weights(weighted: tuple[tuple[object, float], ...]) -> None:
    choice = mix.WeightedChoice.of(weighted)
    generator = random.Random(11)
    drawn = Counter(choice.draw(generator) for _ in range(DRAWS))
    assert set(drawn) <= {item for item, _ in weighted}
    for item, weight in weighted:
        assert _within_tolerance(drawn[item], DRAWS, weight / 100), (item, drawn[item] / DRAWS, weight)


def test_zero_weights_are_never_drawn() -> None:
    choice = mix.WeightedChoice.of([("never", 0.0), ("always", 1.0), ("nor-this", 0.0)])
    generator = random.Random(5)
    assert {choice.draw(generator) for _ in range(10_000)} == {"always"}
    assert choice.shares() == {"never": 0.0, "always": 1.0, "nor-this": 0.0}


def test_spotify_workload_realizes_the_mix_on_a_real_directory(tmp_path: Path) -> None:
    """The workload itself, not just the draw: its steps on a real directory follow the weights,
    every answer agrees with its model (no errors), and only set_replication is unsupported there."""
    settings = WorkloadSettings(file_sizes="hammer", warmup_ops=0)
    context = ClientContext(LocalTarget(), str(tmp_path), 0, 1, settings, random.Random(2))
    workload = SpotifyWorkload(context)
    workload.setup()
    steps = 40_000
    tallies: dict[str, OperationTally] = {}
    assert run_steps(workload.steps(MIX_PHASE), tallies, None, steps) is False
    assert sum(tally.attempts for tally in tallies.values()) == steps
    assert [name for name, tally in tallies.items() if tally.errors] == []
    assert {name for name, tally in tallies.items() if tally.unsupported} <= {mix.SET_REPLICATION}
    for operation, weight in mix.SPOTIFY_MIX:
        assert _within_tolerance(tallies[operation].attempts, steps, weight / 100), operation
    read = tallies[mix.READ]
    assert read.ops > 0 and read.payload_bytes > 0  # hammer sizes: reads move bytes
    workload.teardown()
    assert list(tmp_path.iterdir()) == []
