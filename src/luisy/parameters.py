"""Task parameters: typed, with defaults and significance, parsed from CLI strings and JSON.

One class per type with these conversions, so a value means the same whether it comes from
Python, a command line or a Prefect parameter form:

- ``normalize(value)``: an accepted Python or JSON value -> the canonical, hashable value
  (strings are parsed, so a JSON form may send ``"2024-01"`` for a month);
- ``parse(text)``: a command-line string -> canonical value;
- ``serialize(value)``: canonical value -> the string used in task names and file names;
- ``to_json(value)``: canonical value -> a JSON value (Prefect parameters, the plan artifact).

Every form luigi's parameter of the same name reads is read (luisy 1.x pipelines and their
command lines keep working), and a few more (``yes``/``no`` for bools, JSON values in Python);
what is refused, luigi refused too or it is garbage: text after a number or a date, a NUL
character, JSON nested deeper than :data:`MAX_DEPTH`. A refusal is an
:class:`~luisy.errors.InvalidValueError`, which a task turns into a one-line
:class:`~luisy.errors.ParameterError` naming itself and the parameter, when it is made.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import reprlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from luisy.date_interval import DateInterval
from luisy.errors import InvalidValueError, TaskDefinitionError, UsageError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

_counter = itertools.count()


class _NoDefault:
    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Any = _NoDefault()

#: how deep list and dict values may nest. Values are checked, frozen, hashed and written one
#: level per call, as ``json`` reads them: a limit far below Python's recursion limit (1000)
#: refuses a deeper value (or a list holding itself) with one clear error, not a
#: ``RecursionError`` wherever it first overflows; no real setting nests 100 levels deep.
MAX_DEPTH = 100
_TOO_DEEP = (f"the value nests deeper than {MAX_DEPTH} levels (or holds itself), luisy's limit "
             "(luisy.parameters.MAX_DEPTH)")

#: ``repr`` for messages, cut short (long text, deep or long lists): a message stays one
#: readable line whatever was given, and a value nested too deep for ``repr`` is shown too
_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 80
_SHORT_REPR.maxlevel = 3
_shown = _SHORT_REPR.repr


def _check_value(value: Any, depth: int = 0) -> None:
    """Refuse what no parameter value may hold, from Python, JSON or a command line alike.

    A NUL character: values go into task ids and file names, which cannot hold one (the task
    would fail only when its output is written, after it ran). Nesting deeper than
    :data:`MAX_DEPTH`. Strings, dict keys and items are checked at any depth.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValueError(f"{_shown(value)} holds a NUL character (\\x00), which "
                                    "no task id or file name can hold")
    elif isinstance(value, (Mapping, list, tuple)):
        if depth == MAX_DEPTH:
            raise InvalidValueError(_TOO_DEEP)
        items = itertools.chain.from_iterable(value.items()) if isinstance(value, Mapping) \
            else value
        for item in items:
            _check_value(item, depth + 1)


