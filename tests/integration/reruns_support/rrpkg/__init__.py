"""A small user project for tests/integration/test_reruns.py; copied under a new name per test."""
