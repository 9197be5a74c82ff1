"""Date intervals for :class:`~luisy.parameters.DateIntervalParameter` (luigi's string forms).

Forms: ``2024-03-05`` (a day), ``2024-W09`` (ISO week), ``2024-03`` (a month), ``2024`` (a year),
``2024-03-01-2024-04-15`` (custom, end exclusive). ``date_b`` is exclusive, as in luigi.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from luisy.errors import InvalidValueError

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_CUSTOM = re.compile(r"^(\d{4}-\d{2}-\d{2})-(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, order=True)
class DateInterval:
    date_a: dt.date
    date_b: dt.date
    text: str

    def __str__(self) -> str:
        return self.text

    def dates(self) -> list[dt.date]:
        return list(self)

    def __iter__(self) -> Iterator[dt.date]:
        day = self.date_a
        while day < self.date_b:
            yield day
            day += dt.timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.date_a <= day < self.date_b

    @classmethod
    def parse(cls, text: str) -> DateInterval:
        """The interval ``text`` spells in one of luigi's forms (and nothing after it); a form
        naming a day, week or month that does not exist (``2024-02-30``, ``2024-W60``) is
        refused as well, naming the text, as an :class:`~luisy.errors.InvalidValueError`."""
        text = text.strip()
        try:
            bounds = _bounds(text)
        except ValueError as exc:  # the form is right, the date does not exist
            raise InvalidValueError(f"{text!r} is no date interval: {exc}") from None
        if bounds is None:
            raise InvalidValueError(
                f"{text!r} is no date interval (YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY or "
                "YYYY-MM-DD-YYYY-MM-DD)"
            )
        if bounds[1] <= bounds[0]:
            raise InvalidValueError(f"interval {text!r} ends before it starts")
        return cls(*bounds, text)


def _bounds(text: str) -> tuple[dt.date, dt.date] | None:
    """First day and the day after the last of the interval ``text`` spells (None: no form
    matches); a ``ValueError`` for a date that does not exist."""
    if m := _DAY.match(text):
        a = dt.date(*map(int, m.groups()))
        return a, a + dt.timedelta(days=1)
    if m := _WEEK.match(text):
        a = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return a, a + dt.timedelta(days=7)
    if m := _MONTH.match(text):
        a = dt.date(int(m[1]), int(m[2]), 1)
        return a, dt.date(a.year + a.month // 12, a.month % 12 + 1, 1)
    if m := _YEAR.match(text):
        return dt.date(int(m[1]), 1, 1), dt.date(int(m[1]) + 1, 1, 1)
    if m := _CUSTOM.match(text):
        return dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
    return None
