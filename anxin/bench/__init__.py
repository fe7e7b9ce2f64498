"""Benchmarks behind `anxin bench ...`: each starts its own servers and prints its figures."""
