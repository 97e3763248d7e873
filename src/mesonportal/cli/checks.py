"""Output-path checks run by the CLI *before* any long computation.

A fit or scan that runs for minutes and then fails because the plot directory is not writable or
the figure extension is unknown loses the user's time; these checks turn such problems into a
one-line ``ParameterError`` (exit code 2) up front.  Writability is probed by creating and at
once deleting an anonymous temporary file (permission bits alone say nothing for root or on
special file systems); nothing else is created or modified.
"""

from __future__ import annotations

import os
from pathlib import Path

from mesonportal.exceptions import ParameterError

__all__ = ["plot_formats", "check_plot_file", "check_output_dir", "check_output_file"]


def plot_formats() -> tuple[str, ...]:
    """File extensions matplotlib can write (``png``, ``pdf``, ``svg``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def _writable_dir(d: Path) -> bool:
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError:
        return False
    return True


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_dir(path: str | os.PathLike, option: str) -> Path:
    """``path`` is, or can be created as, a writable directory (ParameterError naming ``option``
    otherwise)."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise ParameterError(f"{option} {str(path)!r} exists and is not a directory")
        if not _writable_dir(p):
            raise ParameterError(f"{option} {str(path)!r}: directory is not writable")
        return p
    base = _nearest_existing(p)
    if not base.is_dir():
        raise ParameterError(f"{option} {str(path)!r}: {str(base)!r} is a file, cannot create a directory under it")
    if not _writable_dir(base):
        raise ParameterError(f"{option} {str(path)!r}: cannot create it ({str(base)!r} is not writable)")
    return p


def check_output_file(path: str | os.PathLike, option: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """``path`` can be written as a file: an allowed suffix (when ``suffixes`` is given), not
    a directory, and its directory exists or can be created and is writable."""
    p = Path(path)
    if suffixes is not None:
        suf = p.suffix.lower().lstrip(".")
        if suf not in suffixes:
            shown = ", ".join(suffixes) if len(suffixes) <= 8 else ", ".join(suffixes[:8]) + ", ..."
            raise ParameterError(f"{option} {str(path)!r}: unsupported file extension {p.suffix or '(none)'!r}; "
                                 f"allowed: {shown}")
    if p.is_dir():
        raise ParameterError(f"{option} {str(path)!r} is a directory; give a file name")
    if p.exists() and not os.access(p, os.W_OK):
        raise ParameterError(f"{option} {str(path)!r}: file is not writable")
    check_output_dir(p.parent if str(p.parent) else Path("."), option)
    return p


def check_plot_file(path: str | os.PathLike, option: str) -> Path:
    """A figure file name with an extension matplotlib can write, in a writable directory."""
    return check_output_file(path, option, plot_formats())
