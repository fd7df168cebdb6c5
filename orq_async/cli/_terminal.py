"""Progress for a person watching a terminal: one status line, redrawn in place.

Nothing here prints unless it was created enabled (stderr is a terminal and ``--quiet`` is
off), so pipes and logs never see carriage returns or spinners.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import TextIO

__all__ = ["StatusLine", "progress_bar"]

_FRAMES = "|/-\\"
_TICK = 0.1
_PROGRESS_MIN_BYTES = 1024 * 1024  # smaller uploads are over before a person could read it


class StatusLine:
    """A status line on stderr: upload progress, a spinner with elapsed time, retry notes.

    Args:
        stream: the terminal.
        enabled: False turns every method into a no-op.
        clock: monotonic seconds.
    """

    def __init__(
        self, stream: TextIO, *, enabled: bool, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.enabled = enabled
        self.stream = stream
        self._clock = clock
        self._text = ""
        self._label = "waiting for the answer"
        self._started = clock()
        self._frame = 0

    def _draw(self, text: str) -> None:
        self._text = text
        self.stream.write(f"\r{text}\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        """Erase the status line."""
        if self.enabled and self._text:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._text = ""

    def print(self, text: str) -> None:
        """Print a permanent line above the status line (e.g. a retry)."""
        if self.enabled:
            self.clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def show(self, text: str) -> None:
        """Replace the status line's text."""
        if self.enabled:
            self._draw(text)

    def upload(self, sent: int, total: int | None) -> None:
        """An ``upload_progress`` callback: percent while uploading, then the spinner."""
        if not self.enabled or not total or total < _PROGRESS_MIN_BYTES:
            return
        if sent < total:
            self._draw(f"uploading {sent * 100 // total}% of {total / 1048576:.1f} MiB")
        else:
            self.waiting("waiting for the model")

    def waiting(self, label: str) -> None:
        """Switch the spinner to ``label``, counting time from now."""
        if not self.enabled:
            return
        self._label = label
        self._started = self._clock()
        self._spin()

    def _spin(self) -> None:
        self._frame = (self._frame + 1) % len(_FRAMES)
        elapsed = self._clock() - self._started
        self._draw(f"{_FRAMES[self._frame]} {self._label} {elapsed:.1f} s")

    @asynccontextmanager
    async def spinning(self, label: str) -> AsyncGenerator[None, None]:
        """Animate the spinner while the block runs; erase the line after."""
        if not self.enabled:
            yield
            return
        self.waiting(label)

        async def tick() -> None:
            while True:
                await asyncio.sleep(_TICK)
                if self._text and not self._text.startswith("uploading"):
                    self._spin()

        ticker = asyncio.create_task(tick())
        try:
            yield
        finally:
            ticker.cancel()
            self.clear()


def progress_bar(finished: int, failed: int, total: int, elapsed: float, width: int = 20) -> str:
    """``[#####.....] 12/40, 1 failed, 2.3/s, ETA 12 s``: a batch's progress on one line."""
    filled = width * finished // total if total else width
    rate = finished / elapsed if elapsed > 0 else 0.0
    eta = f"{(total - finished) / rate:.0f} s" if rate > 0 else "?"
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{total}, {failed} failed, "
        f"{rate:.1f}/s, ETA {eta}"
    )
