"""Delta tables shared by task instances: partitions owned per instance, MERGE upserts.

Everything runs on real engines: the embedded pysail engine (path and catalog tables) and, for
an engine that cannot MERGE, classic Spark without Delta Lake.
"""
from __future__ import annotations

import os
import threading

import pandas as pd
import pytest

import luisy
from luisy import Config
from luisy.errors import TargetError, TaskDefinitionError
from luisy.targets.delta import (
    DeltaOptionsError,
    DeltaTableTarget,
    InvalidIdentifierError,
    sql_literal,
)
from luisy.tasks.base import SparkTask, WrapperTask

project = luisy.project_name("deltawrites")


def rows(df) -> list[tuple]:
    """The frame's rows as sorted tuples, columns in name order (engines move partition
    columns to the end)."""
    names = sorted(df.columns)
    return sorted(tuple(row[n] for n in names) for row in df.collect())


def sales(*values: int) -> pd.DataFrame:
    return pd.DataFrame({"v": list(values)})


# ---------------------------------------------------------------------------- tasks
@project
@luisy.deltatable_output(catalog="`my-catalog`", schema="`dev-schema`", table_name="sales",
                         partition_by=["month"])
class MonthlySales(SparkTask):
    """One instance per month; a new ``delivery`` of a month replaces that month's rows."""

    month = luisy.MonthParameter()
    delivery = luisy.IntParameter(default=1)

    def run(self):
        base = 100 * self.delivery + 10 * self.month.month
        self.write(self.spark.createDataFrame(sales(base, base + 1)))


@project
class AllMonths(WrapperTask):
    months = luisy.ListParameter()
    deliveries = luisy.DictParameter(default={})

    def requires(self):
        return [MonthlySales(month=m, delivery=self.deliveries.get(m, 1)) for m in self.months]


@project
@luisy.deltatable_output(catalog="c", schema="s", table_name="customers", mode="merge",
                         merge_keys=["id"])
class DailyCustomers(SparkTask):
    """Each day upserts the customers it saw."""

    day = luisy.IntParameter()

    def run(self):
        ids = [self.day, self.day + 1]
        self.write(pd.DataFrame({"id": ids, "seen": [self.day] * 2}))


@project
class AllDays(WrapperTask):
    days = luisy.ListParameter()

    def requires(self):
        return [DailyCustomers(day=d) for d in self.days]


@project
@luisy.deltatable_output(catalog="c", schema="s", table_name="t", partition_by="region")
class NotAParameter(SparkTask):
    month = luisy.MonthParameter()


def partitioned(month, **kwargs) -> DeltaTableTarget:
    return DeltaTableTarget(catalog="c", schema="s", table_name="p", partition_by=["month"],
                            partition_values={"month": month}, **kwargs)


def test_a_table_and_its_partitions_are_named_as_prefect_asset_keys(working_dir):
    from prefect.assets import Asset

    whole = DeltaTableTarget(catalog="main", schema="sales", table_name="clean")
    assert whole.uri == "delta://main.sales.clean"
    assert partitioned("2024-01").uri == "delta://c.s.p/month=2024-01"
    assert Asset(key=partitioned("2024-01").uri).key == "delta://c.s.p/month=2024-01"


# ---------------------------------------------------------------- options, names, literals
@pytest.mark.parametrize(("options", "message"), [
    ({"mode": "upsert"}, "unknown Delta table mode 'upsert'"),
    ({"mode": "merge"}, "mode='merge' needs merge_keys"),
    ({"merge_keys": ["id"]}, "merge_keys are used only with mode='merge'"),
    ({"mode": "merge", "merge_keys": ["id"], "partition_by": ["month"]},
     "partition_by and mode='merge' cannot be combined"),
    ({"partition_by": ["month", "Month"]}, "partition column 'month' is given twice"),
    ({"partition_by": 3}, "partition columns must be a list of column names"),
])
def test_impossible_options_fail_when_the_class_is_decorated(options, message):
    with pytest.raises(DeltaOptionsError) as info:
        luisy.deltatable_output(catalog="c", schema="s", table_name="t", **options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("options", "bad"), [
    ({"partition_by": ["month; DROP TABLE t"]}, "partition column 'month; DROP TABLE t'"),
    ({"mode": "merge", "merge_keys": ["id", "a`b"]}, "merge key 'a`b'"),
])
def test_column_names_are_checked_as_names(options, bad):
    with pytest.raises(InvalidIdentifierError, match=f"invalid Delta table {bad}"):
        luisy.deltatable_output(catalog="c", schema="s", table_name="t", **options)


