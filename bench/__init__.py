"""Benchmarks with recorded results; order intake: ``python -m bench.run`` (docs/benchmarks.md)."""
