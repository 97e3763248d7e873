"""production stage of the mesonportal pipeline."""
