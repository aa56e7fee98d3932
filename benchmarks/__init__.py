"""Benchmarks: one script per area; `python -m benchmarks` runs them."""
