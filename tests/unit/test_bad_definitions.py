"""Bad task definitions and bad parameter values: each one clear, one-line luisy error.

A decorator used wrongly is a TaskDefinitionError when the class is decorated (its module's
import), naming the decorator and the class; a bad parameter value is a ParameterError when the
task is made (from Python or from command-line strings), naming the task and the parameter.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

import luisy
from luisy.date_interval import DateInterval
from luisy.errors import InvalidValueError, LuisyError, ParameterError, TaskDefinitionError
from luisy.parameters import MAX_DEPTH
from luisy.targets import CSVTarget, PickleTarget


class Producer(luisy.Task):
    a = luisy.IntParameter(default=1)


def _message(info: pytest.ExceptionInfo) -> str:
    """The error's message, checked to be one line."""
    assert isinstance(info.value, LuisyError)
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------- requires, inherits
@pytest.mark.parametrize("decorator", [luisy.requires, luisy.inherits])
def test_wiring_without_classes_is_refused_at_the_call(decorator):
    # at the call, before a class exists, as luigi and luisy 1.x did (a TypeError for them)
    with pytest.raises(TaskDefinitionError) as info:
        decorator()
    assert isinstance(info.value, TypeError)
    assert _message(info) == f"@{decorator.__name__}() needs at least one task class"


@pytest.mark.parametrize("decorator", [luisy.requires, luisy.inherits])
@pytest.mark.parametrize(("given", "shown"), [
    ("Producer", "'Producer' (a str)"),
    (Producer(), "the task Producer(a=1) (an instance: give its class Producer)"),
    (dict, "the class dict"),
], ids=["a-string", "an-instance", "no-task-class"])
def test_wiring_of_something_but_a_task_class_names_the_class_and_the_argument(
        decorator, given, shown):
    with pytest.raises(TaskDefinitionError) as info:
        @decorator(given)
        class Consumer(luisy.Task):
            pass
    assert _message(info) == (f"Consumer: @{decorator.__name__} takes task classes; "
                              f"got {shown}")


@pytest.mark.parametrize("decorator", [luisy.requires, luisy.inherits])
def test_wiring_a_class_that_is_no_task_is_refused(decorator):
    with pytest.raises(TaskDefinitionError) as info:
        @decorator(Producer)
        class Helper:
            pass
    assert _message(info) == f"Helper: @{decorator.__name__} works on Task subclasses only"


# ------------------------------------------------------------------------ not on a class
DECORATORS = {
    "raw": luisy.raw, "interim": luisy.interim, "final": luisy.final,
    "auto_filename": luisy.auto_filename, "csv_output": luisy.csv_output,
    "pickle_output": luisy.pickle_output(protocol=2),
    "parquetdir_output": luisy.parquetdir_output(outdir="parts"),
    "project_name": luisy.project_name("elsewhere"),
    "prefect_options": luisy.prefect_options(retries=2),
    "requires": luisy.requires(Producer), "inherits": luisy.inherits(Producer),
    "make_directory_output": luisy.make_directory_output(str),
}


@pytest.mark.parametrize("name", DECORATORS)
def test_a_decorator_on_a_function_is_refused_and_names_it(name):
    def load_data():
        return 1

    with pytest.raises(TaskDefinitionError) as info:
        DECORATORS[name](load_data)
    assert _message(info).startswith(f"@{name} decorates classes; got the function ")
    assert "load_data" in str(info.value)


def test_a_positional_value_is_no_class_to_decorate():
    with pytest.raises(TaskDefinitionError) as info:
        luisy.csv_output(";")
    assert _message(info) == "@csv_output decorates classes; got ';' (a str)"


def test_project_name_used_bare_is_refused_naming_the_class():
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.project_name
        class Named(luisy.Task):
            pass
    assert _message(info) == ("@project_name takes the project's name, as in "
                              "@project_name('my_project'); got the class Named")


