"""``RemoteStorage``: a Prefect block naming a remote and the secrets to reach it.

Save one (``RemoteStorage(url="abfs://team-cache", options={"account_name": ...,
"account_key": ...}).save("team-cache")``) and builds name it (``--remote-block team-cache``,
``build(..., remote_block="team-cache")``): the secrets live in Prefect, not in the command,
the flow run's parameters or a deployment's YAML.
"""
from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block
from prefect.types import SecretDict
from pydantic import Field


class RemoteStorage(Block):
    """A luisy remote: any fsspec URL, with the options its file system is made with."""

    _block_type_name = "luisy Remote Storage"
    _block_type_slug = "luisy-remote-storage"
    _description = "Where luisy's cloud sync downloads and uploads outputs (any fsspec URL)."

    url: str = Field(description="abfs://container/prefix, s3://bucket/prefix, file:///...")
    options: SecretDict = Field(default_factory=lambda: SecretDict({}),
                                description="fsspec options (account_name, account_key, "
                                            "endpoint_url, ...), kept secret.")

    def storage_options(self) -> dict[str, Any]:
        return dict(self.options.get_secret_value())
