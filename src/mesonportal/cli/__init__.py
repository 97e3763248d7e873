"""Command-line interface (``mesonportal``), kept apart from the physics core."""
