"""Spark sessions: the user's, the ones luisy makes (classic, embedded), and what each is.

Which one a task gets is :mod:`luisy.spark.provider`'s business. The embedded engine is a
pysail Spark Connect server in this process, started once, with Delta support and no JVM, so
that Spark pipelines run on a laptop or in CI as they are.

pyspark is imported inside the functions only: ``import luisy`` must not need it.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from luisy.config import current
from luisy.errors import UsageError
from luisy.spark.errors import SparkSessionError, delta_missing_hint, short_message

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

EMBEDDED_ENGINE = "embedded pysail"


@dataclass(frozen=True)
class SessionInfo:
    """What luisy knows about a session it made: for logs and for the Delta table layout."""

    engine: str
    endpoint: str
    #: Delta tables live as folders under the working dir, not in the engine's catalog
    path_tables: bool = False


_INFO: weakref.WeakKeyDictionary[Any, SessionInfo] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()
_EMBEDDED: dict[str, Any] = {}


def register_session(session: Any, engine: str, endpoint: str,
                     path_tables: bool = False) -> Any:
    """Remember that luisy made ``session``: it is then described by what luisy knew."""
    _INFO[session] = SessionInfo(engine, endpoint, path_tables)
    return session


def is_usable(session: Any) -> bool:
    """False for a session that was stopped (a stopped session cannot be revived)."""
    if session is None:
        return False
    stopped = getattr(session, "is_stopped", None)  # Spark Connect
    if stopped is not None:
        return not stopped
    context = getattr(session, "_sc", None)  # classic
    return context is None or getattr(context, "_jsc", None) is not None


def _user_candidates() -> list[Any]:
    candidates: list[Any] = []
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:  # pyspark without the [connect] extra
        ConnectSession = None
    if ConnectSession is not None:
        candidates.append(ConnectSession.getActiveSession())
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession as ClassicSession
    except ImportError:
        return candidates
    if getattr(SparkContext, "_active_spark_context", None) is not None:
        # not getActiveSession(): once any Connect session exists pyspark redirects it there
        candidates.append(getattr(ClassicSession, "_instantiatedSession", None))
    candidates.append(connect_default_session())
    return candidates


def connect_default_session() -> Any:
    """The process's default Spark Connect session (what Connect's getOrCreate returns)."""
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:
        return None
    return getattr(ConnectSession, "_default_session", None)


def discard_session(session: Any) -> None:
    """Close a Connect session without the release call, which an unreachable server would
    retry for minutes (and again in pyspark's exit hook)."""
    if hasattr(session, "release_session_on_close"):
        session.release_session_on_close = False
    try:
        session.stop()
    except Exception:
        logger.debug("discarding a Spark session failed", exc_info=True)


def active_session() -> SparkSession | None:
    """A usable session the user started in this process, or None.

    Sessions luisy made itself (embedded, from a block) are left out: they are reached through
    their own rule, so that a block configured later is not shadowed by an earlier session.
    """
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return None
    for session in _user_candidates():
        if is_usable(session) and session not in _INFO:
            return session
    return None


#: what makes a classic session a Delta Lake session (delta-spark's documented setup)
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def classic_builder(master: str = "local[*]", app_name: str = "luisy",
                    conf: dict[str, str] | None = None, delta: bool = False) -> Any:
    """The builder of a classic session; with ``delta`` it carries Delta Lake's extension and
    catalog, and its jars through delta-spark's ``configure_spark_with_delta_pip`` unless
    ``conf`` already puts jars on ``spark.jars``/``spark.jars.packages``."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {**DELTA_CONF, **(conf or {})} if delta else dict(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    if delta and not {"spark.jars", "spark.jars.packages"} & settings.keys():
        try:
            from delta import configure_spark_with_delta_pip
        except ImportError:
            raise SparkSessionError(
                "A classic Spark session with Delta Lake needs delta-spark: pip install "
                "'luisy[delta]', or put the Delta jars on spark.jars") from None
        builder = configure_spark_with_delta_pip(builder)
    return builder


def classic_session(master: str = "local[*]", app_name: str = "luisy",
                    conf: dict[str, str] | None = None, delta: bool = False) -> SparkSession:
    """A classic (JVM) session, also after a Spark Connect session switched pyspark to Connect
    mode (the builder would otherwise start a local Connect server instead)."""
    builder = classic_builder(master, app_name, conf, delta)
    with _LOCK:
        connect_mode = os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        try:
            session = builder.getOrCreate()
        except Exception as exc:
            if delta and "JAVA_GATEWAY_EXITED" in str(exc):
                packages = builder._options.get("spark.jars.packages", "spark.jars")
                raise SparkSessionError(
                    f"classic Spark with Delta Lake did not start: the JVM exited, as it does "
                    f"when the Delta jars ({packages}) cannot be resolved (its output above "
                    f"says why). {delta_missing_hint('classic')}") from None
            raise
        finally:
            if connect_mode is not None:
                os.environ["SPARK_CONNECT_MODE_ENABLED"] = connect_mode
    return register_session(session, f"classic Spark {session.version}", master)


# ---------------------------------------------------------------------------- embedded engine
def embedded_session() -> SparkSession:
    """A Spark Connect session on a pysail server in this process, started on first use.

    One server per process; the client session is stopped before the server at exit, or the
    client's own exit hook would hang retrying a server that is gone.
    """
    with _LOCK:
        session = _EMBEDDED.get("session")
        if is_usable(session):
            return session
        server = _EMBEDDED.get("server")
        if server is None or not server.running:
            server = _start_server()
            _EMBEDDED["server"] = server
        host, port = server.listening_address
        url = f"sc://{host}:{port}"
        from pyspark.sql import SparkSession

        # the pyspark builder (not the Connect one) also switches pyspark.sql.functions to
        # Connect mode, as any Spark Connect user expects
        session = SparkSession.builder.remote(url).create()
        _check_embedded(session)
        register_session(session, EMBEDDED_ENGINE, url, path_tables=True)
        _EMBEDDED["session"] = session
        if not _EMBEDDED.get("atexit"):
            atexit.register(stop_embedded)  # registered after the client's hooks: runs first
            _EMBEDDED["atexit"] = True
        logger.info("Started the embedded Spark engine (pysail) at %s", url)
        return session


def _start_server() -> Any:
    try:
        from pysail.spark import SparkConnectServer
    except ImportError as exc:
        raise SparkSessionError(
            "No Spark session is configured and the embedded engine needs pysail: "
            "pip install 'luisy[spark]', or set Config 'spark' / 'spark_block'") from exc
    # pysail logs every session at INFO otherwise; its logger reads RUST_LOG once, when the
    # server starts, so the host's environment is changed only for that moment
    given = os.environ.get("RUST_LOG")
    os.environ["RUST_LOG"] = given or "error"
    try:
        server = SparkConnectServer(ip="127.0.0.1", port=0)
        server.start(background=True)
    finally:
        if given is None:
            del os.environ["RUST_LOG"]
    return server


def _check_embedded(session: Any) -> None:
    """Fail now, with the fix, when pysail refuses this pyspark (it checks the version)."""
    try:
        session.sql("SELECT 1").collect()
    except Exception as exc:
        import pyspark

        session.stop()
        hint = ""
        if "unsupported PySpark version" in str(exc):
            hint = (f" pysail does not support pyspark {pyspark.__version__}; "
                    "install a supported one: pip install 'pyspark[connect]>=4.0,<4.3'")
        raise SparkSessionError(
            f"The embedded Spark engine (pysail) did not answer: {short_message(exc)}.{hint}"
        ) from None


def stop_embedded() -> None:
    """Stop the embedded client session, then its server (the order matters, see above)."""
    with _LOCK:
        session = _EMBEDDED.pop("session", None)
        server = _EMBEDDED.pop("server", None)
    if session is not None:
        try:
            session.stop()
        except Exception:
            logger.debug("stopping the embedded Spark session failed", exc_info=True)
    if server is not None and server.running:
        server.stop()


def is_embedded(session: Any) -> bool:
    info = _INFO.get(session)
    return info is not None and info.engine == EMBEDDED_ENGINE


# ------------------------------------------------------------------------------ description
def session_info(session: Any) -> SessionInfo:
    """What luisy recorded for ``session``, else what the session itself shows."""
    info = _INFO.get(session)
    if info is not None:
        return info
    if is_connect_session(session):
        builder = session.client._builder
        endpoint = getattr(builder, "endpoint", None) or getattr(builder, "host", "?")
        if type(builder).__name__.startswith("Databricks"):  # made from host (+ cluster)
            url = getattr(builder, "url", None)
            return SessionInfo("databricks", url.geturl() if url is not None else endpoint)
        from importlib.util import find_spec

        # DatabricksSession.builder.remote("sc://...") builds a plain channel. databricks-connect
        # ships its own pyspark (no other can share its venv), the one with this module: with
        # it every Connect session is a Databricks Connect client. Not url.geturl() here: a
        # plain channel's url may hold the token.
        if find_spec("pyspark.dbconnect_version") is not None:
            return SessionInfo("databricks", f"sc://{endpoint}")
        return SessionInfo("spark connect", f"sc://{endpoint}")
    try:
        master = session.sparkContext.master
    except Exception:
        master = "?"
    return SessionInfo(f"classic Spark {getattr(session, 'version', '')}".strip(), master)


def is_connect_session(session: Any) -> bool:
    """Whether ``session`` is a Spark Connect client (Databricks Connect's included).

    Asked by type: on a classic session even ``session.client`` raises
    ``[ONLY_SUPPORTED_WITH_SPARK_CONNECT]`` rather than being absent.
    """
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:  # pyspark without the [connect] extra: no Connect session exists
        return False
    return isinstance(session, ConnectSession)


def engine_kind(session: Any) -> str:
    """``embedded``, ``databricks``, ``connect`` or ``classic``: what fixes and errors fit."""
    engine = session_info(session).engine
    if engine == EMBEDDED_ENGINE:
        return "embedded"
    if engine.startswith("databricks"):
        return "databricks"
    return "connect" if is_connect_session(session) else "classic"


def describe_session(session: Any) -> str:
    """``"<engine> at <endpoint>"`` for logs; never contains a token."""
    info = session_info(session)
    return f"{info.engine} at {info.endpoint}"


_SHARES: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


def shares_files(session: Any, folder: str) -> bool:
    """Whether the engine behind ``session`` sees this machine's ``folder`` as it is.

    A folder Spark writes (parquet parts) lands on the engine's file system: right here for a
    classic local session or the embedded engine, somewhere else for a remote Connect server
    or Databricks, whatever its endpoint's name suggests. So luisy asks the engine once per
    session and folder: it must read back a file with a random token written here.
    """
    info = _INFO.get(session)
    if info is not None and info.engine == EMBEDDED_ENGINE:
        return True
    if not is_connect_session(session) and session_info(session).endpoint.startswith("local"):
        return True  # classic Spark in local mode: driver and executors are this process
    folder = os.path.abspath(folder)
    known = _SHARES.setdefault(session, {})
    if folder not in known:
        known[folder] = _reads_back(session, folder)
    return known[folder]


def _reads_back(session: Any, folder: str) -> bool:
    import uuid

    os.makedirs(folder, exist_ok=True)
    token = uuid.uuid4().hex
    probe = os.path.join(folder, f".luisy-probe-{token}.txt")
    with open(probe, "w") as fh:
        fh.write(token)
    try:
        rows = session.read.text(probe).collect()
    except Exception:  # the engine has no such file: it does not see this folder
        logger.debug("the Spark engine cannot read %s", probe, exc_info=True)
        return False
    finally:
        os.remove(probe)
    return [row[0] for row in rows] == [token]


def uses_path_tables(session: Any) -> bool:
    """Whether Delta tables are folders under the working dir for ``session``.

    Config ``delta_storage`` ('path' or 'catalog') decides when set; on 'auto' the embedded
    engine (its catalog lives in memory only) and blocks with ``delta_storage='path'`` use
    folders, every other engine its catalog.
    """
    mode = current().get_param("delta_storage") or "auto"
    if mode not in ("auto", "path", "catalog"):
        raise UsageError(f"Setting 'delta_storage' must be 'auto', 'path' or 'catalog', "
                         f"not {mode!r}")
    if mode != "auto":
        return mode == "path"
    info = _INFO.get(session)
    return bool(info and info.path_tables)
