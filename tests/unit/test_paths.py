"""Path validation happens before anything reaches the database."""

from __future__ import annotations

import pytest

from hopsfs import limits
from hopsfs.errors import InvalidPath
from hopsfs.paths import is_same_or_under, join_path, parent_path, split_path


@pytest.mark.parametrize(
    ("path", "components"),
    [("/", ()), ("/a", ("a",)), ("/a/b c/Ärger", ("a", "b c", "Ärger")), ("/" + "x" * 255, ("x" * 255,))],
)
def test_valid_paths_split_into_components(path: str, components: tuple[str, ...]) -> None:
    assert split_path(path) == components
    assert join_path(components) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "a/b",
        "//",
        "/a/",
        "/a//b",
        "/a/./b",
        "/a/../b",
        "/.",
        "/a:b",
        "/a\x00b",
        "/" + "x" * 256,
        "/" + "é" * 128,  # 256 bytes of UTF-8 in 128 characters
        "/\ud800",  # a lone surrogate cannot be stored as UTF-8
        "/a" * (limits.PATH_DEPTH_MAX + 1),
        "/" + "/".join(["y" * 200] * 41),  # over PATH_BYTES_MAX
    ],
)
def test_invalid_paths_are_refused_with_invalid_path(path: str) -> None:
    with pytest.raises(InvalidPath):
        split_path(path)


def test_non_string_path_is_refused() -> None:
    with pytest.raises(InvalidPath, match="must be a string"):
        split_path(b"/a")  # type: ignore[arg-type]


def test_parent_and_ancestry_are_component_wise() -> None:
    assert parent_path("/a/b") == "/a"
    assert parent_path("/a") == "/"
    assert is_same_or_under("/a/b", "/a")
    assert is_same_or_under("/a", "/a")
    assert not is_same_or_under("/ab", "/a")
    assert is_same_or_under("/anything", "/")
