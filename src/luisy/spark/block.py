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
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlparse

from prefect.blocks.core import Block
from pydantic import ConfigDict, Field, SecretStr, model_validator

from luisy.spark.errors import SparkSessionError, short_message
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

    def _fail(self, exc: BaseException) -> SparkSessionError:
        engine, endpoint = self._engine_endpoint()
        return SparkSessionError(
            f"cannot connect to {engine} at {endpoint} within "
            f"{self.connect_timeout_seconds:g}s: {short_message(exc, self._secret())}")

    def _local_session(self) -> SparkSession:
        session = classic_session(self.master, self.app_name, self.conf)
        return register_session(session, f"classic Spark {session.version}", self.master,
                                path_tables=self.delta_storage == "path")

    def _embedded_session(self) -> SparkSession:
        return embedded_session()  # one per process; its tables are always folders

    def _connect_session(self) -> SparkSession:
        from pyspark.sql import SparkSession

        url = self._url_with_token()
        return self._connected(lambda: SparkSession.builder.remote(url).create(), probe=True)

    def _databricks_session(self) -> SparkSession:
        try:
            from databricks.connect import DatabricksSession
        except ImportError:
            raise SparkSessionError(
                "mode 'databricks' needs databricks-connect, which cannot share a venv with "
                "pyspark: pip install 'luisy[databricks]' in a venv without pyspark") from None
        if self.url:
            url = self._url_with_token()
            return self._connected(lambda: DatabricksSession.builder.remote(url).create(),
                                   probe=True)

        def create() -> Any:
            check_reachable(str(self.host), self.connect_timeout_seconds)
            config = self._sdk_config()
            builder = DatabricksSession.builder.sdkConfig(config)
            if self.serverless:  # its own check is a gRPC call retried for 10 minutes
                return builder.validateSession(False).create()
            from databricks.sdk import WorkspaceClient

            # reachability and auth first, over HTTP with bounded retries
            WorkspaceClient(config=config).clusters.get(self.cluster_id)
            return builder.create()

        return self._connected(create, probe=self.serverless)

    def _connected(self, create: Callable[[], Any], probe: bool) -> SparkSession:
        """``create()`` (then probe) a Connect session; on failure, drop what was made and
        raise one error without the token."""
        before = connect_default_session()
        session = None
        try:
            session = create()
            if probe:
                probe_connect(session, self.connect_timeout_seconds)
        except Exception as exc:
            for leftover in {id(s): s for s in (session, connect_default_session())
                             if s is not None and s is not before}.values():
                discard_session(leftover)
            raise self._fail(exc) from None
        for key, value in self.conf.items():
            session.conf.set(key, value)
        return self._register(session)

    def _sdk_config(self) -> Any:
        """Databricks SDK config whose HTTP retries end within ``connect_timeout_seconds``
        (the SDK's default is 300 s of retrying an unreachable host)."""
        from databricks.sdk.core import Config as SdkConfig

        timeout = self.connect_timeout_seconds
        kwargs: dict[str, Any] = {
            "host": self.host,
            "retry_timeout_seconds": max(1, math.ceil(timeout)),
            "http_timeout_seconds": min(timeout, 60.0),
        }
        if self.token is not None:
            kwargs["token"] = self.token.get_secret_value()
        if self.serverless:
            kwargs["serverless_compute_id"] = "auto"
        else:
            kwargs["cluster_id"] = self.cluster_id
        return SdkConfig(**kwargs)


def check_reachable(url: str, timeout: float) -> None:
    """Open (and close) a TCP connection to ``url``'s host within ``timeout`` seconds.

    The Databricks SDK spends its retry budget twice on an unreachable host (host metadata,
    then the cluster lookup), each overshooting it; one socket tells at once. Skipped when an
    HTTPS proxy is in the way: then only the proxy can reach the host.
    """
    parsed = urlparse(url if "://" in url else f"https://{url}")
    host = parsed.hostname or ""
    if urllib.request.getproxies().get("https") and not urllib.request.proxy_bypass(host):
        return
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    with socket.create_connection((host, port), timeout=timeout):
        pass


def probe_connect(session: Any, timeout: float) -> None:
    """One cheap round trip to a Spark Connect endpoint, retried for ``timeout`` seconds at most.

    The client's default policy retries an unreachable endpoint for about ten minutes; the
    policies are restored afterwards so that a long job keeps riding out transient errors.
    """
    from pyspark.sql.connect.client.retries import DefaultPolicy

    retries, waited, backoff = 0, 0.0, 0.1
    while waited + backoff <= timeout:
        waited += backoff
        backoff = min(backoff * 2, 5.0)
        retries += 1
    bounded = DefaultPolicy(max_retries=retries, initial_backoff=100, backoff_multiplier=2.0,
                            max_backoff=5000, jitter=0, min_jitter_threshold=0,
                            recognize_server_retry_delay=False)
    client = session.client
    saved = client.get_retry_policies()
    client.set_retry_policies([bounded])
    try:
        session.version  # noqa: B018 - an AnalyzePlan round trip, no Spark job
    finally:
        client.set_retry_policies(saved)
