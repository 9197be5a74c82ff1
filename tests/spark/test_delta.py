"""DeltaTableTarget on real engines: names, write/exists/read/remove, persistence, errors."""
from __future__ import annotations

import os

import pandas as pd
import pytest
from sparktest_util import run_python

import luisy
from luisy import Config
from luisy.errors import TargetError
from luisy.targets.delta import DeltaTableTarget, InvalidIdentifierError


def frame(df) -> pd.DataFrame:
    return df.toPandas().sort_values(list(df.columns)).reset_index(drop=True)


@pytest.mark.parametrize(("part", "value"), [
    # unquoted, a hyphen or a leading digit is refused: back-quoting says it is one name
    ("catalog", "my-catalog"), ("schema", "1schema"), ("table name", "t; DROP TABLE x"),
    ("table name", "a.b"), ("schema", "s`"), ("catalog", ""), ("table name", None),
    ("schema", "../../etc"), ("table name", "tä"),
    # back-quoted, only ASCII letters, digits, '_' and '-': nothing SQL or a path could read
    ("catalog", "`a`b`"), ("catalog", "`a``b`"), ("schema", "`../etc`"), ("schema", "`..`"),
    ("table name", "`a/b`"), ("table name", "`a.b`"), ("table name", "`a b`"),
    ("catalog", "`a\x00`"), ("catalog", "``"), ("catalog", "`"), ("schema", "`dev-schema"),
    ("table name", "`tä`"), ("table name", "`t'; DROP TABLE x; --`"), ("schema", "`a\\b`"),
    ("catalog", "`" + "x" * 256 + "`"),
])
def test_identifiers_must_be_plain(part, value):
    kwargs = {"catalog": "c", "schema": "s", "table_name": "t"}
    kwargs[{"table name": "table_name"}.get(part, part)] = value
    with pytest.raises(InvalidIdentifierError) as info:
        DeltaTableTarget(**kwargs)
    assert f"invalid Delta table {part} {value!r}" in str(info.value)


def test_decorators_refuse_bad_names_when_the_class_is_declared():
    with pytest.raises(InvalidIdentifierError, match="schema 'x y'"):
        luisy.deltatable_output(catalog="c", schema="x y", table_name="t")
    with pytest.raises(InvalidIdentifierError, match="catalog"):
        luisy.deltatable_input(catalog="c.d", schema="s", table_name="t")


def test_path_keeps_the_1x_hash_key_and_location_is_the_table_name(working_dir):
    target = DeltaTableTarget(outdir=str(working_dir), catalog="c", schema="s", table_name="t")
    assert target.path == os.path.join(str(working_dir), "c.s.t.DeltaTable")
    assert target.location == "c.s.t"
    assert target.table_path() == os.path.join(str(working_dir), ".luisy-delta", "c", "s", "t")


def test_write_exists_read_overwrite_remove_as_folder(on_embedded, working_dir):
    target = DeltaTableTarget(catalog="c", schema="s", table_name="t")
    assert not target.exists()
    with pytest.raises(TargetError, match=r"c\.s\.t: the table does not exist"):
        target.read()

    target.write(pd.DataFrame({"a": [1, 2], "b": ["u", "v"]}))  # pandas is accepted
    assert target.exists()
    assert os.path.isdir(working_dir / ".luisy-delta" / "c" / "s" / "t" / "_delta_log")
    assert frame(target.read()).to_dict("list") == {"a": [1, 2], "b": ["u", "v"]}

    spark = on_embedded
    target.write(spark.createDataFrame(pd.DataFrame({"z": [3.5]})))  # new schema: overwritten
    assert frame(target.read()).to_dict("list") == {"z": [3.5]}

    target.remove()
    assert not target.exists()
    assert not os.path.exists(target.table_path())


def test_catalog_tables_over_spark_connect(on_embedded):
    Config().set_param("delta_storage", "catalog")
    target = DeltaTableTarget(catalog="cat", schema="sch", table_name="tab")
    target.remove()
    assert not target.exists()
    target.write(pd.DataFrame({"a": [1, 2, 3]}))
    assert target.exists()
    assert not os.path.exists(target.table_path())  # in the catalog, not our folder
    assert frame(target.read())["a"].tolist() == [1, 2, 3]
    target.remove()
    assert not target.exists()


