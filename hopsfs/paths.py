"""Path validation and splitting, done before a path reaches the database.

A valid path is absolute and normalized: "/" or "/c1/c2/..." where each component is non-empty, is
not "." or "..", holds no "/", ":" (HDFS refuses it) or NUL, and is at most
PATH_COMPONENT_BYTES_MAX bytes of UTF-8. The whole path is bounded in bytes and depth.
"""

from __future__ import annotations

from hopsfs import limits
from hopsfs.errors import InvalidPath

ROOT = "/"


def split_path(path: str) -> tuple[str, ...]:
    """The components of a valid absolute path; () for the root. Raises InvalidPath."""
    if not isinstance(path, str):
        raise InvalidPath(f"path must be a string, not {type(path).__name__}")
    if not path.startswith("/"):
        raise InvalidPath(f"path is not absolute: {path!r}")
    if path == ROOT:
        return ()
    encoded_length = len(path.encode("utf-8", errors="surrogatepass"))
    if encoded_length > limits.PATH_BYTES_MAX:
        raise InvalidPath(f"path is {encoded_length} bytes, above the limit of {limits.PATH_BYTES_MAX}")
    components = tuple(path[1:].split("/"))
    if len(components) > limits.PATH_DEPTH_MAX:
        raise InvalidPath(
            f"path is {len(components)} levels deep, above the limit of {limits.PATH_DEPTH_MAX}"
        )
    for component in components:
        check_component(component, path)
    return components


def check_component(component: str, path: str) -> None:
    """Raise InvalidPath unless `component` is a valid name inside `path`."""
    if component in ("", ".", ".."):
        shown = "an empty component" if component == "" else f"component {component!r}"
        raise InvalidPath(f"path is not normalized ({shown}): {path!r}")
    if "\x00" in component or ":" in component:
        character = "\x00" if "\x00" in component else ":"
        raise InvalidPath(f"path component {component!r} holds the forbidden character {character!r}")
    if len(component) * 4 <= limits.PATH_COMPONENT_BYTES_MAX and component.isprintable():
        return  # short enough that no UTF-8 encoding can exceed the limit
    try:
        size = len(component.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise InvalidPath(f"path component is not valid Unicode: {path!r}") from error
    if size > limits.PATH_COMPONENT_BYTES_MAX:
        raise InvalidPath(
            f"path component is {size} bytes, above the limit of {limits.PATH_COMPONENT_BYTES_MAX}: {path!r}"
        )


def join_path(components: tuple[str, ...] | list[str]) -> str:
    """The path of `components`; "/" for none."""
    return "/" + "/".join(components)


def child_path(parent: str, name: str) -> str:
    """The path of entry `name` inside the directory at `parent`."""
    return f"/{name}" if parent == ROOT else f"{parent.rstrip('/')}/{name}"


def parent_path(path: str) -> str:
    """The parent of a valid non-root path."""
    head = path.rsplit("/", 1)[0]
    return head or ROOT


def is_same_or_under(path: str, ancestor: str) -> bool:
    """True when `path` equals `ancestor` or lies inside it (component-wise, not string prefix)."""
    if ancestor == ROOT:
        return True
    return path == ancestor or path.startswith(ancestor + "/")
