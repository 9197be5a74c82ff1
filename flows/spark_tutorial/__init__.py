"""The luisy 1.x PySpark tutorial pipeline, as the documentation page writes it."""
