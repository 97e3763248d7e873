"""analysis stage of the mesonportal pipeline."""
