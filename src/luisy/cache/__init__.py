"""The cache: what an output depends on, what is recorded about it, and why it is stale.

- :mod:`~luisy.cache.fingerprint`: a task class's code closure and library versions;
- :mod:`~luisy.cache.keys`: Merkle keys over fingerprints, parameters and upstream keys (pure);
- :mod:`~luisy.cache.store`: the recorded keys on disk (and in memory, for tests);
- :mod:`~luisy.cache.ledger`: recording a key, the one way every path does it;
- :mod:`~luisy.cache.content`: the checksum of an output's bytes, recorded with its key;
- :mod:`~luisy.cache.causes`: why a task is stale, as data.

This is the seam the layers above use (the plan, ``stale_after``); it imports only the task
model and the graph.
"""
from luisy.cache.causes import OVERRIDES, Category, Reason, describe, explain
from luisy.cache.content import (
    content_change,
    content_checksum,
    recorded_content,
    with_content,
)
from luisy.cache.fingerprint import (
    Fingerprint,
    ModuleSource,
    clear_cache,
    fingerprint,
    is_project_module,
    module_source,
    node_digest,
    strip_docstrings,
    text_digest,
    value_digest,
)
from luisy.cache.keys import TaskKey, compute_key, current_key, graph_keys, output_place
from luisy.cache.ledger import Ledger, Records, record_of
from luisy.cache.store import HashStore, HashStores, KeyStore, MemoryStore, Record

__all__ = [
    "OVERRIDES", "Category", "Fingerprint", "HashStore", "HashStores", "KeyStore", "Ledger",
    "MemoryStore", "ModuleSource", "Reason", "Record", "Records", "TaskKey", "clear_cache",
    "compute_key", "content_change", "content_checksum", "current_key", "describe", "explain",
    "fingerprint", "graph_keys", "is_project_module", "module_source", "node_digest",
    "output_place", "record_of", "recorded_content", "strip_docstrings", "text_digest",
    "value_digest", "with_content",
]
