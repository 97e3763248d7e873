"""propagation stage of the mesonportal pipeline."""
