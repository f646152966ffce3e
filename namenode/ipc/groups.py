"""Group membership of the users that connect, as the namenode's host sees it.

Hadoop's default (ShellBasedUnixGroupsMapping) asks the namenode's operating system and caches the
answer for 300 s; so does this. A user unknown to the host has no groups: with simple authentication
the client names its user, but groups are the server's to decide.
"""

from __future__ import annotations

import grp
import os
import pwd
import threading
import time

GROUP_CACHE_SECONDS = 300.0


class GroupResolver:
    def __init__(self, cache_seconds: float = GROUP_CACHE_SECONDS) -> None:
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def groups(self, user: str) -> tuple[str, ...]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        found = _os_groups(user)
        with self._lock:
            self._cache[user] = (now, found)
        return found


def _os_groups(user: str) -> tuple[str, ...]:
    try:
        entry = pwd.getpwnam(user)
    except (KeyError, UnicodeEncodeError, ValueError):
        return ()
    names: list[str] = []
    for gid in os.getgrouplist(user, entry.pw_gid):
        try:
            name = grp.getgrgid(gid).gr_name
        except KeyError:
            continue
        if name not in names:
            names.append(name)
    return tuple(names)
