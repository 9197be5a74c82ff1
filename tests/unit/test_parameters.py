"""The ten parameter types: defaults, significance, parsing, serialisation, hashing, errors."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sample_project.params import AllParams, BadDefault, NoDefaults

import luisy
from luisy.date_interval import DateInterval
from luisy.errors import InvalidValueError, ParameterError, TaskDefinitionError, UsageError
from luisy.parameters import FrozenDict

ALL_TYPES = [
    luisy.Parameter, luisy.IntParameter, luisy.FloatParameter, luisy.BoolParameter,
    luisy.DateParameter, luisy.MonthParameter, luisy.DateIntervalParameter,
    luisy.ListParameter, luisy.TupleParameter, luisy.DictParameter,
]

# (type, command-line text, the value it means, an equivalent Python/JSON value)
CASES = [
    (luisy.Parameter, "some text", "some text", "some text"),
    (luisy.IntParameter, " 42 ", 42, 42.0),
    (luisy.FloatParameter, "2.5", 2.5, 2.5),
    (luisy.BoolParameter, "TRUE", True, True),
    (luisy.DateParameter, "2024-03-05", dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 13, 30)),
    (luisy.MonthParameter, "2024-03", dt.date(2024, 3, 1), dt.date(2024, 3, 17)),
    (luisy.DateIntervalParameter, "2024-03",
     DateInterval(dt.date(2024, 3, 1), dt.date(2024, 4, 1), "2024-03"),
     DateInterval.parse("2024-03")),
    (luisy.ListParameter, "[1, [2, 3]]", (1, (2, 3)), [1, [2, 3]]),
    (luisy.TupleParameter, '["a", 1]', ("a", 1), ("a", 1)),
    (luisy.DictParameter, '{"b": [1, 2], "a": {"c": 3}}',
     {"a": {"c": 3}, "b": (1, 2)}, {"a": {"c": 3}, "b": [1, 2]}),
]

# (type, values that must be refused by normalize())
BAD_VALUES = [
    (luisy.IntParameter, ["abc", "4.5", 4.5, True, [1]]),
    (luisy.FloatParameter, ["x", True, "1,5"]),
    (luisy.BoolParameter, ["maybe", 2, 0.5, "2"]),
    (luisy.DateParameter, ["2024-13-01", "05.03.2024", 20240305]),
    (luisy.MonthParameter, ["March", "2024-13", 202403]),
    (luisy.DateIntervalParameter, ["2024-3", "2024-W60", "2024-04-01-2024-03-01", "q1", 2024]),
    (luisy.ListParameter, ["1,2", '{"a": 1}', {"a": 1}, 5]),
    (luisy.TupleParameter, ["(1, 2)", 5]),
    (luisy.DictParameter, ["[1]", "{bad json}", [("a", 1)], 5]),
]


@pytest.mark.parametrize("ptype", ALL_TYPES, ids=lambda t: t.__name__)
def test_every_type_is_exported_and_has_a_json_schema(ptype):
    assert getattr(luisy, ptype.__name__) is ptype
    assert "type" in ptype().json_schema


@pytest.mark.parametrize(("ptype", "text", "value", "python"), CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_parse_normalize_serialize(ptype, text, value, python):
    param = ptype()
    parsed = param.parse(text)
    assert parsed == value
    # strings given in Python or JSON are parsed the same way as on the command line
    assert param.normalize(text) == value
    # Python and JSON values reach the same canonical value
    assert param.normalize(python) == value
    # canonical values are hashable: they are part of a task's identity
    assert hash(param.normalize(python)) == hash(parsed)
    # serialize() gives a string that parses back to the same value
    assert param.parse(param.serialize(parsed)) == parsed
    # to_json() is plain JSON that normalizes back to the same value
    assert param.normalize(json.loads(json.dumps(param.to_json(parsed)))) == parsed


def test_plain_parameter_keeps_python_values():
    assert luisy.Parameter().normalize(5) == 5
    assert luisy.Parameter().serialize(5) == "5"


def test_int_and_float_keep_their_types():
    assert type(luisy.IntParameter().normalize(7.0)) is int
    assert type(luisy.FloatParameter().normalize(3)) is float


@pytest.mark.parametrize("text", ["true", "True", "1", "yes", "y", "on", " ON "])
def test_bool_true_spellings(text):
    assert luisy.BoolParameter().parse(text) is True


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "n", "off"])
def test_bool_false_spellings(text):
    assert luisy.BoolParameter().parse(text) is False


def test_bool_accepts_0_and_1_from_json():
    assert luisy.BoolParameter().normalize(1) is True
    assert luisy.BoolParameter().normalize(0) is False


def test_date_and_month_serialisation():
    assert luisy.DateParameter().serialize(dt.date(2024, 3, 5)) == "2024-03-05"
    assert luisy.MonthParameter().serialize(dt.date(2024, 3, 1)) == "2024-03"
    # a full date given for a month means its month
    assert luisy.MonthParameter().parse("2024-03-17") == dt.date(2024, 3, 1)


@pytest.mark.parametrize(("text", "first", "end_exclusive"), [
    ("2024-03-05", dt.date(2024, 3, 5), dt.date(2024, 3, 6)),
    ("2024-W09", dt.date(2024, 2, 26), dt.date(2024, 3, 4)),  # ISO week, Monday to Monday
    ("2020-W53", dt.date(2020, 12, 28), dt.date(2021, 1, 4)),
    ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 3, 1)),
    ("2024-12", dt.date(2024, 12, 1), dt.date(2025, 1, 1)),
    ("2024", dt.date(2024, 1, 1), dt.date(2025, 1, 1)),
    ("2024-03-30-2024-04-02", dt.date(2024, 3, 30), dt.date(2024, 4, 2)),
], ids=["day", "week", "week53", "month", "december", "year", "custom"])
def test_date_interval_forms(text, first, end_exclusive):
    interval = luisy.DateIntervalParameter().parse(text)
    assert (interval.date_a, interval.date_b) == (first, end_exclusive)
    days = interval.dates()
    assert days[0] == first
    assert days[-1] == end_exclusive - dt.timedelta(days=1)
    assert len(days) == (end_exclusive - first).days
    assert first in interval
    assert end_exclusive not in interval
    assert str(interval) == text
    assert luisy.DateIntervalParameter().serialize(interval) == text
    assert luisy.DateIntervalParameter().to_json(interval) == text


def test_interval_week_starts_on_iso_monday():
    for week in range(1, 53):
        interval = DateInterval.parse(f"2023-W{week:02d}")
        assert interval.date_a.isocalendar()[:2] == (2023, week)
        assert interval.date_a.weekday() == 0


@pytest.mark.parametrize(("ptype", "bad"), BAD_VALUES, ids=[b[0].__name__ for b in BAD_VALUES])
def test_bad_values_are_refused(ptype, bad):
    task_cls = type(f"Takes{ptype.__name__}", (luisy.Task,), {"value": ptype()})
    for value in bad:
        with pytest.raises((ValueError, TypeError)):
            ptype().normalize(value)
        # on a task, every refusal is a ParameterError naming task and parameter
        with pytest.raises(ParameterError, match=rf"Takes{ptype.__name__}: parameter 'value'"):
            task_cls(value=value)


def test_list_tuple_and_dict_values_are_hashable_and_frozen():
    frozen = luisy.DictParameter().normalize({"a": [1, {"b": [2]}]})
    assert isinstance(frozen, FrozenDict)
    assert isinstance(frozen["a"], tuple)
    assert isinstance(frozen["a"][1], FrozenDict)
    hash(frozen)
    with pytest.raises(TypeError):
        frozen["a"] = 2  # immutable
    # key order does not matter for equality or hash
    other = luisy.DictParameter().normalize({"b": 1, "a": 2})
    same = luisy.DictParameter().normalize({"a": 2, "b": 1})
    assert other == same and hash(other) == hash(same)
    assert luisy.DictParameter().serialize(other) == luisy.DictParameter().serialize(same)
    assert json.loads(luisy.DictParameter().serialize(frozen)) == {"a": [1, {"b": [2]}]}
    assert luisy.ListParameter().to_json((1, (2, 3))) == [1, [2, 3]]
    assert luisy.TupleParameter().to_json(("a", 1)) == ["a", 1]
    assert luisy.DictParameter().to_json(frozen) == {"a": [1, {"b": [2]}]}


# --------------------------------------------------------------------- parameters on tasks
def test_defaults_are_normalised():
    task = AllParams()
    params = dict(AllParams.get_params())
    for name, param in params.items():
        assert getattr(task, name) == param.normalize(param._default)
    assert task.flag is False
    assert task.month == dt.date(2024, 3, 1)
    assert task.interval == DateInterval.parse("2024-W09")
    assert task.items == (1, 2)
    assert task.options == {"k": 1}


def test_bool_parameter_defaults_to_false_like_luigi():
    param = luisy.BoolParameter()
    assert param.has_default
    assert param.default is False
    assert luisy.BoolParameter(default=True).default is True
    assert luisy.BoolParameter(True, False).significant is False  # luigi's positional order


def test_default_none_is_kept():
    param = luisy.IntParameter(default=None)
    assert param.has_default and param.default is None


def test_insignificant_parameter_not_in_identity_nor_task_id():
    a, b = AllParams(note="first-note"), AllParams(note="second-note")
    assert a == b
    assert hash(a) == hash(b)
    assert a.task_id == b.task_id
    assert "note" not in a.task_id
    assert "first-note" not in a.task_id
    assert "note" not in AllParams.get_param_names()
    assert "note" in AllParams.get_param_names(include_significant=True)
    assert "note" not in a.to_str_params(only_significant=True)
    assert a.to_str_params()["note"] == "first-note"
    assert len({a, b}) == 1
    # the values are kept on each instance all the same
    assert (a.note, b.note) == ("first-note", "second-note")


def test_significant_parameters_in_task_id():
    task = AllParams(count=4)
    assert task.task_id.startswith("AllParams(")
    params = dict(AllParams.get_params())
    for name in AllParams.get_param_names():
        assert f"{name}={params[name].serialize(getattr(task, name))}" in task.task_id
    assert "count=4" in task.task_id
    assert AllParams(count=5).task_id != task.task_id


@pytest.mark.parametrize(("name", "a", "b"), [
    ("items", [1, 2], (1, 2)),
    ("items", [1, 2], "[1, 2]"),
    ("pair", ["x", "y"], ("x", "y")),
    ("options", {"k": 1}, '{"k": 1}'),
    ("options", {"a": [1], "b": 2}, {"b": 2, "a": (1,)}),
    ("month", "2024-03", dt.date(2024, 3, 9)),
    ("day", "2024-03-05", dt.datetime(2024, 3, 5, 8)),
    ("interval", "2024-W09", DateInterval.parse("2024-W09")),
    ("flag", "true", True),
    ("count", "3", 3),
])
def test_equivalent_values_give_one_task(name, a, b):
    first, second = AllParams(**{name: a}), AllParams(**{name: b})
    assert first == second
    assert hash(first) == hash(second)
    assert first is second  # one cached instance
    assert len({first, second}) == 1


@pytest.mark.parametrize("name", ["items", "pair", "options"])
def test_container_values_make_tasks_hashable(name):
    value = {"items": [1, [2]], "pair": [[1], 2], "options": {"a": {"b": [1]}}}[name]
    task = AllParams(**{name: value})
    assert {task: 1}[AllParams(**{name: value})] == 1


@pytest.mark.parametrize(("name", "bad"), [
    ("count", "many"), ("ratio", "half"), ("flag", "perhaps"), ("day", "yesterday"),
    ("month", "2024-13"), ("interval", "someday"), ("items", "1,2"), ("pair", 7),
    ("options", "[1]"),
])
def test_bad_value_error_names_task_and_parameter(name, bad):
    with pytest.raises(ParameterError) as info:
        AllParams(**{name: bad})
    assert info.value.task_family == "AllParams"
    assert info.value.param_name == name
    assert "AllParams" in str(info.value)
    assert f"'{name}'" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_value_error_names_task_and_parameter():
    with pytest.raises(ParameterError, match=r"NoDefaults: parameter 'count': missing"):
        NoDefaults(day="2024-01-01")
    with pytest.raises(ParameterError, match=r"NoDefaults: parameter 'day': missing"):
        NoDefaults(count=1)
    assert NoDefaults(count=1, day="2024-01-01").day == dt.date(2024, 1, 1)


def test_bad_default_names_task_and_parameter():
    with pytest.raises(ParameterError, match=r"BadDefault: parameter 'count': bad default"):
        BadDefault()
    assert BadDefault(count=2).count == 2


def test_none_is_accepted_explicitly():
    task = AllParams(count=None)
    assert task.count is None
    assert "count=None" in task.task_id
    assert "count" not in task.to_str_params()


def test_repr_mentions_default_and_significance():
    text = repr(luisy.IntParameter(default=3, significant=False))
    assert "IntParameter" in text and "3" in text and "False" in text


class Months(luisy.Task):
    months = luisy.ListParameter(items=luisy.MonthParameter(), description="Months, YYYY-MM.")
    pairs = luisy.ListParameter(default=[[1, 2]], schema={
        "type": "array", "items": {"type": "array", "items": {"type": "integer"}}})


def test_description_and_schema_are_kept_on_the_parameter():
    params = dict(Months.get_params())
    assert params["months"].description == "Months, YYYY-MM."
    assert params["months"].json_schema == {
        "type": "array", "items": luisy.MonthParameter.json_schema}
    assert params["pairs"].json_schema["items"]["items"] == {"type": "integer"}
    assert luisy.ListParameter().json_schema == {"type": "array"}  # the class's, untouched


def test_list_items_are_checked_against_their_schema_naming_task_and_item():
    assert Months(months=["2024-01", "2024-12"]).months == ("2024-01", "2024-12")
    with pytest.raises(ParameterError, match=r"Months: parameter 'months'.*\[1\]: '2024-13' "
                                             r"does not match"):
        Months(months=["2024-01", "2024-13"])
    with pytest.raises(ParameterError, match=r"parameter 'pairs'.*\[0\]\[1\]: 'x' is not of "
                                             r"type 'integer'"):
        Months(months=[], pairs=[[1, "x"]])


@pytest.mark.parametrize(("param", "good", "bad"), [
    (luisy.MonthParameter(), ["2024-01", "1999-12"], ["2024-13", "2024-00", "2024-1"]),
    (luisy.DateParameter(), ["2024-02-29", "2024-12-31"], ["2024-1-5", "15.01.2024"]),
    (luisy.DateIntervalParameter(), ["2024", "2024-03", "2024-W09", "2024-03-05",
                                     "2024-03-01-2024-04-15"], ["2024-W60", "24-3", "2024-13"]),
])
def test_patterns_accept_what_the_parameter_parses(param, good, bad):
    import re

    pattern = re.compile(param.json_schema["pattern"])
    for text in good:
        assert pattern.match(text), text
        param.parse(text)  # and the parameter reads it
    for text in bad:
        assert not pattern.match(text), text


def test_luigi_list_schema_is_kept_for_values_and_the_form():
    luigi = pytest.importorskip("luigi")  # luisy 1.x tasks declare luigi's parameters

    class Grades(luisy.Task):
        grades = luigi.ListParameter(schema={"type": "array", "items": {"type": "integer"}})

    assert dict(Grades.get_params())["grades"].json_schema["items"] == {"type": "integer"}
    with pytest.raises(ParameterError, match=r"Grades: parameter 'grades'.*\[1\]: 'A' is not"):
        Grades(grades=[1, "A"])


def test_schema_may_be_a_jsonschema_validator_as_in_luigi():
    import jsonschema

    param = luisy.ListParameter(schema=jsonschema.Draft202012Validator(
        {"type": "array", "items": {"type": "string"}}))
    assert param.json_schema["items"] == {"type": "string"}
    assert param.normalize(["a"]) == ("a",)
    with pytest.raises(InvalidValueError, match="is not of type 'string'"):
        param.normalize([1])


def test_a_schema_that_is_no_json_schema_is_refused_where_it_is_declared():
    with pytest.raises(TaskDefinitionError, match=r"ListParameter: schema= is no valid JSON"):
        luisy.ListParameter(schema={"type": "array", "items": {"type": 5}})
    with pytest.raises(UsageError, match="items= or schema=, not both"):
        luisy.ListParameter(items=luisy.MonthParameter(), schema={"type": "array"})
