"""Transient progress bars on stderr for long loops inside the pipeline (rich)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

__all__ = ["transient_progress"]


@contextlib.contextmanager
def transient_progress(label: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr that disappears when done; yields ``advance(k=1)``.
    ``enabled=False``: no bar, ``advance`` does nothing (rich is not imported)."""
    if not enabled:
        yield lambda k=1: None
        return
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(file=sys.stderr), transient=True)
    bar.start()
    task = bar.add_task(label, total=total)
    try:
        yield lambda k=1: bar.advance(task, k)
    finally:
        bar.stop()