def test_partition_by_must_name_parameters_of_the_task(working_dir):
    with pytest.raises(TaskDefinitionError, match=r"NotAParameter: partition_by names "
                                                  r"'region', which is not a parameter"):
        NotAParameter(month="2024-01").output()


def test_each_instance_has_its_own_target_and_hash_key(working_dir):
    jan, feb = MonthlySales(month="2024-01"), MonthlySales(month="2024-02")
    assert jan.output().partition_values == {"month": "2024-01"}  # the parameter's text
    assert jan.output().location == "`my-catalog`.`dev-schema`.sales[month=2024-01]"
    assert jan.output().path == os.path.join(
        str(working_dir), "`my-catalog`.`dev-schema`.sales", "month=2024-01.DeltaTable")
    assert jan.output().path != feb.output().path
    # a new delivery of a month is the same output: it replaces what the old one wrote
    assert MonthlySales(month="2024-01", delivery=2).output().path == jan.output().path
    assert MonthlySales.target_kwargs["partition_by"] == ["month"]  # the class: the options
    # values never add path levels to the key
    odd = partitioned("../../x/y")
    assert odd.path == os.path.join("", "c.s.p", "month=..%2F..%2Fx%2Fy.DeltaTable")
    # merging instances: one key per instance, from its parameters
    day1 = DailyCustomers(day=1).output()
    assert day1.path == os.path.join(str(working_dir), "c.s.customers", "day=1.DeltaTable")
    assert day1.location == "c.s.customers"


def test_partition_values_must_be_plain_values():
    with pytest.raises(TargetError, match=r"partition column 'month' needs a text, integer, "
                                          r"boolean or date value, got no value \(None\)"):
        partitioned(None)
    with pytest.raises(TargetError, match="needs a text, integer, boolean or date value"):
        partitioned(1.5)
    with pytest.raises(TargetError, match="no partition value for column 'month'"):
        DeltaTableTarget(catalog="c", schema="s", table_name="p", partition_by=["month"],
                         partition_values={})


@pytest.mark.parametrize("value", [
    "a'b", "a\\b", "a\\'b", "' OR '1'='1", "x\\u0041y", "line\nbreak", "ä€", "a''b", "'",
    "\\", "%_*",
])
def test_sql_literals_read_back_as_the_value_on_the_engine(on_embedded, value):
    assert on_embedded.sql(f"SELECT {sql_literal(value)} AS x").collect()[0][0] == value


# ------------------------------------------------------------------- partitioned tables
@pytest.mark.parametrize("storage", ["path", "catalog"])
def test_each_instance_owns_its_partition(on_embedded, working_dir, storage):
    Config().set_param("delta_storage", storage)
    jan, feb = partitioned("2024-01"), partitioned("2024-02")
    whole = DeltaTableTarget(catalog="c", schema="s", table_name="p")
    whole.remove()
    assert not jan.exists()

    jan.write(sales(1, 2))  # no month column: it comes from the partition value
    assert jan.exists() and not feb.exists()
    feb.write(on_embedded.createDataFrame(pd.DataFrame({"month": ["2024-02"], "v": [3]})))
    assert feb.exists()
    assert rows(whole.read()) == [("2024-01", 1), ("2024-01", 2), ("2024-02", 3)]
    assert rows(jan.read()) == [("2024-01", 1), ("2024-01", 2)]  # its own rows only

    jan.write(sales(9))  # a rerun replaces only its rows
    assert rows(whole.read()) == [("2024-01", 9), ("2024-02", 3)]

    feb.remove()  # only its partition
    assert not feb.exists() and jan.exists()
    assert rows(whole.read()) == [("2024-01", 9)]
    feb.remove()  # nothing left to delete
    whole.remove()
    assert not jan.exists()
    jan.remove()  # no table at all


