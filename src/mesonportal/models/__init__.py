"""models stage of the mesonportal pipeline."""