def test_layers_and_formats_still_decorate_a_mixin_as_in_luisy_1x():
    @luisy.final
    @luisy.csv_output
    class Mixin:
        pass

    class Mixed(Mixin, luisy.Task):
        pass

    assert (Mixed.layer, Mixed.target_cls) == ("final", CSVTarget)


# ------------------------------------------------------------------------------ options
@pytest.mark.parametrize(("decorator", "option", "close", "accepted"), [
    (luisy.csv_output(sepp=";"), "sepp", "sep", ["sep", "usecols", "write_kwargs"]),
    (luisy.pickle_output(protcol=2), "protcol", "protocol", ["protocol"]),
    (luisy.json_output(indnt=2), "indnt", "indent", ["indent"]),
    (luisy.feather_output(colums=["a"]), "colums", "columns", ["columns", "write_kwargs"]),
    (luisy.xlsx_output(index_cl=0), "index_cl", "index_col", ["index_col", "sheet_name"]),
    (luisy.parquetdir_output(out_dir="x"), "out_dir", "outdir", ["outdir"]),
    (luisy.auto_filename(excl_param=["a"]), "excl_param", "excl_params",
     ["excl_none", "excl_params"]),
], ids=["csv", "pickle", "json", "feather", "xlsx", "parquetdir", "auto_filename"])
def test_an_unknown_option_is_refused_naming_it_and_the_accepted_ones(
        decorator, option, close, accepted):
    with pytest.raises(TaskDefinitionError) as info:
        @decorator
        class Typo(luisy.Task):
            pass
    message = _message(info)
    name = message.split("@")[1].split(" ")[0]
    assert message.startswith(f"Typo: @{name} got the unknown option {option!r} "
                              f"(did you mean {close!r}?); it takes ")
    taken = message.split("; it takes ")[1].split(", ")
    assert set(accepted) <= set(taken)


def test_a_layer_takes_no_options():
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.raw(sub_dir="x")
        class Layered(luisy.Task):
            pass
    assert _message(info) == "Layered: @raw got the unknown option 'sub_dir'; it takes no options"


def test_write_kwargs_are_checked_against_the_writer():
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.csv_output(sep=";", write_kwargs={"indx": False})
        class Typo(luisy.Task):
            pass
    assert _message(info).startswith(
        "Typo: @csv_output: write_kwargs got the unknown option 'indx' (did you mean "
        "'index'?); it takes ")
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.csv_output(write_kwargs=["index"])
        class NotADict(luisy.Task):
            pass
    assert _message(info) == ("NotADict: @csv_output: write_kwargs must be a dict of "
                              "DataFrame.to_csv options; got ['index'] (a list)")


def test_a_writer_option_given_to_the_reader_says_where_it_goes():
    # luisy 1.x handed csv options to the writer too; now the writer's go in write_kwargs
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.csv_output(sep=";", float_format="%.2f")
        class Rounded(luisy.Task):
            pass
    assert _message(info) == ("Rounded: @csv_output got 'float_format', an option of "
                              "DataFrame.to_csv, not of pandas.read_csv: give it in "
                              "write_kwargs={'float_format': ...}")


def test_right_options_and_engine_options_are_kept():
    @luisy.csv_output(sep=";", write_kwargs={"index": True})
    class Right(luisy.Task):
        pass

    # read_parquet passes what it does not know to its engine: any name is taken
    @luisy.parquet_output(filters=[("a", ">", 1)], coerce_int96_timestamp_unit="ms")
    class Engine(luisy.Task):
        pass

    assert Right.target_kwargs == {"sep": ";", "write_kwargs": {"index": True}}
    assert Engine.target_kwargs["coerce_int96_timestamp_unit"] == "ms"


# ----------------------------------------------------------------------- two outputs
def test_two_output_decorators_on_one_class_are_refused():
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.csv_output
        @luisy.pickle_output
        class Twice(luisy.Task):
            pass
    assert _message(info) == ("Twice: @csv_output would replace the output PickleTarget it "
                              "already has (from another output decorator); give the class one")
    with pytest.raises(TaskDefinitionError, match=r"^Folder: @parquetdir_output would replace"):
        @luisy.parquetdir_output(outdir="parts")
        @luisy.json_output
        class Folder(luisy.Task):
            pass


