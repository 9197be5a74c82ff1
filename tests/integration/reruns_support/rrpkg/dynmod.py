"""Functions looked up by name at run time."""


def double(x):
    return 2 * x


def triple(x):
    return 3 * x
