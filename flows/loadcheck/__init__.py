"""A server load check: a fan-in of ``n`` trivial tasks (one Prefect task run each)."""
