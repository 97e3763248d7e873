"""The list of CLI commands registered on the ``mesonportal`` group."""

from __future__ import annotations

COMMANDS: list = []