def test_table_written_in_one_process_is_found_by_a_new_process(on_embedded, working_dir):
    DeltaTableTarget(catalog="c", schema="s", table_name="kept").write(
        pd.DataFrame({"a": [1, 2, 3]}))
    out = run_python(
        "from luisy.targets.delta import DeltaTableTarget\n"
        "t = DeltaTableTarget(catalog='c', schema='s', table_name='kept')\n"
        "print(t.exists(), sorted(t.read().toPandas()['a']))\n",
        WORKING_DIR=str(working_dir))
    assert out.split("\n")[-2] == "True [1, 2, 3]"


def test_classic_spark_without_delta_jars_says_how_to_fix_it(on_classic):
    Config().set_param("delta_storage", "path")
    target = DeltaTableTarget(catalog="c", schema="s", table_name="t")
    with pytest.raises(TargetError) as info:
        target.write(pd.DataFrame({"a": [1]}))
    message = str(info.value)
    assert message.startswith("cannot write c.s.t: Delta Lake is not in this classic Spark "
                              "session. Fix: pip install 'luisy[delta]' (delta-spark)")
    assert "configure_spark_with_delta_pip" in message
    assert "SparkSessionBlock(mode='local', delta=True)" in message
    assert "here" not in message.replace("there", "")  # nothing about the machine luisy runs on
    assert "\tat org.apache" not in message  # no JVM stack trace


def test_classic_spark_without_that_catalog_names_the_fix(on_classic):
    Config().set_param("delta_storage", "catalog")
    with pytest.raises(TargetError, match=r"no catalog of that name.*delta_storage"):
        DeltaTableTarget(catalog="c", schema="s", table_name="t").exists()


def test_unity_catalog_names_are_back_quoted_and_kept_bare(working_dir):
    target = DeltaTableTarget(outdir=str(working_dir), catalog="`my-catalog`",
                              schema="`dev-schema`", table_name="`2024_sales`")
    assert (target.catalog, target.schema, target.table_name) == (
        "my-catalog", "dev-schema", "2024_sales")
    assert target.table_uri == "`my-catalog`.`dev-schema`.`2024_sales`"  # as written (1.x)
    assert target.path == os.path.join(str(working_dir),
                                       "`my-catalog`.`dev-schema`.`2024_sales`.DeltaTable")
    root = os.path.join(str(working_dir), ".luisy-delta")
    assert target.table_path() == os.path.join(root, "my-catalog", "dev-schema", "2024_sales")
    # plain names are unchanged
    plain = DeltaTableTarget(catalog="c_1", schema="_s", table_name="T")
    assert (plain.catalog, plain.schema, plain.table_name, plain.table_uri) == (
        "c_1", "_s", "T", "c_1._s.T")


@pytest.mark.parametrize("storage", ["path", "catalog"])
def test_unity_catalog_names_are_real_tables(on_embedded, working_dir, storage):
    Config().set_param("delta_storage", storage)
    target = DeltaTableTarget(catalog="`my-catalog`", schema="`dev-schema`", table_name="t")
    target.remove()
    assert not target.exists()
    target.write(pd.DataFrame({"a": [1, 2]}))
    assert target.exists()
    assert frame(target.read())["a"].tolist() == [1, 2]
    folder = working_dir / ".luisy-delta" / "my-catalog" / "dev-schema" / "t"
    assert folder.is_dir() == (storage == "path")
    if storage == "catalog":  # the catalog has the bare names, back-quoted by luisy
        assert on_embedded.catalog.tableExists("`my-catalog`.`dev-schema`.`t`")
    target.remove()
    assert not target.exists()


def test_an_empty_delta_log_is_not_a_table(on_embedded, working_dir):
    target = DeltaTableTarget(catalog="c", schema="s", table_name="half")
    log = working_dir / ".luisy-delta" / "c" / "s" / "half" / "_delta_log"
    log.mkdir(parents=True)
    assert not target.exists()  # a writer died before its first commit
    (log / "00000000000000000000.crc").write_text("{}")
    (log / "_commit_0.json.tmp").write_text("{}")
    assert not target.exists()  # no commit among them
    with pytest.raises(TargetError, match=r"c\.s\.half: the table does not exist"):
        target.read()

    target.write(pd.DataFrame({"a": [1]}))  # the folder is taken over by the first commit
    assert target.exists()
    assert any(name.endswith(".json") and name[:20].isdigit() for name in os.listdir(log))
    assert frame(target.read())["a"].tolist() == [1]
