"""The transfer progress bar: its layout, its redraw pace, and that it only appears on a terminal for
large transfers."""

from __future__ import annotations

import io

from hopsfs.cli.progress import (
    PROGRESS_THRESHOLD_BYTES,
    NoProgress,
    ProgressBar,
    bytes_text,
    progress_for,
    render,
)

MIB = 1024 * 1024


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_render_shows_percent_sizes_rate_and_time_left() -> None:
    line = render("/data/f", 12 * MIB, 48 * MIB, 4.0)
    assert line == ("/data/f  25% [#######                       ] 12.0 MiB / 48.0 MiB  3.0 MiB/s  ETA 0:12")
    assert render("x", 0, 10, 0.0).endswith("0 B/s  ETA --:--")
    assert "100% [" + "#" * 30 + "]" in render("x", 5, 5, 1.0)
    assert render("x", 1024, 7200 * 1024, 1.0).endswith("ETA 1:59:59")


def test_bytes_text_units() -> None:
    assert [bytes_text(n) for n in (0, 1023, 1024, 1536 * 1024, 5 * 1024**3)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 MiB",
        "5.0 GiB",
    ]


def test_the_bar_redraws_at_most_every_interval_and_ends_with_a_newline() -> None:
    terminal, clock = Terminal(), Clock()
    bar = ProgressBar(terminal, "f", 10 * MIB, clock=clock, redraw_interval_s=0.5)
    bar.advance(MIB)  # first draw
    clock.now += 0.1
    bar.advance(MIB)  # too soon: no redraw
    clock.now += 0.5
    bar.advance(MIB)
    bar.finish()
    bar.finish()
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 3 and drawn.endswith("\n") and drawn.count("\n") == 1
    assert "  30% [" in drawn.split("\r")[-1]


def test_progress_only_for_large_transfers_on_a_terminal() -> None:
    assert isinstance(progress_for(io.StringIO(), "f", 10 * PROGRESS_THRESHOLD_BYTES), NoProgress)
    assert isinstance(progress_for(Terminal(), "f", PROGRESS_THRESHOLD_BYTES - 1), NoProgress)
    assert isinstance(progress_for(Terminal(), "f", None), NoProgress)
    assert isinstance(progress_for(Terminal(), "f", PROGRESS_THRESHOLD_BYTES), ProgressBar)
