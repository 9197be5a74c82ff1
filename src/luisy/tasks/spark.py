"""``SparkTask``'s luisy 2 import path (it lives with the other task kinds)."""
from luisy.tasks.base import SparkTask

__all__ = ["SparkTask"]
