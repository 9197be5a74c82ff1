"""Helpers the tasks use."""
FACTOR = 2


def _offset(x):
    return x + 1


def clean(x):
    return _offset(x) * 10


def other(x):
    return x * 3


def unused(x):
    return x - 1
