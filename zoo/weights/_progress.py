"""Download progress: a rich bar on stderr, or the caller's own callback.

Everything that moves bytes reports through one callable, ``progress(done, total)``
(cumulative bytes; ``total`` may be ``None``) — the same one a plugin's weight store
receives.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

ProgressCallback = Callable[[int, int | None], None]
ProgressArg = bool | None | ProgressCallback


def _silent(done: int, total: int | None) -> None:
    pass


class _RichBar:
    """Started on the first report so that a cache hit prints nothing."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._progress = None
        self._task = None

    def __call__(self, done: int, total: int | None) -> None:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class Reporter:
    """``with Reporter(progress, label) as report: report(done, total)``."""

    def __init__(self, progress: ProgressArg, label: str) -> None:
        if callable(progress) and not isinstance(progress, bool):
            self._callback: ProgressCallback = progress
            self._bar = None
        else:
            show = sys.stderr.isatty() if progress is None else bool(progress)
            self._bar = _RichBar(label) if show else None
            self._callback = self._bar or _silent

    def __call__(self, done: int, total: int | None) -> None:
        self._callback(done, total)

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
