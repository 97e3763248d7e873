"""The CLI commands registered on the ``mesonportal`` group."""

from __future__ import annotations

from mesonportal.cli import data_cmd, flux_cmd

COMMANDS: list = [data_cmd.command, flux_cmd.command]
