"""The CLI commands registered on the ``mesonportal`` group.

The commands are registered **lazily** (:data:`COMMAND_TABLE`: name → module and attribute): a
command's module, and what it imports, is loaded only when that command runs (or when
``--help`` lists all of them), so that e.g. ``mesonportal predict`` does not import the fit,
scan, comparison or reproduction machinery (fresh-process start-up, docs/benchmarks.md).
``COMMANDS`` (the list of all command objects) is still available; it imports every module.
"""

from __future__ import annotations

import importlib

__all__ = ["COMMAND_TABLE", "COMMANDS", "load_command"]

#: Command name -> (module, attribute of the click command in that module).
COMMAND_TABLE: dict[str, tuple[str, str]] = {
    "data": ("mesonportal.cli.data_cmd", "command"),
    "experiments": ("mesonportal.cli.experiments_cmd", "command"),
    "flux": ("mesonportal.cli.flux_cmd", "command"),
    "predict": ("mesonportal.cli.predict_cmd", "command"),
    "fit": ("mesonportal.cli.fit_cmd", "command"),
    "reproduce": ("mesonportal.cli.reproduce_cmd", "command"),
    "scan": ("mesonportal.cli.scan_cmd", "scan_command"),
    "plot-scan": ("mesonportal.cli.scan_cmd", "plot_scan_command"),
    "cache": ("mesonportal.cli.cache_cmd", "command"),
    "sensitivity": ("mesonportal.cli.sensitivity_cmd", "command"),
    "oscillation-fit": ("mesonportal.cli.oscillation_cmd", "command"),
    "compare": ("mesonportal.cli.compare_cmd", "command"),
    "highenergy": ("mesonportal.cli.highenergy_cmd", "command"),
    "t3r": ("mesonportal.cli.t3r_cmd", "command"),  # U(1)_T3R command group
}


def load_command(name: str):
    """The click command ``name`` of :data:`COMMAND_TABLE` (imports its module); None if unknown."""
    entry = COMMAND_TABLE.get(name)
    if entry is None:
        return None
    module, attr = entry
    return getattr(importlib.import_module(module), attr)


def __getattr__(name: str):
    if name == "COMMANDS":  # every command object (imports all command modules)
        return [load_command(n) for n in COMMAND_TABLE]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
