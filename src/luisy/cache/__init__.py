"""The cache: what an output depends on, what is recorded about it, and why it is stale.

- :mod:`~luisy.cache.fingerprint`: a task class's code closure and library versions;
- :mod:`~luisy.cache.data_version`: what data from outside holds now (files, folders, tables);
- :mod:`~luisy.cache.keys`: Merkle keys over fingerprints, parameters, upstream keys and data
  versions (pure);
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
from luisy.cache.data_version import (
    Observed,
    data_of,
    differs,
    output_version,
    recorded_fields,
    written_version,
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
from luisy.cache.keys import (
    KeyChain,
    TaskKey,
    compute_key,
    output_place,
    predates_data_versions,
)
from luisy.cache.ledger import (
    Ledger,
    Records,
    adopted,
    as_written,
    current_key,
    key_chain,
    record_of,
)
from luisy.cache.store import HashStore, HashStores, KeyStore, MemoryStore, Record

__all__ = [
    "OVERRIDES", "Category", "Fingerprint", "HashStore", "HashStores", "KeyChain", "KeyStore",
    "Ledger", "MemoryStore", "ModuleSource", "Observed", "Reason", "Record", "Records",
    "TaskKey", "adopted", "as_written", "clear_cache", "compute_key", "content_change",
    "content_checksum", "current_key", "data_of", "describe", "differs", "explain",
    "fingerprint", "is_project_module", "key_chain", "module_source",
    "node_digest", "output_place", "output_version", "predates_data_versions", "record_of",
    "recorded_content", "recorded_fields", "strip_docstrings", "text_digest", "value_digest",
    "with_content", "written_version",
]
