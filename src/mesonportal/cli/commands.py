"""The list of CLI commands registered on the ``mesonportal`` group."""

from __future__ import annotations

COMMANDS: list = [__import__("mesonportal.cli.data_cmd", fromlist=["command"]).command]
