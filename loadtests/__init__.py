"""Locust load tests of the whole system: the lunch rush (see docs/benchmarks.md)."""
