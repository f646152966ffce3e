"""The pure pieces of truncate: where a new length cuts a file's blocks (ops/truncate.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopsfs.errors import InvariantViolation
from namenode.ops.truncate import split_at_length


@pytest.mark.parametrize(
    ("lengths", "new_length", "expected"),
    [
        ([], 0, (0, 0)),
        ([10], 0, (0, 0)),
        ([10], 10, (1, 0)),
        ([10], 3, (1, 3)),
        ([10, 10, 5], 10, (1, 0)),
        ([10, 10, 5], 11, (2, 1)),
        ([10, 10, 5], 20, (2, 0)),
        ([10, 10, 5], 24, (3, 4)),
        ([10, 10, 5], 25, (3, 0)),
    ],
)
def test_split_at_length_names_the_blocks_kept_and_the_cut(
    lengths: list[int], new_length: int, expected: tuple[int, int]
) -> None:
    assert split_at_length(lengths, new_length) == expected


def test_split_at_length_refuses_a_cut_outside_the_file() -> None:
    with pytest.raises(InvariantViolation):
        split_at_length([10], 11)
    with pytest.raises(InvariantViolation):
        split_at_length([10], -1)


@given(st.lists(st.integers(1, 50), max_size=6), st.data())
def test_split_at_length_keeps_exactly_the_new_length(lengths: list[int], data: st.DataObject) -> None:
    new_length = data.draw(st.integers(0, sum(lengths)))
    kept, cut = split_at_length(lengths, new_length)
    if cut:
        assert 0 < cut < lengths[kept - 1]
        assert sum(lengths[: kept - 1]) + cut == new_length
    else:
        assert sum(lengths[:kept]) == new_length
