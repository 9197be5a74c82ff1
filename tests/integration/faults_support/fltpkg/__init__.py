"""A small pipeline for the fault tests; copied per test and edited between builds."""
