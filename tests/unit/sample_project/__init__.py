"""A small luisy project used by the unit tests; its project name is ``sample_project``."""
