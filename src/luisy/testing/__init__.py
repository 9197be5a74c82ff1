"""Helpers for testing luisy pipelines (a Prefect server for tests, test cases, fixtures)."""
from luisy.testing.server import PrefectServer, free_port

__all__ = ["PrefectServer", "free_port"]
