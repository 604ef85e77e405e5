"""Benchmark suites: each module here exposes SUITE (see bench/harness.py)."""