def test_writers_of_one_table_in_threads_take_turns(on_embedded, working_dir):
    # concurrent commits to one Delta table fail on pysail ("Failed to commit transaction");
    # the month tasks of a build run in threads, so their writes must not collide
    months = [f"2024-0{i}" for i in range(1, 5)]
    for month in months:
        partitioned(month).write(sales(0))
    errors = []

    def rewrite(month):
        try:
            for attempt in range(1, 4):
                partitioned(month).write(sales(attempt))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=rewrite, args=(m,)) for m in months]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rows(DeltaTableTarget(catalog="c", schema="s", table_name="p").read()) == [
        (m, 3) for m in months]


def test_rows_of_another_partition_are_refused(on_embedded, working_dir):
    jan = partitioned("2024-01", owner="MonthlySales(month=2024-01)")
    jan.write(sales(1))
    wrong = pd.DataFrame({"month": ["2024-01", "2024-02", None], "v": [5, 6, 7]})
    with pytest.raises(TargetError) as info:
        jan.write(wrong)
    message = str(info.value)
    assert message.startswith("MonthlySales(month=2024-01): the frame written to c.s.p has rows "
                              "with month other than month=2024-01")
    assert "\n" not in message
    assert rows(jan.read()) == [("2024-01", 1)]  # nothing was written


def test_partition_values_are_literals_not_sql(on_embedded, working_dir):
    sneaky = partitioned("x' OR '1'='1")
    plain = partitioned("2024-01")
    plain.write(sales(1))
    assert not sneaky.exists()
    sneaky.write(sales(2))
    sneaky.remove()  # would delete every row if the value were spliced into the predicate
    assert rows(plain.read()) == [("2024-01", 1)]
    assert not sneaky.exists()


def test_typed_partition_values_make_typed_columns(on_embedded, working_dir):
    target = DeltaTableTarget(catalog="c", schema="s", table_name="typed",
                              partition_by=["year", "final"],
                              partition_values={"year": 2024, "final": True})
    target.write(sales(1))
    read = target.read()
    assert dict(read.dtypes) == {"v": "bigint", "year": "int", "final": "boolean"}
    assert target.predicate() == "`year` = 2024 AND `final` = true"


def test_a_partitioned_target_needs_its_values(on_embedded, working_dir):
    target = DeltaTableTarget(catalog="c", schema="s", table_name="p", partition_by=["month"])
    with pytest.raises(TargetError, match=r"cannot write c\.s\.p: it is partitioned by month "
                                          r"and this target has no partition_values"):
        target.write(sales(1))


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server", "embedded_spark")
def test_monthly_build_owns_partitions_and_reruns_one_month(working_dir):
    months = ["2024-01", "2024-02"]
    whole = DeltaTableTarget(catalog="`my-catalog`", schema="`dev-schema`", table_name="sales")

    first = luisy.build(AllMonths(months=months), workers=2)  # both months write at once
    assert first.ok
    jan, feb = (MonthlySales(month=m) for m in months)
    assert first.completed >= {jan, feb}
    assert rows(whole.read()) == [("2024-01", 110), ("2024-01", 111),
                                  ("2024-02", 120), ("2024-02", 121)]

    again = luisy.build(AllMonths(months=months))
    assert {jan, feb} <= again.already_done and not again.completed - {AllMonths(months=months)}

    # a new delivery for January: only January runs, and only its rows change
    redelivered = MonthlySales(month="2024-01", delivery=2)
    rerun = luisy.build(AllMonths(months=months, deliveries={"2024-01": 2}))
    assert rerun.ok
    assert redelivered in rerun.completed
    assert feb in rerun.already_done and feb not in rerun.completed
    assert rows(whole.read()) == [("2024-01", 210), ("2024-01", 211),
                                  ("2024-02", 120), ("2024-02", 121)]
    assert jan.output().exists() and not jan.complete()  # January's rows are delivery 2's
    assert redelivered.complete() and feb.complete()

    feb.clean()  # only February's rows go
    assert rows(whole.read()) == [("2024-01", 210), ("2024-01", 211)]
    assert not feb.complete() and redelivered.complete()


