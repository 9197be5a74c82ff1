"""Example luisy pipelines, each exposed as a Prefect flow (see prefect.yaml)."""
