"""Use cases, one module per verb; each takes plain values and ports (repository, clock)."""