# -------------------------------------------------------------------------------- MERGE
@pytest.mark.parametrize("storage", ["path", "catalog"])
def test_merge_creates_the_table_then_upserts(on_embedded, working_dir, storage):
    Config().set_param("delta_storage", storage)
    target = DeltaTableTarget(catalog="`my-catalog`", schema="s", table_name="m",
                              mode="merge", merge_keys=["id", "kind"])
    target.remove()
    assert not target.exists()
    target.write(pd.DataFrame({"id": [1, 2], "kind": ["a", "a"], "v": [10, 20]}))
    assert rows(target.read()) == [(1, "a", 10), (2, "a", 20)]

    update = pd.DataFrame({"id": [2, 2, 3], "kind": ["a", "b", "a"], "v": [21, 99, 30]})
    target.write(update)
    assert rows(target.read()) == [(1, "a", 10), (2, "a", 21), (2, "b", 99), (3, "a", 30)]
    target.write(update)  # a rerun changes nothing
    assert rows(target.read()) == [(1, "a", 10), (2, "a", 21), (2, "b", 99), (3, "a", 30)]
    target.remove()
    assert not target.exists()


def test_merge_keys_with_nulls_do_not_duplicate_rows_on_rerun(on_embedded, working_dir):
    target = DeltaTableTarget(catalog="c", schema="s", table_name="nulls", mode="merge",
                              merge_keys=["id"])
    data = pd.DataFrame({"id": [1.0, None], "v": ["a", "n"]})
    target.write(data)
    target.write(data.assign(v=["A", "N"]))
    assert sorted(map(str, target.read().collect())) == [
        "Row(id=1.0, v='A')", "Row(id=None, v='N')"]


def test_merge_needs_its_key_columns(on_embedded, working_dir):
    target = DeltaTableTarget(catalog="c", schema="s", table_name="m2", mode="merge",
                              merge_keys=["id"])
    with pytest.raises(TargetError, match=r"cannot merge into c\.s\.m2: the frame has no column "
                                          r"'id' \(merge_keys \['id'\]\)"):
        target.write(pd.DataFrame({"v": [1]}))


def test_an_engine_without_merge_is_named_in_one_line(on_classic, working_dir):
    Config().set_param("delta_storage", "catalog")
    spark = on_classic
    spark.sql("DROP TABLE IF EXISTS `spark_catalog`.`default`.`no_merge`")
    spark.sql("CREATE TABLE `spark_catalog`.`default`.`no_merge` (id INT, v STRING) "
              "USING parquet")
    try:
        target = DeltaTableTarget(catalog="spark_catalog", schema="default",
                                  table_name="no_merge", mode="merge", merge_keys=["id"])
        with pytest.raises(TargetError) as info:
            target.write(spark.createDataFrame([(1, "a")], "id INT, v STRING"))
        message = str(info.value)
        assert message.startswith("cannot MERGE INTO spark_catalog.default.no_merge: the engine "
                                  "(classic Spark")
        assert "does not support MERGE INTO on this table" in message
        assert "\n" not in message and "\tat org.apache" not in message
        # no temp view left behind
        assert not [t for t in spark.catalog.listTables() if t.name.startswith("luisy_merge")]
    finally:
        spark.sql("DROP TABLE IF EXISTS `spark_catalog`.`default`.`no_merge`")


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server", "embedded_spark")
def test_daily_merges_each_recorded_as_their_own_output(working_dir):
    table = DeltaTableTarget(catalog="c", schema="s", table_name="customers")
    assert luisy.build(AllDays(days=[1])).ok
    assert rows(table.read()) == [(1, 1), (2, 1)]
    summary = luisy.build(AllDays(days=[1, 2]))
    assert summary.ok
    assert DailyCustomers(day=1) in summary.already_done
    assert DailyCustomers(day=2) in summary.completed
    assert rows(table.read()) == [(1, 1), (2, 2), (3, 2)]  # day 2 updated customer 2

    again = luisy.build(AllDays(days=[1, 2]))  # each day's key is its own: both complete
    assert {DailyCustomers(day=1), DailyCustomers(day=2)} <= again.already_done
    assert DailyCustomers(day=1).complete() and DailyCustomers(day=2).complete()
