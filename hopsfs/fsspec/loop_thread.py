"""The event loop the blocking fsspec API runs the driver on: one per process, in a daemon thread.

fsspec runs an async driver's coroutines on a loop thread of its own (stock asyncio). Ours runs on
the loop `hopsfs.client.event_loop` picks (uvloop where installed), as the blocking client does. The
thread starts on first use; a forked child starts its own (the parent's thread does not exist there).
"""

from __future__ import annotations

import asyncio
import os
import threading

from hopsfs.client.event_loop import new_event_loop

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def driver_loop() -> asyncio.AbstractEventLoop:
    """The running loop of the driver's thread (started now if needed)."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = _start_loop()
        return _loop


def _start_loop() -> asyncio.AbstractEventLoop:
    loop = new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="hopsfs-fsspec", daemon=True)
    thread.start()
    return loop


def _forget_after_fork() -> None:
    global _loop, _lock
    _loop = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
