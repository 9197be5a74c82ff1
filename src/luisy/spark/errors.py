"""Errors of the Spark layer, and short, secret-free messages from Spark's long ones.

Spark errors carry JVM stack traces (classic) or gRPC debug strings (Connect); luisy shows the
first line, with any token scrubbed, so that a failing task names the table and the cause
without pages of noise and without leaking credentials into Prefect logs.
"""
from __future__ import annotations

import re

from luisy.errors import LuisyError

_TOKEN_PATTERNS = (
    re.compile(r"(token=)[^;&\s'\"]+", re.IGNORECASE),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+", re.IGNORECASE),
)


class SparkSessionError(LuisyError):
    """No Spark session could be had; the message names the engine and endpoint, never a token."""


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with the given secrets and anything token-like replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


def short_message(exc: BaseException, *secrets: str | None, limit: int = 400,
                  cause: bool = True) -> str:
    """The first meaningful line of ``exc``: what a person needs, not the JVM stack."""
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # py4j puts "An error occurred while calling o95.save." before the real cause
    first = next((line for line in lines if not line.startswith("An error occurred while")),
                 lines[0])
    first = first.lstrip(": ")
    if first.endswith(":"):  # gRPC errors: the reason is on the "details = ..." line
        details = next((line for line in lines if line.startswith("details =")), "")
        first = f"{first} {details}".strip()
    if len(first) > limit:
        first = first[:limit] + "..."
    message = f"{type(exc).__name__}: {first}"
    origin = exc.__cause__
    if cause and origin is not None and str(origin) not in message:
        # the SDK raises "Timed out after 0:00:03"; what timed out is in the cause
        message += f" (cause: {short_message(origin, limit=limit, cause=False)})"
    return redact(message, *secrets)


def is_delta_missing(exc: BaseException) -> bool:
    """True when the engine has no Delta Lake data source (classic Spark without the jars)."""
    text = str(exc)
    return ("DATA_SOURCE_NOT_FOUND" in text and "delta" in text.lower()) or (
        "Failed to find data source: delta" in text)


_DELTA_PACKAGE = "io.delta:delta-spark_<scala>:<version>"
_DELTA_CONF_FLAGS = ("spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension and "
                     "spark.sql.catalog.spark_catalog="
                     "org.apache.spark.sql.delta.catalog.DeltaCatalog")


def delta_missing_hint(kind: str) -> str:
    """How to get Delta Lake into an engine of ``kind`` (see ``session.engine_kind``)."""
    if kind == "classic":
        return ("Delta Lake is not in this classic Spark session. Fix: pip install "
                "'luisy[delta]' (delta-spark) and build the session with "
                "delta.configure_spark_with_delta_pip(builder) and " + _DELTA_CONF_FLAGS
                + ", or let luisy start it: SparkSessionBlock(mode='local', delta=True); "
                "without Maven access put the delta-spark and delta-storage jars on "
                "spark.jars instead.")
    if kind == "connect":
        return ("the Spark Connect server has no Delta Lake; a client cannot add it. Fix: "
                f"start the server with the Delta package (--packages {_DELTA_PACKAGE}) and "
                f"--conf {_DELTA_CONF_FLAGS}, or use an engine with Delta built in "
                "(pysail, Databricks).")
    return "this Spark engine has no Delta Lake data source."
