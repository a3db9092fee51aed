"""The stages of a factory cycle: status, decide, submit, and cycle, which runs all three."""
