"""detection stage of the mesonportal pipeline."""