class Parameter:
    """A string parameter (any value given in Python is kept as it is), luigi style.

    ``json_schema`` is what a value looks like in JSON: the deployed flow's run form shows it
    and the Prefect server checks submitted values against it, before a run starts.
    """

    json_schema: dict[str, Any] = {"type": "string"}

    def __init__(
        self,
        default: Any = NO_DEFAULT,
        significant: bool = True,
        description: str | None = None,
        positional: bool = True,
        **_luigi_options: Any,
    ):
        self._order = next(_counter)
        self._default = default
        self.significant = significant
        self.description = description
        self.positional = positional

    @property
    def has_default(self) -> bool:
        return self._default is not NO_DEFAULT

    @property
    def default(self) -> Any:
        if self._default is NO_DEFAULT or self._default is None:
            return self._default
        return self.normalize(self._default)

    def normalize(self, value: Any) -> Any:
        return self.parse(value) if isinstance(value, str) else self._from_python(value)

    def _from_python(self, value: Any) -> Any:
        return value

    def parse(self, text: str) -> Any:
        """The text as it is, as in luigi; but not with a NUL character (``_check_value``)."""
        _check_value(text)
        return text

    def serialize(self, value: Any) -> str:
        return str(value)

    def to_json(self, value: Any) -> Any:
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return self.serialize(value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(default={self._default!r}, significant={self.significant})"


class IntParameter(Parameter):
    json_schema = {"type": "integer"}

    def _from_python(self, value: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise InvalidValueError(f"expected an integer, got {_shown(value)}")
        return int(value)

    def parse(self, text: str) -> int:
        """As luigi: what ``int()`` reads (``42``, `` 42 ``, ``-3``, ``1_000``), so ``3x`` is
        refused."""
        try:
            return int(text.strip())
        except ValueError:
            raise InvalidValueError(f"expected an integer, got {_shown(text)}") from None


class FloatParameter(Parameter):
    """A float. Every NaN value is one and the same object: NaN equals nothing, not even
    itself, yet a task with it must equal itself (luigi compared tasks by their ids, which
    spell ``nan``), and tuples of values, a task's identity, take one object as equal."""

    json_schema = {"type": "number"}

    def _from_python(self, value: Any) -> float:
        if isinstance(value, bool):
            raise InvalidValueError(f"expected a number, got {_shown(value)}")
        return _one_nan(float(value))

    def parse(self, text: str) -> float:
        """As luigi: what ``float()`` reads (``2.5``, ``1e-3``, ``inf``, ``nan``), so ``2.5x``
        or ``1,5`` is refused."""
        try:
            return _one_nan(float(text.strip()))
        except ValueError:
            raise InvalidValueError(f"expected a number, got {_shown(text)}") from None


_NAN = float("nan")


def _one_nan(value: float) -> float:
    return _NAN if math.isnan(value) else value


class BoolParameter(Parameter):
    """A bool; as in luigi, ``False`` is the implicit default.

    From text: luigi's ``true``/``false`` in any case, and ``yes``/``no``, ``y``/``n``,
    ``on``/``off``, ``1``/``0``; anything else (``yes please``) is refused, not read as false.
    """

    json_schema = {"type": "boolean"}
    _TRUE = {"true", "1", "yes", "y", "on"}
    _FALSE = {"false", "0", "no", "n", "off"}

    def __init__(self, default: Any = False, *args: Any, **kwargs: Any):
        super().__init__(default, *args, **kwargs)

    def _from_python(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise InvalidValueError(f"expected true or false, got {_shown(value)}")

    def parse(self, text: str) -> bool:
        low = text.strip().lower()
        if low in self._TRUE:
            return True
        if low in self._FALSE:
            return False
        raise InvalidValueError(f"expected true or false, got {_shown(text)}")


class DateParameter(Parameter):
    """A date. From text: ``YYYY-MM-DD`` as luigi read it (``%Y-%m-%d``, so ``2024-3-5`` too),
    or an ISO 8601 date or date-time as Python reads it (``20240305``, ``2024-03-05T13:30``:
    the time is dropped, as for a ``datetime`` given in Python).

    The whole text must be the date: ``2024-01-011`` or ``2024-01-01garbage`` is refused (luigi
    refused it too), where reading the first ten characters would take a typo for a date.
    """

    #: the pattern too: Prefect's server checks patterns, not the ``date`` format
    json_schema = {"type": "string", "format": "date",
                   "pattern": r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"}

    def _from_python(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        raise InvalidValueError(f"expected a date, got {_shown(value)}")

    def parse(self, text: str) -> dt.date:
        stripped = text.strip()
        for read in (lambda t: dt.datetime.strptime(t, "%Y-%m-%d"), dt.datetime.fromisoformat):
            try:
                return read(stripped).date()
            except ValueError:
                pass
        raise InvalidValueError(f"expected a date YYYY-MM-DD, got {_shown(text)}")

    def serialize(self, value: dt.date) -> str:
        return value.isoformat()


class MonthParameter(DateParameter):
    """A month, held as the date of its first day and written ``YYYY-MM``.

    From text: ``YYYY-MM`` as luigi read it (``%Y-%m``, so ``2024-3`` too), or a date as
    :class:`DateParameter` reads it, meaning its month (as a date given in Python does; luisy
    1.x file names spell a month ``2024-03-01``). ``2024-03garbage`` is refused.
    """

    json_schema = {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}

    def _from_python(self, value: Any) -> dt.date:
        return super()._from_python(value).replace(day=1)

    def parse(self, text: str) -> dt.date:
        try:
            return dt.datetime.strptime(text.strip(), "%Y-%m").date()
        except ValueError:
            pass
        try:
            return super().parse(text).replace(day=1)
        except InvalidValueError:
            raise InvalidValueError(f"expected a month YYYY-MM, got {_shown(text)}") from None

    def serialize(self, value: dt.date) -> str:
        return value.strftime("%Y-%m")


class DateIntervalParameter(Parameter):
    #: luigi's forms: a day, an ISO week, a month, a year, ``<day>-<day>`` (see date_interval)
    json_schema = {"type": "string", "pattern": (
        r"^\d{4}(-W(0[1-9]|[1-4]\d|5[0-3])|-(0[1-9]|1[0-2])(-\d{2}(-\d{4}-\d{2}-\d{2})?)?)?$")}

    def _from_python(self, value: Any) -> DateInterval:
        if isinstance(value, DateInterval):
            return value
        raise InvalidValueError(f"expected a date interval, got {_shown(value)}")

    def parse(self, text: str) -> DateInterval:
        return DateInterval.parse(text)


def _freeze(value: Any) -> Any:
    """Lists become tuples and dicts FrozenDicts, so parameter values hash."""
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


class FrozenDict(Mapping):
    """An immutable, hashable dict: the value of a DictParameter."""

    def __init__(self, data: Mapping):
        self._data = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(sorted(self._data.items(), key=lambda kv: repr(kv[0]))))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"


class _JSONParameter(Parameter):
    _kind: type = list

    def __init__(self, *args: Any, items: Parameter | None = None,
                 schema: dict[str, Any] | Validator | None = None, **kwargs: Any):
        """``schema`` (luigi's option) is the JSON schema values must match; ``items``, a
        parameter such as ``MonthParameter()``, types the items of a list: its schema is the
        items' (values stay as given, e.g. month strings).

        As in luigi, ``schema`` may be a jsonschema validator: its schema is used, so that the
        run form shows it too. A schema that is no JSON schema is refused here, where the task
        is declared, not when a value first meets it."""
        super().__init__(*args, **kwargs)
        if items is not None and schema is not None:
            raise UsageError(f"{type(self).__name__}: give items= or schema=, not both")
        if items is not None:
            schema = {**type(self).json_schema, "items": items.json_schema}
        if schema is not None and not isinstance(schema, Mapping):
            schema = schema.schema  # a luigi-style jsonschema validator object
        if schema is not None:
            import jsonschema

            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise TaskDefinitionError(f"{type(self).__name__}: schema= is no valid JSON "
                                          f"schema: {exc.message}") from None
            self.json_schema = dict(schema)
        self._schema = schema

    def _check_schema(self, value: Any) -> None:
        if self._schema is None:
            return
        import jsonschema  # a dependency of Prefect's; only parameters with a schema need it

        validator = jsonschema.Draft202012Validator(
            self._schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        error = jsonschema.exceptions.best_match(validator.iter_errors(_thaw(value)))
        if error is not None:
            where = "".join(f"[{p!r}]" for p in error.absolute_path)
            raise InvalidValueError(f"{json.dumps(_thaw(value), default=str)}{where}: "
                                    f"{error.message}")

    def parse(self, text: str) -> Any:
        """JSON, as luigi read it; JSON ``json`` cannot read for its depth is refused as too
        deep (:data:`MAX_DEPTH`), as is what Python would not read (an integer of more than
        4300 digits)."""
        try:
            value = json.loads(text)
        except RecursionError:  # deeper than json can read: far deeper than MAX_DEPTH
            raise InvalidValueError(_TOO_DEEP) from None
        except ValueError as exc:  # json.JSONDecodeError, or an integer too long
            kind = self._kind.__name__
            raise InvalidValueError(f"expected JSON ({kind}), got {_shown(text)}: {exc}") \
                from None
        return self._from_python(value)

    def _from_python(self, value: Any) -> Any:
        if not isinstance(value, self._accepts()):
            raise InvalidValueError(f"expected a {self._kind.__name__}, got {_shown(value)}")
        _check_value(value)
        self._check_schema(value)
        return _freeze(value)

    def _accepts(self) -> tuple[type, ...]:
        return (list, tuple)

    def serialize(self, value: Any) -> str:
        return json.dumps(_thaw(value), sort_keys=True, default=str)

    def to_json(self, value: Any) -> Any:
        return _thaw(value)


class ListParameter(_JSONParameter):
    json_schema = {"type": "array"}


class TupleParameter(_JSONParameter):
    json_schema = {"type": "array"}
    _kind = tuple


class DictParameter(_JSONParameter):
    json_schema = {"type": "object"}
    _kind = dict

    def _accepts(self) -> tuple[type, ...]:
        return (Mapping,)


# ------------------------------------------------------------------ luigi's parameters (1.x)
#: luisy 1.x's parameters were luigi's: ``luigi.IntParameter()`` in a luisy task is luisy's
_LUIGI_MATCHES: dict[str, type[Parameter]] = {
    cls.__name__: cls for cls in (Parameter, IntParameter, FloatParameter, BoolParameter,
                                  DateParameter, MonthParameter, DateIntervalParameter,
                                  ListParameter, TupleParameter, DictParameter)
}


def is_luigi_parameter(value: Any) -> bool:
    """A luigi parameter object, told by its type (luigi itself is not imported)."""
    kind = type(value)
    return kind.__module__.split(".")[0] == "luigi" and kind.__name__.endswith("Parameter")


def from_luigi(value: Any, family: str, name: str) -> Parameter:
    """The luisy parameter matching a luigi one, with its default, significance, description
    and positional flag; a luigi parameter luisy has no match for is an error naming it."""
    kind = type(value).__name__
    match = _LUIGI_MATCHES.get(kind)
    if match is None:
        known = ", ".join(f"luigi.{n}" for n in _LUIGI_MATCHES)
        raise TaskDefinitionError(
            f"{family}: parameter '{name}' is a luigi.{kind}, which luisy cannot use; "
            f"use one of {known} (or luisy's parameters of the same names)")
    default = getattr(value, "_default", NO_DEFAULT)
    if type(default).__name__ == "_NoValueType":  # luigi's "no default"
        default = NO_DEFAULT
    # luigi's List/Tuple/DictParameter(schema=...): kept, so values and the form are checked
    schema = getattr(value, "schema", None)
    return match(default=default, significant=getattr(value, "significant", True),
                 description=getattr(value, "description", None),
                 positional=getattr(value, "positional", True),
                 **({} if schema is None else {"schema": schema}))
