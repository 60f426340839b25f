"""The one progress bar: a line redrawn in place on a terminal (the file runner and the load generator).

``[####------------]  25%  <what the caller says>``, redrawn at most every ``interval`` seconds (always
for the final draw, which ends the line). A shorter line covers a longer one with spaces, so the bar
needs no terminal escape codes. Without a share (a run with no known end) only the text is drawn.
"""

from __future__ import annotations

from typing import Final, TextIO

#: Characters of the bar between its brackets.
WIDTH: Final = 28


class ProgressBar:
    """One redrawn line on ``stream``: a bar of the share done, then the caller's text."""

    def __init__(self, stream: TextIO, *, interval: float = 0.1) -> None:
        self._stream = stream
        self._interval = interval
        self._drawn_at: float | None = None
        self._width = 0  # length of the line on screen; 0 once it is ended

    def due(self, elapsed: float) -> bool:
        """Whether a draw at ``elapsed`` seconds would show (at most one every ``interval``)."""
        return self._drawn_at is None or elapsed - self._drawn_at >= self._interval

    def draw(self, share: float | None, text: str, elapsed: float, *, final: bool = False) -> None:
        """Redraw if due (always when ``final``, which also ends the line)."""
        if not final and not self.due(elapsed):
            return
        self._drawn_at = elapsed
        line = f"\r{text}"
        if share is not None:
            share = min(max(share, 0.0), 1.0)
            filled = round(share * WIDTH)
            line = f"\r[{'#' * filled}{'-' * (WIDTH - filled)}] {share:4.0%}  {text}"
        width, self._width = self._width, len(line)
        self._stream.write(line.ljust(width) + ("\n" if final else ""))  # cover a longer previous line
        if final:
            self._width = 0
        self._stream.flush()

    def close(self) -> None:
        """End the bar's line where it stands, so that what follows starts on a line of its own."""
        if self._width:
            self._width = 0
            self._stream.write("\n")
            self._stream.flush()
