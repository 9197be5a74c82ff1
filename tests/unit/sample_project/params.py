"""Tasks declaring every parameter type."""
import datetime as dt

import luisy


class AllParams(luisy.Task):
    """One parameter of each type, all with defaults, plus an insignificant one."""

    name = luisy.Parameter(default="a b/c")
    count = luisy.IntParameter(default=3)
    ratio = luisy.FloatParameter(default=0.5)
    flag = luisy.BoolParameter()  # luigi: implicit default False
    day = luisy.DateParameter(default=dt.date(2024, 3, 5))
    month = luisy.MonthParameter(default="2024-03")
    interval = luisy.DateIntervalParameter(default="2024-W09")
    items = luisy.ListParameter(default=[1, 2])
    pair = luisy.TupleParameter(default=("x", "y"))
    options = luisy.DictParameter(default={"k": 1})
    note = luisy.Parameter(default="ignored", significant=False)


class NoDefaults(luisy.Task):
    """Parameters without defaults must be given."""

    count = luisy.IntParameter()
    day = luisy.DateParameter()


class BadDefault(luisy.Task):
    count = luisy.IntParameter(default="not a number")


class Positional(luisy.Task):
    a = luisy.Parameter()
    b = luisy.IntParameter(default=1)
    hidden = luisy.IntParameter(default=0, positional=False)