def test_a_subclass_may_replace_the_output_it_inherits():
    @luisy.pickle_output
    class Base(luisy.Task):
        pass

    @luisy.csv_output
    class Child(Base):
        pass

    assert (Base.target_cls, Child.target_cls) == (PickleTarget, CSVTarget)


# ---------------------------------------------------------------- make_directory_output
def test_make_directory_output_on_a_task_that_is_not_external_is_refused():
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.make_directory_output(str)
        class Written(luisy.Task):
            def get_folder_name(self):
                return "texts"
    assert _message(info) == ("Written: @make_directory_output works on ExternalTask "
                              "subclasses only")


def test_make_directory_output_used_bare_is_refused_naming_the_class():
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.make_directory_output
        class Texts(luisy.ExternalTask):
            def get_folder_name(self):
                return "texts"
    assert _message(info) == ("Texts: @make_directory_output needs the function that reads "
                              "one file, as in @make_directory_output(read_file_func)")


@pytest.mark.parametrize(("args", "why"), [
    (("read_it",), "read_file_func is 'read_it' (a str), not a function"),
    ((str, "(["), "regex_pattern '([' is no regular expression: unterminated character set "
                  "at position 1"),
], ids=["not-callable", "bad-regex"])
def test_make_directory_output_checks_its_reader_and_pattern_when_decorating(args, why):
    with pytest.raises(TaskDefinitionError) as info:
        @luisy.make_directory_output(*args)
        class Texts(luisy.ExternalTask):
            def get_folder_name(self):
                return "texts"
    assert _message(info) == f"Texts: @make_directory_output: {why}"


# ============================================================== bad parameter values
class Typed(luisy.Task):
    day = luisy.DateParameter(default=dt.date(2024, 1, 1))
    month = luisy.MonthParameter(default=dt.date(2024, 1, 1))
    interval = luisy.DateIntervalParameter(default=None)
    count = luisy.IntParameter(default=1)
    ratio = luisy.FloatParameter(default=1.0)
    flag = luisy.BoolParameter()
    text = luisy.Parameter(default="x")
    items = luisy.ListParameter(default=[])
    pair = luisy.TupleParameter(default=())
    options = luisy.DictParameter(default={})


def _refused(name: str, value: object) -> list[str]:
    """The messages of making Typed with ``name=value`` from command-line text (if it is
    text) and from Python: both must be a ParameterError naming task and parameter."""
    makers = [lambda: Typed(**{name: value})]
    if isinstance(value, str):
        makers.append(lambda: Typed.from_str_params({name: value}))
    messages = []
    for make in makers:
        with pytest.raises(ParameterError) as info:
            make()
        message = _message(info)
        assert message.startswith(f"Typed: parameter '{name}': ")
        assert len(message) < 300  # one readable line, whatever was given
        messages.append(message)
    return messages


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("day", "2024-01-01garbage", "expected a date YYYY-MM-DD"),
    ("day", "2024-01-011", "expected a date YYYY-MM-DD"),  # not 2024-01-01 with a typo
    ("day", "2024-02-30", "expected a date YYYY-MM-DD"),
    ("month", "2024-03garbage", "expected a month YYYY-MM"),
    ("month", "2024-03-011", "expected a month YYYY-MM"),
    ("interval", "2024-03x", "is no date interval (YYYY-MM-DD, "),
    ("interval", "2024-02-30", "is no date interval: day is out of range for month"),
    ("interval", "2024-W60", "is no date interval: Invalid week: 60"),
    ("count", "3x", "expected an integer"),
    ("ratio", "2.5x", "expected a number"),
    ("ratio", "1,5", "expected a number"),
    ("flag", "yes please", "expected true or false"),
])
def test_text_after_a_value_is_refused_from_python_and_the_command_line(name, text, expected):
    for message in _refused(name, text):
        assert expected in message and repr(text) in message


