"""virtfleet."""
