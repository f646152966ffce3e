"""Path arguments of `hopsfs dfs`: which namenode, which absolute path, how output names it, globs.

An argument is an absolute path (`/a/b`), a path relative to the home directory `/user/<user>`
(`a/b`, `.`), or a URL (`hopsfs://host:port/a/b`, also `hdfs://`) naming another namenode; a URL
without an authority (`hopsfs:///a`) means the default namenode. `.` and `..` are resolved and
repeated slashes collapsed before anything reaches the namenode.

Output names a path the way the user wrote it, as Hadoop does: a URL stays a URL, an absolute path
stays absolute, a relative one stays relative to the home directory; an entry inside a listed
directory is that directory's name plus `/name`.

Globs follow Hadoop's: `*`, `?`, `[abc]`, `[a-z]`, `[^a]` (or `[!a]`), `{x,y}` within one path
component, `\\` escapes the next character. They expand against directory listings one component at
a time; matches come out sorted by name per directory. Expansion is bounded by GLOB_MATCHES_MAX.
Walks (`-R`) are iterative, depth first, a directory before its contents, never through a symlink.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hopsfs import limits
from hopsfs.cli.dfs_errors import NO_SUCH_PATH, CommandFailure, MissingPath
from hopsfs.client import Client, connect
from hopsfs.client.address import namenode_addresses
from hopsfs.errors import FileNotFound, HopsFSError
from hopsfs.invariants import check
from hopsfs.paths import ROOT, child_path
from hopsfs.types import FileStatus

GLOB_CHARACTERS = frozenset("*?[{")
ESCAPE = "\\"
# A glob may match at most one maximal directory's worth of paths: enough for any real use, and a
# bound on the memory `-rm -r '/*/*/*'` can take before the first delete.
GLOB_MATCHES_MAX = limits.DIRECTORY_ITEMS_MAX
CURRENT_DIRECTORY = "."
_URL_PATTERN = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/]*)(.*)", re.DOTALL)


@dataclass(slots=True)
class DfsPath:
    """One path a command works on: its namenode, absolute path, display name and (once read) status."""

    client: Client
    path: str
    display: str
    status: FileStatus | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def child(self, status: FileStatus) -> DfsPath:
        return DfsPath(self.client, status.path, child_display(self.display, status.name), status)

    def named_child(self, name: str) -> DfsPath:
        return DfsPath(self.client, child_path(self.path, name), child_display(self.display, name))


class Connections:
    """One blocking client per namenode (or namenode group) the arguments name, opened on first use."""

    def __init__(self, default_url: str | None, options: dict[str, float | int]) -> None:
        self.default_url = default_url
        self._options = options
        self._clients: dict[tuple[tuple[str, int], ...], Client] = {}

    def client(self, url: str | None) -> Client:
        """The client for `url` (None: the default namenode); InvalidArgument for a bad URL."""
        chosen = url or self.default_url
        key = tuple(namenode_addresses(chosen))
        client = self._clients.get(key)
        if client is None:
            client = connect(chosen, **self._options)
            self._clients[key] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


@dataclass(frozen=True, slots=True)
class Location:
    """An argument split into its namenode URL (None: the default one) and its path text."""

    base_url: str | None
    path_text: str

    @property
    def is_url(self) -> bool:
        return self.base_url is not None


def parse_location(text: str) -> Location:
    """Split a URL argument into `scheme://authority` and its path; any other text is a path."""
    if not text:
        raise CommandFailure("Can not create a Path from an empty string")  # Hadoop's words
    match = _URL_PATTERN.fullmatch(text)
    if match is None:
        return Location(None, text)
    scheme, authority, path_text = match.groups()
    # `hopsfs:///a` names the default namenode but keeps the scheme in what is shown.
    return Location(f"{scheme}://{authority}", path_text or ROOT)


def home_directory(client: Client) -> str:
    return f"/user/{client.user}"


def absolute_path(path_text: str, home: str) -> str:
    """`path_text` made absolute against `home`, with `.`, `..` and empty components resolved."""
    joined = path_text if path_text.startswith("/") else f"{home}/{path_text}"
    components: list[str] = []
    for component in joined.split("/"):
        if component in ("", CURRENT_DIRECTORY):
            continue
        if component == "..":
            if components:
                components.pop()  # `/..` stays at the root, as in POSIX
            continue
        components.append(component)
    return "/" + "/".join(components)


def child_display(parent_display: str, name: str) -> str:
    """How output names entry `name` of the directory shown as `parent_display` (Hadoop's rule)."""
    if parent_display == CURRENT_DIRECTORY:
        return name
    if parent_display.endswith("/"):
        return parent_display + name
    return f"{parent_display}/{name}"


def locate(connections: Connections, text: str) -> DfsPath:
    """The literal path `text` names, without reading it: for paths a command is about to create."""
    location = parse_location(text)
    client = connections.client(_client_url(location))
    path = unescape(absolute_path(location.path_text, home_directory(client)))
    return DfsPath(client, path, _display(location, path, client))


def expand(connections: Connections, text: str) -> list[DfsPath]:
    """Every existing path `text` names (globs expanded), each with its status.

    CommandFailure "`text': No such file or directory" when nothing matches.
    """
    location = parse_location(text)
    client = connections.client(_client_url(location))
    pattern = absolute_path(location.path_text, home_directory(client))
    if has_glob(pattern):
        statuses = match_glob(client, pattern, text)
    else:
        status = stat_or_none(client, unescape(pattern))
        statuses = [] if status is None else [status]
    if not statuses:
        raise MissingPath.for_path(text, NO_SUCH_PATH)
    return [
        DfsPath(client, status.path, _display(location, status.path, client), status) for status in statuses
    ]


def stat_or_none(client: Client, path: str) -> FileStatus | None:
    try:
        return client.stat(path)
    except FileNotFound:
        return None


def list_directory(directory: DfsPath) -> list[DfsPath]:
    """The entries of a directory, sorted by name; [] when it is gone or no longer a directory."""
    statuses = directory_entries(directory.client, directory.path)
    return [directory.child(status) for status in statuses]


def directory_entries(client: Client, path: str) -> list[FileStatus]:
    try:
        statuses = client.list(path)
    except FileNotFound:
        return []
    # A file or symlink lists as itself: it has no entries.
    if len(statuses) == 1 and statuses[0].path == path:
        return []
    return statuses


def walk_below(
    root: DfsPath,
    list_children: Callable[[DfsPath], list[DfsPath]],
    on_error: Callable[[HopsFSError, DfsPath], None],
) -> Iterator[DfsPath]:
    """Every path below `root`, depth first, each directory before its contents.

    A directory is listed only after the caller has handled it (so `-chmod -R` may open it first);
    a listing that fails goes to `on_error` and the walk goes on with the rest.
    """
    check(root.status is not None and root.status.is_directory, "a walk starts at a directory")
    pending: list[Iterator[DfsPath]] = [iter(_children_or_report(root, list_children, on_error))]
    while pending:
        entry = next(pending[-1], None)
        if entry is None:
            pending.pop()
            continue
        yield entry
        if entry.status is not None and entry.status.is_directory:
            check(len(pending) <= limits.PATH_DEPTH_MAX, "a walk cannot go deeper than a path can")
            pending.append(iter(_children_or_report(entry, list_children, on_error)))


def _children_or_report(
    directory: DfsPath,
    list_children: Callable[[DfsPath], list[DfsPath]],
    on_error: Callable[[HopsFSError, DfsPath], None],
) -> list[DfsPath]:
    try:
        return list_children(directory)
    except HopsFSError as error:
        on_error(error, directory)
        return []


def _client_url(location: Location) -> str | None:
    if location.base_url is None or location.base_url.endswith("://"):
        return None
    return location.base_url


def _display(location: Location, path: str, client: Client) -> str:
    """How output names `path`, reached through an argument written as `location`."""
    if location.base_url is not None:
        return location.base_url + path
    if location.path_text.startswith("/"):
        return path
    return posixpath.relpath(path, home_directory(client))


# -- globs ---------------------------------------------------------------------------------------


def has_glob(text: str) -> bool:
    """True when `text` holds an unescaped glob character."""
    escaped = False
    for character in text:
        if escaped:
            escaped = False
        elif character == ESCAPE:
            escaped = True
        elif character in GLOB_CHARACTERS:
            return True
    return False


def unescape(text: str) -> str:
    """`text` with each backslash escape replaced by the character it protects."""
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def match_glob(client: Client, pattern: str, text: str) -> list[FileStatus]:
    """The existing paths matching the absolute glob `pattern` (written `text`), in listing order."""
    check(pattern.startswith("/"), "glob patterns are absolute by now")
    candidates: list[tuple[str, FileStatus | None]] = [(ROOT, None)]
    for component in pattern.split("/")[1:]:
        if has_glob(component):
            candidates = _matching_children(client, candidates, component_regex(component), text)
        else:
            name = unescape(component)
            candidates = [(child_path(path, name), None) for path, _ in candidates]
    matches: list[FileStatus] = []
    for path, status in candidates:
        found = status if status is not None else stat_or_none(client, path)
        if found is not None:
            matches.append(found)
    return matches


def _matching_children(
    client: Client, candidates: list[tuple[str, FileStatus | None]], regex: re.Pattern[str], text: str
) -> list[tuple[str, FileStatus | None]]:
    matched: list[tuple[str, FileStatus | None]] = []
    for path, _ in candidates:
        for status in directory_entries(client, path):
            if regex.fullmatch(status.name):
                matched.append((status.path, status))
        if len(matched) > GLOB_MATCHES_MAX:
            raise CommandFailure.for_path(text, f"matches more than {GLOB_MATCHES_MAX} paths")
    return matched


def component_regex(component: str) -> re.Pattern[str]:
    """The regular expression for one glob component; unbalanced braces are taken literally."""
    translated = _translate_component(component, braces=True)
    if translated is None:
        translated = _translate_component(component, braces=False)
    check(translated is not None, "a component translates once braces are literal")
    assert translated is not None
    return re.compile(translated, re.DOTALL)


def _translate_component(component: str, *, braces: bool) -> str | None:
    """Regex text for `component`; None when `braces` and they do not balance."""
    parts: list[str] = []
    depth = 0
    index = 0
    while index < len(component):
        character = component[index]
        index += 1
        if character == ESCAPE and index < len(component):
            parts.append(re.escape(component[index]))
            index += 1
        elif character == "*":
            parts.append(".*")
        elif character == "?":
            parts.append(".")
        elif character == "[":
            text, index = _translate_class(component, index)
            parts.append(text)
        elif braces and character == "{":
            depth += 1
            parts.append("(?:")
        elif braces and character == "}" and depth:
            depth -= 1
            parts.append(")")
        elif braces and character == "," and depth:
            parts.append("|")
        else:
            parts.append(re.escape(character))
    return None if depth else "".join(parts)


def _translate_class(component: str, start: int) -> tuple[str, int]:
    """Regex for the class opened just before `start`, and the index after it; a lone `[` is literal."""
    negated = component[start : start + 1] in ("^", "!")
    first = start + 1 if negated else start
    # A `]` right after the opening (or its negation) belongs to the class, as in POSIX.
    search_from = first + 1 if component[first : first + 1] == "]" else first
    end = component.find("]", search_from)
    if end < 0:
        return re.escape("["), start
    body = component[first:end]
    escaped = "".join("\\" + character if character in "\\[]^" else character for character in body)
    return f"[{'^' if negated else ''}{escaped}]", end + 1