@pytest.mark.parametrize(("name", "text", "value"), [
    ("day", "2024-03-05", dt.date(2024, 3, 5)),
    ("day", "2024-3-5", dt.date(2024, 3, 5)),  # luigi's %Y-%m-%d reads it
    ("day", " 2024-03-05 ", dt.date(2024, 3, 5)),
    ("day", "2024-03-05T13:30", dt.date(2024, 3, 5)),  # as a datetime given in Python
    ("month", "2024-03", dt.date(2024, 3, 1)),
    ("month", "2024-3", dt.date(2024, 3, 1)),  # luigi's %Y-%m
    ("month", "2024-03-01", dt.date(2024, 3, 1)),  # as luisy 1.x file names spell a month
    ("interval", "2024-W09", DateInterval.parse("2024-W09")),
    ("count", " 42 ", 42),
    ("count", "1_000", 1000),  # int() reads it, as in luigi
    ("ratio", "1e3", 1000.0),
    ("ratio", "inf", float("inf")),
    ("flag", "True", True),
    ("flag", "true", True),
    ("flag", "False", False),
])
def test_every_form_luigi_reads_is_still_read(name, text, value):
    assert getattr(Typed.from_str_params({name: text}), name) == value
    assert getattr(Typed(**{name: text}), name) == value


@pytest.mark.parametrize(("name", "value"), [
    ("text", "a\x00b"),
    ("items", ["ok", "a\x00b"]),
    ("items", '["ok", "a\\u0000b"]'),
    ("options", {"a\x00b": 1}),
    ("options", '{"key": {"deeper": "a\\u0000b"}}'),
], ids=["text", "list-item", "list-item-json", "dict-key", "dict-value-json"])
def test_a_nul_character_is_refused_naming_the_parameter(name, value):
    for message in _refused(name, value):
        assert message.endswith("'a\\x00b' holds a NUL character (\\x00), which no task id or "
                                "file name can hold")


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(("name", "value"), [
    ("items", "[" * 10_000),  # what json cannot even read: a RecursionError inside it
    ("items", "[" * 10_000 + "]" * 10_000),
    ("items", json.dumps(_nested(MAX_DEPTH + 1))),
    ("items", _nested(MAX_DEPTH + 1)),
    ("pair", _nested(5_000)),
    ("options", json.dumps({"a": _nested(MAX_DEPTH)})),
], ids=["unbalanced-10000", "10000", "101-json", "101-python", "5000-python", "dict-101"])
def test_json_nested_too_deep_is_one_clear_error(name, value):
    for message in _refused(name, value):
        assert message.endswith(f"the value nests deeper than {MAX_DEPTH} levels (or holds "
                                "itself), luisy's limit (luisy.parameters.MAX_DEPTH)")


def test_a_list_holding_itself_is_too_deep_and_100_levels_are_fine():
    itself: list = []
    itself.append(itself)
    _refused("items", itself)
    deepest = Typed.from_str_params({"items": json.dumps(_nested(MAX_DEPTH))})
    assert deepest.items == Typed(items=_nested(MAX_DEPTH)).items


@pytest.mark.parametrize(("name", "text"), [
    ("items", "[1, 2"), ("items", "(1, 2)"), ("options", "{bad json}"),
    ("options", "{'a': 1}"), ("items", "x" * 5_000),
])
def test_json_that_is_not_json_is_refused(name, text):
    for message in _refused(name, text):
        assert "expected JSON" in message


def test_an_interval_that_does_not_exist_is_a_luisy_error_from_the_interval_too():
    with pytest.raises(InvalidValueError, match=r"^'2024-13' is no date interval: month must"):
        DateInterval.parse("2024-13")


def test_a_nan_task_equals_itself():
    # NaN equals nothing; as in luigi, whose tasks were equal by id ('nan'), the task is one
    nan = Typed(ratio=float("nan"))
    assert nan is Typed.from_str_params({"ratio": "nan"}) is Typed(ratio="NaN")
    assert nan == Typed(ratio=float("nan")) and len({nan, Typed(ratio=float("nan"))}) == 1
