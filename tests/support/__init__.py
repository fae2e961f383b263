"""Helpers shared by the test suites (importable: tests/ is on pytest's pythonpath)."""
