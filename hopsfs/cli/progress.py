"""A one-line progress bar on stderr for long transfers (`hopsfs dfs -put/-get/-appendToFile`).

Shown only when the stream is a terminal and the transfer is at least `PROGRESS_THRESHOLD_BYTES`
(8 MiB): a pipe or a log file never gets carriage returns and partial lines. The line is redrawn at
most every `REDRAW_INTERVAL_S` and shows bytes done of the total, percent, rate and time left:

    /data/big.bin  45% [#############                 ] 12.0 MiB / 26.7 MiB  5.1 MiB/s  ETA 0:03

`render` is pure (numbers in, text out) so tests check the layout with a fixed clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TextIO

PROGRESS_THRESHOLD_BYTES = 8 * 1024 * 1024
REDRAW_INTERVAL_S = 0.2
BAR_WIDTH = 30
LABEL_CHARS_MAX = 40
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


class ProgressReporter(Protocol):
    def advance(self, count: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    """What a transfer reports to when no bar is shown."""

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


class ProgressBar:
    def __init__(
        self,
        stream: TextIO,
        label: str,
        total_bytes: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        redraw_interval_s: float = REDRAW_INTERVAL_S,
    ) -> None:
        if total_bytes < 0:
            raise ValueError("a transfer's size is never negative")
        self._stream = stream
        self._label = label if len(label) <= LABEL_CHARS_MAX else "..." + label[-(LABEL_CHARS_MAX - 3) :]
        self._total_bytes = total_bytes
        self._clock = clock
        self._redraw_interval_s = redraw_interval_s
        self._started_s = clock()
        self._drawn_s: float | None = None
        self._done_bytes = 0
        self._finished = False

    def advance(self, count: int) -> None:
        self._done_bytes += count
        now = self._clock()
        if self._drawn_s is None or now - self._drawn_s >= self._redraw_interval_s:
            self._draw(now)

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._draw(self._clock())
        self._stream.write("\n")
        self._stream.flush()

    def _draw(self, now: float) -> None:
        self._drawn_s = now
        line = render(self._label, self._done_bytes, self._total_bytes, now - self._started_s)
        self._stream.write("\r" + line)
        self._stream.flush()


def render(label: str, done_bytes: int, total_bytes: int, elapsed_s: float) -> str:
    """The progress line for `done_bytes` of `total_bytes` after `elapsed_s` seconds."""
    fraction = 1.0 if total_bytes == 0 else min(done_bytes / total_bytes, 1.0)
    filled = int(fraction * BAR_WIDTH)
    bar = "#" * filled + " " * (BAR_WIDTH - filled)
    rate = done_bytes / elapsed_s if elapsed_s > 0 else 0.0
    eta = _duration_text(max(total_bytes - done_bytes, 0) / rate) if rate > 0 else "--:--"
    return (
        f"{label} {int(fraction * 100):3d}% [{bar}] {bytes_text(done_bytes)} / {bytes_text(total_bytes)}"
        f"  {bytes_text(int(rate))}/s  ETA {eta}"
    )


def bytes_text(count: int) -> str:
    """A byte count with a binary unit and one decimal ("12.3 MiB"; bytes as an integer)."""
    value = float(count)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def _duration_text(seconds: float) -> str:
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_for(stream: TextIO, label: str, total_bytes: int | None) -> ProgressReporter:
    """A bar for a transfer of `total_bytes` when `stream` is a terminal and the transfer is large;
    otherwise a reporter that shows nothing."""
    if total_bytes is None or total_bytes < PROGRESS_THRESHOLD_BYTES or not _is_terminal(stream):
        return NoProgress()
    return ProgressBar(stream, label, total_bytes)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
