"""Functions reached through a star import."""


def star_fn(x):
    return x + 100


def star_other(x):
    return x + 200
