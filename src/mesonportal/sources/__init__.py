"""sources stage of the mesonportal pipeline."""
