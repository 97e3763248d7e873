"""Resident memory of long jobs (``mesonportal reproduce``): give freed memory back to the OS.

A prediction allocates and frees many large NumPy temporaries (≈ 0.7 GB transient for the
pseudoscalar benchmark's 900 000 events).  glibc's allocator keeps freed heap memory resident,
and it raises its mmap threshold dynamically after large frees, so after a few predictions the
freed arrays of earlier ones stay in the process (RSS ≈ the high-water mark, not what is held).
:func:`release` returns it between stages with ``malloc_trim(0)`` (cheap: measured ≤ 5 % CPU on
three pseudoscalar predictions, against +70 % for a fixed small mmap threshold), and drops the
in-process memo of assembled meson samples (:mod:`mesonportal.analysis.allocation`; the
samples stay in the on-disk cache and are re-read on demand).  Nothing here changes a number.
On other platforms / C libraries :func:`trim` is a no-op.

:func:`lean_memos` (used by the main job) also bounds the two in-process meson memos of
:mod:`mesonportal.analysis.allocation` to their most recent entry while it is active: a fit's
predictions then do not keep the blocks *and* the assembled samples of every mode resident
(together up to 0.45 GB per process); a sample needed again is re-read from the on-disk cache
(≈ 0.1 s for a mode's 300 000 primaries).  Only when the on-disk cache is enabled — without it a
dropped block would have to be simulated again.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

__all__ = ["trim", "release", "lean_memos"]

_LIBC = None


def trim() -> bool:
    """``malloc_trim(0)`` (glibc): return free heap memory to the OS; False where unavailable."""
    global _LIBC
    if not sys.platform.startswith("linux"):
        return False
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if not _LIBC:
        return False
    return bool(_LIBC.malloc_trim(0))


def release() -> None:
    """Drop the in-process meson-sample memo and return freed memory to the OS."""
    mod = sys.modules.get("mesonportal.analysis.allocation")
    memo = getattr(mod, "_SPECIES_MEMO", None) if mod is not None else None
    if memo is not None:
        memo.clear()
    trim()


@contextlib.contextmanager
def lean_memos():
    """Within the block: the meson-block and species-sample memos keep one entry each (see the
    module docstring); their previous bounds are restored afterwards.  No-op when the on-disk
    cache is disabled.  Nothing here changes a number (the memos only save re-reading)."""
    from mesonportal import cache
    from mesonportal.analysis import allocation

    if not cache.cache_enabled():
        yield
        return
    old = allocation.BLOCK_MEMO_BYTES, allocation.SPECIES_MEMO_BYTES
    allocation.BLOCK_MEMO_BYTES = allocation.SPECIES_MEMO_BYTES = 0
    allocation._BLOCK_MEMO.clear()
    allocation._SPECIES_MEMO.clear()
    try:
        yield
    finally:
        allocation.BLOCK_MEMO_BYTES, allocation.SPECIES_MEMO_BYTES = old
