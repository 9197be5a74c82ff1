"""Cloud sync: a remote that holds outputs with their keys, for a team to compute once.

- :mod:`~luisy.remote.settings`: where the remote is (a URL) and its credentials, redacted
  from every message;
- :mod:`~luisy.remote.conditional`: a JSON file changed by compare-and-swap, per backend;
- :mod:`~luisy.remote.folder`: one project's folder on the remote: its objects, its
  ``.luisy.hash``, an upload that keeps it consistent;
- :mod:`~luisy.remote.sync`: a build's remote: which steps it can download, the transfers;
- :mod:`~luisy.remote.block`: the Prefect block that names a remote and keeps its secrets.

Nothing here imports fsspec, adlfs, s3fs or Prefect until a remote is used.
"""
