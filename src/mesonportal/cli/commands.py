"""The CLI commands registered on the ``mesonportal`` group."""

from __future__ import annotations

from mesonportal.cli import (
    cache_cmd,
    compare_cmd,
    data_cmd,
    experiments_cmd,
    fit_cmd,
    flux_cmd,
    highenergy_cmd,
    oscillation_cmd,
    predict_cmd,
    reproduce_cmd,
    scan_cmd,
    sensitivity_cmd,
)

COMMANDS: list = [data_cmd.command, experiments_cmd.command, flux_cmd.command, predict_cmd.command, fit_cmd.command,
                  reproduce_cmd.command, scan_cmd.scan_command, scan_cmd.plot_scan_command, cache_cmd.command,
                  sensitivity_cmd.command, oscillation_cmd.command, compare_cmd.command,
                  highenergy_cmd.command]
from mesonportal.cli import t3r_cmd  # noqa: E402  (U(1)_T3R command group)
COMMANDS.append(t3r_cmd.command)
