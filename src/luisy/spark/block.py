"""``SparkSessionBlock``: where a luisy deployment's Spark runs, saved once on the Prefect server.

Keeping the connection in a Prefect block (not in code or env files) lets every worker process
get the same session by name (Config ``spark_block``), with the token stored as a secret.
The package declares this module as a ``prefect.collections`` entry point, so
``Block.load("spark-session/<name>")`` finds the class in any process.

Connecting fails fast: connection attempts are bounded by ``connect_timeout_seconds`` and end in
one :class:`~luisy.spark.errors.SparkSessionError` naming the engine and endpoint, never the
token. After a session is up, Spark's own (patient) retry policies apply again.
"""
from __future__ import annotations

import math
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlparse

from prefect.blocks.core import Block
from pydantic import ConfigDict, Field, SecretStr, model_validator

from luisy.spark.errors import SparkSessionError, redact, short_message
from luisy.spark.session import (
    EMBEDDED_ENGINE,
    classic_session,
    connect_default_session,
    discard_session,
    embedded_session,
    register_session,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Mode = Literal["local", "connect", "databricks", "embedded"]


class SparkSessionBlock(Block):
    """How luisy reaches Spark: classic local, Spark Connect, Databricks or the embedded engine.

    Attributes:
        mode: ``local`` (classic pyspark with ``master``/``conf``/``app_name``), ``connect``
            (any ``sc://`` URL), ``databricks`` (``host`` + ``cluster_id`` or ``serverless``,
            or an ``sc://`` ``url``; needs databricks-connect) or ``embedded`` (pysail in
            process).
        token: secret; sent to the endpoint only, never shown.
        delta_storage: ``path`` keeps Delta tables as folders under the working dir, for
            engines without a persistent catalog (the embedded engine always does); Config
            ``delta_storage`` overrides it.
    """

    _block_type_name = "Spark Session"
    _block_type_slug = "spark-session"
    _description = ("Where luisy's SparkTasks run: classic local Spark, a Spark Connect "
                    "endpoint, Databricks (Connect) or luisy's embedded pysail engine.")
    # a pydantic error must not echo the input: it holds the token in clear text
    model_config = ConfigDict(hide_input_in_errors=True)

    mode: Mode = Field(default="embedded", description="Which engine to connect to.")
    master: str = Field(default="local[*]", description="Classic Spark master (mode local).")
    app_name: str = Field(default="luisy", description="Spark application name.")
    conf: dict[str, str] = Field(default_factory=dict, description="Spark configuration.")
    delta: bool = Field(default=False, description="Mode local: configure the session for "
                        "Delta Lake with delta-spark (pip install 'luisy[delta]').")
    url: str | None = Field(default=None, description="sc://host:port (connect, databricks); "
                            "put the token in 'token', not in the URL.")
    host: str | None = Field(default=None, description="Databricks workspace URL.")
    token: SecretStr | None = Field(default=None, description="Access token (secret).")
    cluster_id: str | None = Field(default=None, description="Databricks cluster id.")
    serverless: bool = Field(default=False, description="Databricks serverless compute.")
    connect_timeout_seconds: float = Field(default=30.0, gt=0,
                                           description="Give up connecting after this long.")
    delta_storage: Literal["auto", "path", "catalog"] = Field(
        default="auto", description="Delta tables as folders under the working dir ('path') "
                                    "or in the engine's catalog ('catalog').")

    _builders: ClassVar[dict[str, str]] = {
        "local": "_local_session", "connect": "_connect_session",
        "databricks": "_databricks_session", "embedded": "_embedded_session",
    }

    @model_validator(mode="after")
    def _check_mode_fields(self) -> SparkSessionBlock:
        if self.url is not None:
            if not self.url.startswith("sc://"):
                raise ValueError("url must be a Spark Connect URL starting with sc://")
            if "token=" in self.url.lower():
                raise ValueError("put the token in the 'token' field, not in the url")
        if self.mode == "connect" and not self.url:
            raise ValueError("mode 'connect' needs url='sc://host:port'")
        if self.mode == "databricks" and not self.url:
            if not self.host:
                raise ValueError("mode 'databricks' needs host (or an sc:// url)")
            if bool(self.cluster_id) == self.serverless:
                raise ValueError("mode 'databricks' needs exactly one of cluster_id and "
                                 "serverless=True")
        return self

    # ---------------------------------------------------------------------------- public API
    def get_session(self) -> SparkSession:
        """A new (or, for classic Spark, the process's) session as this block describes."""
        build: Callable[[], Any] = getattr(self, self._builders[self.mode])
        return build()

    def describe(self) -> str:
        """``"<engine> at <endpoint>"``; a token shows as ``***``."""
        engine, endpoint = self._engine_endpoint()
        secret = " (token ***)" if self.token is not None else ""
        return f"{engine} at {endpoint}{secret}"

    # -------------------------------------------------------------------------------- helpers
    def _engine_endpoint(self) -> tuple[str, str]:
        if self.mode == "local":
            return "classic Spark", self.master
        if self.mode == "embedded":
            return EMBEDDED_ENGINE, "in-process Spark Connect"
        if self.mode == "connect":
            return "spark connect", str(self.url)
        target = self.url or self.host or "?"
        compute = "serverless" if self.serverless else f"cluster {self.cluster_id}"
        return "databricks", target if self.url else f"{target} ({compute})"

    def _secret(self) -> str | None:
        return self.token.get_secret_value() if self.token is not None else None

    def _url_with_token(self) -> str:
        url = str(self.url)
        secret = self._secret()
        if secret is None:
            return url
        return f"{url}{'' if ';' in url or url.endswith('/') else '/'};token={secret}"

    def _register(self, session: Any) -> SparkSession:
        engine, endpoint = self._engine_endpoint()
        path_tables = self.delta_storage == "path"
        return register_session(session, engine, endpoint, path_tables=path_tables)

    def _fail(self, exc: BaseException, deadline: _Deadline) -> SparkSessionError:
        """One error naming the endpoint, the time really spent and the cause, never the token."""
        engine, endpoint = self._engine_endpoint()
        secret = self._secret()
        # an _OutOfTime already says which request failed how; its class name adds nothing
        cause = redact(str(exc), secret) if isinstance(exc, _OutOfTime) else short_message(
            exc, secret)
        spent = f"after {deadline.elapsed():.1f}s (limit {deadline.limit:g}s)"
        return SparkSessionError(f"cannot connect to {engine} at {endpoint} {spent}: {cause}")

    def _local_session(self) -> SparkSession:
        session = classic_session(self.master, self.app_name, self.conf, delta=self.delta)
        return register_session(session, f"classic Spark {session.version}", self.master,
                                path_tables=self.delta_storage == "path")

    def _embedded_session(self) -> SparkSession:
        return embedded_session()  # one per process; its tables are always folders

    def _connect_session(self) -> SparkSession:
        from pyspark.sql import SparkSession

        url = self._url_with_token()
        return self._connected(lambda: SparkSession.builder.remote(url).create(), probe=True)

    def _databricks_session(self) -> SparkSession:
        deadline = _Deadline(self.connect_timeout_seconds)  # the import counts: it is slow
        try:
            from databricks.connect import DatabricksSession
        except ImportError:
            raise SparkSessionError(
                "mode 'databricks' needs databricks-connect, which cannot share a venv with "
                "pyspark: pip install 'luisy[databricks]' in a venv without pyspark") from None
        if self.url:
            from pyspark.sql import SparkSession

            url = self._url_with_token()
            # what DatabricksSession.builder.remote(url).create() runs, without its debug log
            # of the url, token included (and without its cache of sessions by url)
            return self._connected(lambda: SparkSession.builder.remote(url).create(),
                                   probe=True, deadline=deadline)

        def create() -> Any:
            check_reachable(str(self.host), deadline.left_for("a TCP connection to the host"))
            builder = DatabricksSession.builder.sdkConfig(self._sdk_config(deadline))
            deadline.left_for("the session")
            if self.serverless:  # its own check is a gRPC call retried for 10 minutes
                return builder.validateSession(False).create()
            # its check looks the cluster up (and checks its runtime version) over HTTP, through
            # the SDK config's time-budget adapter
            return builder.create()

        return self._connected(create, probe=self.serverless, deadline=deadline)

    def _connected(self, create: Callable[[], Any], probe: bool,
                   deadline: _Deadline | None = None) -> SparkSession:
        """``create()`` (then probe) a Connect session within ``deadline`` (one budget for all
        steps, so their own timeouts cannot add up); on failure, drop what was made and raise
        one error without the token."""
        deadline = deadline or _Deadline(self.connect_timeout_seconds)
        before = connect_default_session()
        session = None
        try:
            session = create()
            if probe:
                probe_connect(session, deadline.left_for("the first round trip"))
        except Exception as exc:
            for leftover in {id(s): s for s in (session, connect_default_session())
                             if s is not None and s is not before}.values():
                discard_session(leftover)
            raise self._fail(exc, deadline) from None
        finally:
            deadline.active = False  # the session's later SDK calls are not bounded
        for key, value in self.conf.items():
            session.conf.set(key, value)
        return self._register(session)

    def _sdk_config(self, deadline: _Deadline) -> Any:
        """Databricks SDK config whose requests and retry waits all fit in what is left of
        ``deadline``.

        Left alone, the SDK spends up to 300 s retrying each call (host metadata while the
        config is built, then the cluster lookup), gives each request 60 s and sleeps a
        ``Retry-After`` in full, past any budget; its ``retry_timeout_seconds`` is checked
        only before each attempt, and the host metadata lookup ignores the config's clock.
        Its transport adapter sees every request, so the bound is put there.
        """
        import inspect

        from databricks.sdk.core import Config as SdkConfig

        left = deadline.left_for("the Databricks SDK config")
        kwargs: dict[str, Any] = {"host": self.host}
        if "http_adapter" in inspect.signature(SdkConfig.__init__).parameters:
            kwargs["http_adapter"] = _budget_adapter(deadline)
        else:  # an older SDK: bound its own retries at least (a Retry-After may overrun them)
            kwargs["retry_timeout_seconds"] = max(1, math.ceil(left))
            kwargs["http_timeout_seconds"] = left
        if self.token is not None:
            kwargs["token"] = self.token.get_secret_value()
        if self.serverless:
            kwargs["serverless_compute_id"] = "auto"
        else:
            kwargs["cluster_id"] = self.cluster_id
        return SdkConfig(**kwargs)


def check_reachable(url: str, timeout: float) -> None:
    """Open (and close) a TCP connection to ``url``'s host within ``timeout`` seconds.

    The Databricks SDK retries a refused connection until its time is up (host metadata, then
    the cluster lookup); one socket tells at once. Skipped when an HTTPS proxy is in the way:
    then only the proxy can reach the host.
    """
    parsed = urlparse(url if "://" in url else f"https://{url}")
    host = parsed.hostname or ""
    if urllib.request.getproxies().get("https") and not urllib.request.proxy_bypass(host):
        return
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    with socket.create_connection((host, port), timeout=timeout):
        pass


def probe_connect(session: Any, timeout: float) -> None:
    """One cheap round trip to a Spark Connect endpoint, retries and waits included, within
    ``timeout`` seconds.

    The client's policies retry for about ten minutes and its calls have no deadline: a host
    that accepts TCP and never answers holds each one for gRPC's 20 s connect timeout. For the
    probe every call gets what is left as its gRPC deadline and no retry waits past it; the
    client's policies and stub are restored afterwards, so that a long job keeps riding out
    transient errors.
    """
    import grpc

    deadline = _Deadline(timeout)
    client = session.client
    saved_policies, saved_stub = client.get_retry_policies(), client._stub
    client.set_retry_policies([_bounded_retry_policy(deadline)])
    # a wrapper of the client's channel (closing it would close that channel: it is not closed)
    bounded = grpc.intercept_channel(client._channel, _grpc_deadline_interceptor(deadline))
    client._stub = type(saved_stub)(bounded)
    try:
        session.version  # noqa: B018 - an AnalyzePlan round trip, no Spark job
    finally:
        client._stub = saved_stub
        client.set_retry_policies(saved_policies)


# ------------------------------------------------------------------------ connect time budget
#: less than this left is no time at all: not worth a request that must time out
_MIN_STEP_SECONDS = 0.05


class _OutOfTime(SparkSessionError):
    """A connect's time budget is spent, or the next retry's wait would overrun it.

    Not a ``requests`` error, so the Databricks SDK does not retry it.
    """


class _Deadline:
    """One time budget for a whole connect: each step gets only what is left of it, so that
    the steps' own timeouts and retries (each sized for a patient client) cannot add up."""

    def __init__(self, seconds: float) -> None:
        self.limit = seconds
        self.started = time.monotonic()
        #: False once the connect is over: the session's later requests are not bounded
        self.active = True
        #: the latest failed request, the cause to name when the time is up
        self.last_failure: str | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return max(0.0, self.limit - self.elapsed())

    def left_for(self, step: str) -> float:
        """The seconds left for ``step``; :class:`_OutOfTime` when there are none."""
        left = self.remaining()
        if left <= _MIN_STEP_SECONDS:
            raise _OutOfTime(self.last_failure or f"no time left for {step}")
        return left


def _clamped(timeout: Any, left: float) -> Any:
    """A ``requests`` timeout (seconds, ``(connect, read)`` or None) cut to ``left``."""
    left = round(left, 3)  # shown in the error ("read timeout=2.99"): no float noise
    if isinstance(timeout, tuple):
        return tuple(left if part is None else min(float(part), left) for part in timeout)
    if isinstance(timeout, (int, float)):
        return min(float(timeout), left)
    return left  # None (wait forever) or a urllib3 Timeout


def _retry_after(response: Any) -> int:
    """The wait the Databricks SDK takes from a 429/503 (its rule: an integer, else 1 s)."""
    try:
        return int(response.headers.get("Retry-After", 1))
    except ValueError:
        return 1


def _budget_adapter(deadline: _Deadline) -> Any:
    """A ``requests`` transport for the Databricks SDK that keeps it within ``deadline``.

    Each request's timeout is cut to the time left. After a failure (an error, a 429 or a
    5xx) the SDK sleeps before retrying: ``Retry-After`` (1 s without one) or up to 10 s,
    plus up to 1 s of jitter, counted here per request. When that sleep cannot end before the
    deadline the failure becomes an :class:`_OutOfTime`, which the SDK does not retry.
    While ``deadline.active`` is False (the connect is over) it is a plain adapter.
    """
    import requests
    from requests.adapters import HTTPAdapter

    class BudgetAdapter(HTTPAdapter):
        def __init__(self) -> None:
            # the pool the SDK gives its own adapter: the session keeps using this one
            super().__init__(pool_connections=20, pool_maxsize=20, pool_block=True)
            self._failures: dict[tuple[str, str], int] = {}

        def send(self, request: Any, stream: bool = False, timeout: Any = None,
                 verify: Any = True, cert: Any = None, proxies: Any = None) -> Any:
            if not deadline.active:
                return super().send(request, stream=stream, timeout=timeout, verify=verify,
                                    cert=cert, proxies=proxies)
            what = f"{request.method} {request.url}"
            left = deadline.left_for(what)
            try:
                response = super().send(request, stream=stream, timeout=_clamped(timeout, left),
                                        verify=verify, cert=cert, proxies=proxies)
            except requests.RequestException as exc:
                self._give_up_unless_wait_fits(request, what, short_message(exc), None)
                raise
            status = response.status_code
            if status == 429 or status >= 500:
                after = _retry_after(response) if status in (429, 503) else None
                shown = f" (Retry-After {response.headers['Retry-After']})" if (
                    "Retry-After" in response.headers) else ""
                try:
                    self._give_up_unless_wait_fits(
                        request, what, f"HTTP {status} {response.reason}{shown}", after)
                except _OutOfTime:
                    response.close()
                    raise
            else:
                self._failures.pop((request.method, request.url), None)
            return response

        def _give_up_unless_wait_fits(self, request: Any, what: str, cause: str,
                                      retry_after: int | None) -> None:
            key = (request.method, request.url)
            self._failures[key] = attempt = self._failures.get(key, 0) + 1
            wait = (retry_after if retry_after is not None else min(10, attempt)) + 1
            deadline.last_failure = failure = f"{what}: {cause}"
            left = deadline.remaining()
            if left <= _MIN_STEP_SECONDS:
                raise _OutOfTime(failure)
            if wait >= left:
                raise _OutOfTime(f"{failure}; a retry would wait up to {wait:g}s, "
                                 f"{left:.1f}s are left")

    return BudgetAdapter()


def _grpc_deadline_interceptor(deadline: _Deadline) -> Any:
    """A gRPC client interceptor that gives every call what is left of ``deadline``."""
    import grpc

    class DeadlineInterceptor(grpc.UnaryUnaryClientInterceptor,
                              grpc.UnaryStreamClientInterceptor):
        @staticmethod
        def _bounded(details: Any) -> Any:
            left = deadline.remaining()
            given = details.timeout
            return details._replace(timeout=left if given is None else min(given, left))

        def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            return continuation(self._bounded(details), request)

        def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
            return continuation(self._bounded(details), request)

    return DeadlineInterceptor()


def _bounded_retry_policy(deadline: _Deadline) -> Any:
    """Spark Connect's default retry rules, minus any wait that would end past ``deadline``."""
    from pyspark.sql.connect.client.retries import DefaultPolicy, RetryPolicyState

    class BoundedState(RetryPolicyState):
        def next_attempt(self, exception: BaseException | None = None) -> int | None:
            wait = super().next_attempt(exception)  # milliseconds, None: no more retries
            if wait is None or wait / 1000 >= deadline.remaining():
                return None
            return wait

    class BoundedPolicy(DefaultPolicy):
        def to_state(self) -> RetryPolicyState:
            return BoundedState(self)

    return BoundedPolicy(max_retries=None, initial_backoff=100, backoff_multiplier=2.0,
                         max_backoff=5000, jitter=0, min_jitter_threshold=0)
