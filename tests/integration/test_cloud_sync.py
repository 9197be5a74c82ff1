"""Cloud sync (issue 17): a team computes an output once; every other machine downloads it.

Real remotes: a ``file://`` folder, moto's S3 server (s3fs) and Azurite (adlfs), started here
on 127.0.0.1; real builds on the session's Prefect server. Two working dirs play two machines.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import fsspec
import pytest
from prefect_api import asset_events, flow_run, flow_run_logs, task_runs
from remote_tasks import Clean, Cleans, Report, write_sales

import luisy
from luisy.cache import HashStore, current_key, record_of
from luisy.cache.content import path_checksum
from luisy.config import for_build, use
from luisy.errors import RemoteError
from luisy.planner import Decision
from luisy.remote.folder import DETAILS_FILE, HASH_FILE, RemoteFolder, is_manifest
from luisy.remote.settings import RemoteSettings, remote_of
from luisy.remote.sync import Remote, collect_garbage, remote_for_build
from luisy.runner import plan_build
from luisy.testing.storage import Azurite, MotoS3

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(scope="module")
def azurite():
    with Azurite() as server:
        yield server


@pytest.fixture(scope="module")
def moto():
    with MotoS3() as server:
        yield server


def _remote_on(kind: str, request, tmp_path) -> RemoteSettings:
    """A new, empty remote of ``kind``: its own folder, bucket or container."""
    name = f"luisy-{uuid.uuid4().hex[:10]}"
    if kind == "file":
        return RemoteSettings(f"file://{tmp_path}/remote-{name}")
    server = request.getfixturevalue("moto" if kind == "s3" else "azurite")
    url = f"{'s3' if kind == 's3' else 'abfs'}://{name}/team"
    fs, root = fsspec.core.url_to_fs(url, **server.remote_options)
    fs.mkdir(root.split("/")[0])
    return RemoteSettings(url, server.remote_options)


@pytest.fixture(params=["file", "s3", "azure"])
def remote(request, tmp_path) -> RemoteSettings:
    return _remote_on(request.param, request, tmp_path)


@pytest.fixture
def machines(tmp_path):
    """Two working dirs with the same raw data: machine A and machine B."""
    dirs = []
    for name in ("a", "b"):
        wd = tmp_path / name
        wd.mkdir()
        write_sales(wd)
        dirs.append(wd)
    luisy.Config().reset()
    yield dirs
    luisy.Config().reset()


def sync(remote: RemoteSettings, **settings) -> dict:
    """Build settings naming ``remote`` (URL and options, as a block or Config would)."""
    return {"remote": remote.url, **settings}


@pytest.fixture
def team(remote, request, monkeypatch) -> RemoteSettings:
    """``remote``, its credentials and endpoint where builds find them: fsspec's usual
    environment variables (botocore's ``AWS_*``, adlfs's ``AZURE_STORAGE_CONNECTION_STRING``),
    so a build names the remote by URL only."""
    if remote.url.startswith("s3://"):
        server = request.getfixturevalue("moto")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    elif remote.url.startswith("abfs://"):
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                           request.getfixturevalue("azurite").connection_string)
    return remote


def remote_fs(remote: RemoteSettings):
    return fsspec.core.url_to_fs(remote.url, **remote.options)


def remote_index(remote: RemoteSettings) -> tuple[dict, dict]:
    fs, root = remote_fs(remote)
    read = lambda name: json.loads(fs.cat_file(f"{root}/synctest/{name}"))  # noqa: E731
    return read(HASH_FILE), read(DETAILS_FILE)


def keys_of(wd: Path) -> dict:
    return json.loads((wd / "synctest" / ".luisy.hash").read_text())


# ------------------------------------------------------------------------ upload, download
def test_upload_then_download_fetches_only_what_the_plan_needs(team, machines):
    a, b = machines
    summary = luisy.build(Report(), working_dir=str(a), **sync(team, upload=True))
    assert summary.ok, summary
    assert {str(t) for t in summary.uploaded} == {"Report()", "Clean(month=2024-01)",
                                                  "Clean(month=2024-02)"}
    hashes, details = remote_index(team)
    local = keys_of(a)
    assert hashes == {k: v for k, v in local.items() if "/raw/" not in k}  # external: not sent
    for rel, key in hashes.items():
        assert details[rel]["key"] == key
        assert details[rel]["content"] == path_checksum(str(a) + rel)

    summary = luisy.build(Report(), working_dir=str(b), **sync(team, download=True))
    assert summary.ok, summary
    assert {str(t) for t in summary.downloaded} == {"Report()"}
    assert not summary.completed  # nothing computed
    steps = {str(s.task): s for s in summary.plan.steps.values()}
    assert steps["Report()"].decision is Decision.DOWNLOAD
    assert "on the remote with its current key" in steps["Report()"].reason
    # only what the plan needs is fetched: Report is downloaded, so the Cleans are not needed
    assert steps["Clean(month=2024-01)"].decision is Decision.NOT_NEEDED
    assert steps["Clean(month=2024-01)"].reason == "no output, but Report() is downloaded"
    assert not (b / "synctest" / "interim").exists()
    assert (b / "synctest" / "final" / "Report.json").read_bytes() == (
        a / "synctest" / "final" / "Report.json").read_bytes()
    assert keys_of(b)["/synctest/final/Report.json"] == local["/synctest/final/Report.json"]
    # the download is one task run of the flow run, in a state named Downloaded
    runs = task_runs(summary.flow_run_id, expected=1)
    assert [(r.name, r.state.name) for r in runs] == [("Report()", "Downloaded")]
    assert runs[0].state.message.startswith("downloaded: no output")
    assert flow_run(summary.flow_run_id).state.is_completed()
    # and it counts as made here: the next build has nothing to do
    with use(for_build({"working_dir": str(b)})):
        assert Report().complete()
        assert Report().read() == {"2024-01": 3.0, "2024-02": 3.0}
    again = luisy.build(Report(), working_dir=str(b), **sync(team, download=True))
    assert Report() in again.already_done and not (again.downloaded or again.completed)


def test_a_task_whose_key_differs_is_computed_not_downloaded(team, machines):
    a, b = machines
    assert luisy.build(Report(), working_dir=str(a), **sync(team, upload=True)).ok
    write_sales(b, amounts=(5.0,))  # other data here: other keys for Clean and Report
    summary = luisy.build(Report(), working_dir=str(b), **sync(team, download=True))
    assert summary.ok, summary
    assert not summary.downloaded
    assert {str(t) for t in summary.completed} == {"Report()", "Clean(month=2024-01)",
                                                   "Clean(month=2024-02)"}
    with use(for_build({"working_dir": str(b)})):
        assert Report().read() == {"2024-01": 5.0, "2024-02": 5.0}


def test_a_rebuild_uploads_what_the_remote_holds_under_another_key(team, machines):
    a, _ = machines
    assert luisy.build(Report(), working_dir=str(a)).ok  # built, not uploaded
    summary = luisy.build(Report(), working_dir=str(a), **sync(team, upload=True))
    assert summary.ok and not summary.completed  # nothing runs; everything is sent
    assert len(summary.uploaded) == 3
    assert remote_index(team)[0] == {k: v for k, v in keys_of(a).items() if "/raw/" not in k}
    again = luisy.build(Report(), working_dir=str(a), **sync(team, upload=True))
    assert not again.uploaded  # the remote holds every key already


def test_downloads_share_a_task_run_and_send_no_asset_event(machines, request, tmp_path):
    """Downloads of one class that are ready together share a task run (up to
    ``download_group_size``, 100 by default: they run none of the task's code), which ends
    ``Downloaded``. Like Prefect's ``Cached`` runs they send no asset event: the build that
    computed the outputs sent those; what is computed from them here names them as inputs."""
    a, b = machines
    team = _remote_on("file", request, tmp_path)
    assert luisy.build(Cleans(), working_dir=str(a), **sync(team, upload=True)).ok
    summary = luisy.build(Cleans(), working_dir=str(b), **sync(team, download=True))
    cleans = {f"Clean(month={m})" for m in ("2024-01", "2024-02")}
    assert {str(t) for t in summary.downloaded} == cleans, summary
    runs = [r for r in task_runs(summary.flow_run_id, expected=2) if r.name != "Cleans()"]
    assert [(r.name, r.state.name, r.state.message) for r in runs] == [
        ("Clean x2 (Clean(month=2024-01) … Clean(month=2024-02))", "Downloaded",
         "downloaded 2 tasks")]
    assert keys_of(b) == keys_of(a)

    # Report is computed here from the downloads: its event is the only one under b
    assert {str(t) for t in luisy.build(Report(), working_dir=str(b)).completed} == {
        "Report()"}
    report = "file://" + str(b / "synctest" / "final" / "Report.json")
    events = [e for e in asset_events("file://" + str(b), expected=1)
              if e["event"].startswith("prefect.asset.materialization")]
    assert [e["resource"]["prefect.resource.id"] for e in events] == [report]
    assert {r["prefect.resource.id"] for r in events[0]["related"]
            if r["prefect.resource.role"] == "asset"} == {
        "file://" + str(b / "synctest" / "interim" / f"Clean_month={m}-01.pkl")
        for m in ("2024-01", "2024-02")}
    # on machine A, which computed them, the Cleans are materialised
    made = {e["resource"]["prefect.resource.id"]
            for e in asset_events("file://" + str(a), expected=2 + 2)  # + Sales referenced
            if e["event"] == "prefect.asset.materialization.succeeded"}
    assert made == {"file://" + str(a / "synctest" / "interim" / f"Clean_month={m}-01.pkl")
                    for m in ("2024-01", "2024-02")}


def test_download_group_size_one_gives_a_task_run_per_download(machines, request, tmp_path):
    a, b = machines
    team = _remote_on("file", request, tmp_path)
    assert luisy.build(Cleans(), working_dir=str(a), **sync(team, upload=True)).ok
    summary = luisy.build(Cleans(), working_dir=str(b), download_group_size=1,
                          **sync(team, download=True))
    assert len(summary.downloaded) == 2, summary
    runs = [r for r in task_runs(summary.flow_run_id, expected=3) if r.name != "Cleans()"]
    assert sorted((r.name, r.state.name) for r in runs) == [
        ("Clean(month=2024-01)", "Downloaded"), ("Clean(month=2024-02)", "Downloaded")]
    assert all(r.state.message.startswith("downloaded: no output") for r in runs)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "ten", True])
def test_a_bad_download_group_size_is_one_line_naming_it(machines, request, tmp_path, bad):
    _, b = machines
    team = _remote_on("file", request, tmp_path)
    with pytest.raises(RemoteError, match=r"^download_group_size .*: not a whole number of "
                                          r"at least 1 \(1: one task run per download\)$"):
        luisy.build(Cleans(), working_dir=str(b), download_group_size=bad,
                    **sync(team, download=True))


# ----------------------------------------------------------------- consistency, conflicts
def _uploads(remote: RemoteSettings, wd: Path, prefix: str, count: int) -> None:
    fs, root = remote_fs(remote)
    folder = RemoteFolder(fs, root, "synctest", remote.url)
    for i in range(count):
        local = wd / f"{prefix}-{i}.bin"
        local.write_bytes(os.urandom(64))
        folder.upload(f"/synctest/interim/{prefix}-{i}.bin", str(local), f"key-{prefix}-{i}",
                      path_checksum(str(local)))


def test_two_uploaders_never_lose_each_others_entries(remote, tmp_path):
    threads = [threading.Thread(target=_uploads, args=(remote, tmp_path, name, 25))
               for name in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hashes, details = remote_index(remote)
    assert len(hashes) == 50
    assert all(details[rel]["key"] == key for rel, key in hashes.items())


def _replace_forever(remote: RemoteSettings, wd: str) -> None:
    """Upload one output again and again, new bytes and a new key each time (killed), with a
    pause between uploads as a build has (its next task's work): a kill lands in an upload
    or between two."""
    fs, root = remote_fs(remote)
    folder = RemoteFolder(fs, root, "synctest", remote.url)
    local = os.path.join(wd, "out.bin")
    for i in range(100_000):
        with open(local, "wb") as fh:
            fh.write(os.urandom(200_000 + i))
        folder.upload("/synctest/interim/out.bin", local, f"key-{i}", path_checksum(local))
        folder = RemoteFolder(fs, root, "synctest", remote.url)  # a fresh read, as a build
        Path(wd, "uploaded").touch()
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_a_killed_upload_never_leaves_a_key_on_other_bytes(kind, request, tmp_path):
    remote = _remote_on(kind, request, tmp_path)
    rng = random.Random(17)
    checked = 0
    for _ in range(12):
        (tmp_path / "uploaded").unlink(missing_ok=True)
        proc = multiprocessing.get_context("spawn").Process(
            target=_replace_forever, args=(remote, str(tmp_path)))
        proc.start()
        while not (tmp_path / "uploaded").exists():  # its first upload is done
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        fs, root = remote_fs(remote)
        folder = RemoteFolder(fs, root, "synctest", remote.url)
        key = folder.key_of("/synctest/interim/out.bin")
        if key is None:
            continue  # killed between dropping the old entry and writing the new one
        fetched = tmp_path / "fetched.bin"
        folder.download("/synctest/interim/out.bin", key, str(fetched))
        assert path_checksum(str(fetched)) == folder.checksum("/synctest/interim/out.bin", key)
        checked += 1
    # the kills that left a key at all (most: here 11 and 8 of 12, those between uploads)
    assert checked >= 3, f"only {checked} of 12 kills left a key to check"


def test_bytes_on_the_remote_that_are_not_the_keys_are_refused(team, machines):
    a, b = machines
    assert luisy.build(Report(), working_dir=str(a), **sync(team, upload=True)).ok
    fs, root = remote_fs(team)
    fs.pipe_file(f"{root}/synctest/final/Report.json", b'{"2024-01": 999}')  # behind luisy
    summary = luisy.build(Report(), working_dir=str(b), **sync(team, download=True))
    assert not summary.ok
    error = summary.errors[Report()]
    assert "Report(): the bytes fetched for" in error and "not those uploaded for its key" in \
        error
    assert not (b / "synctest" / "final" / "Report.json").exists()
    assert "/synctest/final/Report.json" not in keys_of(b)


# --------------------------------------------------------------------------- by hand (1.x)
def test_download_and_upload_by_hand(team, machines):
    a, b = machines
    assert luisy.build(Report(), working_dir=str(a)).ok
    with use(for_build({"working_dir": str(a), "remote": team.url})):
        Report().upload()
        fs, root = remote_fs(team)
        stamp = fs.info(f"{root}/synctest/final/Report.json")
        Report().upload()  # there already: left alone
        assert fs.info(f"{root}/synctest/final/Report.json") == stamp
        Report().upload(overwrite=True)
    with use(for_build({"working_dir": str(b), "remote": team.url})):
        with pytest.raises(RemoteError, match=r"Clean\(month=2024-01\): .* does not hold its "
                                              r"output with its current key \(it holds none\)"):
            Clean(month="2024-01").download()
        Report().download()
        assert Report().complete()
        assert Report().read() == {"2024-01": 3.0, "2024-02": 3.0}
        with pytest.raises(RemoteError, match=r"Clean\(month=2024-02\): not complete here"):
            Clean(month="2024-02").upload()


def test_download_without_a_remote_is_one_clear_error(machines):
    a, _ = machines
    with pytest.raises(RemoteError, match="download: no remote is set; give --remote URL"):
        luisy.build(Report(), working_dir=str(a), download=True)


def test_the_plan_lists_each_remote_folder_once(team, machines):
    a, b = machines
    assert luisy.build(Report(), working_dir=str(a), **sync(team, upload=True)).ok
    with use(for_build({"working_dir": str(b), **sync(team, download=True)})) as settings, \
            remote_for_build(settings) as remote:
        plan = plan_build(Report())
        assert [s.decision for s in plan.steps.values()].count(Decision.DOWNLOAD) == 1
        assert remote.stats()["listings"] == 1  # one project folder, listed once


def test_the_cli_downloads_and_shows_it_in_the_plan(machines, tmp_path):
    a, b = machines
    remote = f"file://{tmp_path}/cli-remote"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    command = [sys.executable, "-m", "luisy", "--module", "remote_tasks", "Report", "--no-ask",
               "--remote", remote]
    up = subprocess.run([*command, "--working-dir", str(a), "--upload"], env=env,
                        capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    down = subprocess.run([*command, "--working-dir", str(b), "--download"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert re.search(r"^Report\(\)\s+download\s+no output; on the remote", down.stdout,
                     re.MULTILINE), down.stdout
    assert "1 downloaded" in down.stdout


# ---------------------------------------------------------------------------------- secrets
def test_no_secret_reaches_logs_artifacts_errors_or_parameters(azurite, machines):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from luisy.remote.block import RemoteStorage

    a, b = machines
    secret = azurite.remote_options["connection_string"]
    key = secret.split("AccountKey=")[1].split(";")[0]
    name = f"team-{uuid.uuid4().hex[:8]}"
    fs, _ = fsspec.core.url_to_fs("abfs://x", **azurite.remote_options)
    fs.mkdir(name)
    RemoteStorage(url=f"abfs://{name}/team", options=azurite.remote_options).save(name)
    summary = luisy.build(Report(), working_dir=str(a), upload=True, remote_block=name)
    assert summary.ok, summary
    assert len(summary.uploaded) == 3
    # an error on the way: a container that is not there
    RemoteStorage(url="abfs://no-such-container/team", options=azurite.remote_options).save(
        name + "-bad")
    failed = luisy.build(Report(), working_dir=str(b), upload=True,
                         remote_block=name + "-bad")
    assert not failed.ok and len(failed.upload_failed) == 3
    assert "cannot upload to abfs://no-such-container/team" in str(failed)
    seen = [str(failed), *failed.upload_failed.values()]
    for build in (summary, failed):
        run = flow_run(build.flow_run_id) if build.flow_run_id else None
        if run is not None:
            seen += [json.dumps(run.parameters, default=str), run.state.message or ""]
            seen += flow_run_logs(build.flow_run_id)
            with get_client(sync_client=True) as client:
                seen += [str(a.data) + str(a.description) for a in client.read_artifacts(
                    artifact_filter=ArtifactFilter(
                        flow_run_id=ArtifactFilterFlowRunId(any_=[build.flow_run_id])))]
    text = "\n".join(seen)
    assert key not in text and "AccountKey" not in text


def test_a_prefect_azure_credentials_block_reaches_the_remote(azurite, machines):
    """The URL from ``--remote``, the secret from prefect-azure's own credentials block."""
    from prefect_azure import AzureBlobStorageCredentials

    a, b = machines
    secret = azurite.remote_options["connection_string"]
    name = f"creds-{uuid.uuid4().hex[:8]}"
    AzureBlobStorageCredentials(connection_string=secret).save(name)
    fs, _ = fsspec.core.url_to_fs("abfs://x", **azurite.remote_options)
    fs.mkdir(name)
    team = {"remote": f"abfs://{name}/team",
            "remote_block": f"azure-blob-storage-credentials/{name}"}
    up = luisy.build(Report(), working_dir=str(a), upload=True, **team)
    assert up.ok and len(up.uploaded) == 3, up
    down = luisy.build(Report(), working_dir=str(b), download=True, **team)
    assert {str(t) for t in down.downloaded} == {"Report()"}, down
    run = flow_run(down.flow_run_id)
    assert "AccountKey" not in json.dumps(run.parameters, default=str) + str(down)


def test_remote_settings_take_luisy_1x_names_and_redact_them():
    settings = for_build({"azure_account_name": "acct", "azure_storage_key": "s3cr3t-k3y",
                          "azure_container_name": "outputs"})
    remote = remote_of(settings)
    assert remote.url == "abfs://outputs"
    assert remote.options == {"account_name": "acct", "account_key": "s3cr3t-k3y"}
    assert remote.redact("failed with key s3cr3t-k3y") == "failed with key ***"
    assert "s3cr3t" not in repr(remote)
    url = remote_of(for_build({"remote": "s3://bucket/prefix/"}))
    assert url == RemoteSettings("s3://bucket/prefix") and url.options == {}


def test_a_remote_holds_what_a_by_hand_write_recorded(team, machines):
    """The key a build uploads is the key ``write()`` by hand records: one mechanism."""
    a, _ = machines
    with use(for_build({"working_dir": str(a)})):
        Clean(month="2024-01").run()
        record = record_of(Clean(month="2024-01"), current_key(Clean(month="2024-01")))
        assert HashStore(record.folder).get(record.rel_path) == record.key
    summary = luisy.build(Clean(month="2024-01"), working_dir=str(a), **sync(team, upload=True))
    assert summary.ok and not summary.completed
    assert remote_index(team)[0] == {record.rel_path: record.key}
    remote_obj = Remote(team)
    try:
        assert remote_obj.key_of(record) == record.key
    finally:
        remote_obj.close()


# ------------------------------------------------------------- shared layout, remote gc
def shared(remote: RemoteSettings, **settings) -> dict:
    return sync(remote, remote_layout="shared", **settings)


def remote_objects(remote: RemoteSettings) -> dict[str, dict]:
    """Every file below ``<remote>/synctest/.luisy.objects`` -> its info."""
    fs, root = remote_fs(remote)
    try:
        return fs.find(f"{root}/synctest/.luisy.objects", detail=True)
    except FileNotFoundError:
        return {}


def test_the_shared_layout_keeps_each_branchs_object_and_uploads_a_key_once(team, machines,
                                                                           tmp_path):
    a, b = machines  # two branches: b's data differ, so do its keys
    write_sales(b, amounts=(5.0,))
    assert luisy.build(Report(), working_dir=str(a), **shared(team, upload=True)).ok
    key_a = keys_of(a)["/synctest/final/Report.json"]
    assert luisy.build(Report(), working_dir=str(b), **shared(team, upload=True)).ok
    key_b = keys_of(b)["/synctest/final/Report.json"]
    objects = remote_objects(team)
    manifests = {p for p in objects if is_manifest(p)}
    assert len(manifests) == 6  # Report and two Cleans, of each branch: nothing overwritten
    assert any(key_a in p for p in manifests) and any(key_b in p for p in manifests)
    hashes = json.loads(remote_fs(team)[0].cat_file(
        f"{remote_fs(team)[1]}/synctest/{HASH_FILE}"))
    assert hashes["/synctest/final/Report.json"] == key_b  # the latest upload, for 1.x

    # a third machine on branch a downloads a's Report, though b uploaded after it
    c = tmp_path / "c"
    c.mkdir()
    write_sales(c)
    summary = luisy.build(Report(), working_dir=str(c), **shared(team, download=True))
    assert {str(t) for t in summary.downloaded} == {"Report()"}, summary
    assert (c / "synctest" / "final" / "Report.json").read_bytes() == (
        a / "synctest" / "final" / "Report.json").read_bytes()
    assert keys_of(c)["/synctest/final/Report.json"] == key_a

    # the same key uploaded again (from c): its object is not sent twice
    before = {p: (i["size"], _stamp(i)) for p, i in remote_objects(team).items()
              if not is_manifest(p)}
    assert luisy.build(Report(), working_dir=str(c), **shared(team, upload=True)).ok
    after = {p: (i["size"], _stamp(i)) for p, i in remote_objects(team).items()
             if not is_manifest(p)}
    assert after == before


def _stamp(info: dict) -> str:
    return str(info.get("LastModified") or info.get("last_modified") or info.get("mtime"))


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_remote_gc_removes_only_old_objects_no_hash_names(kind, request, machines, tmp_path):
    remote = _remote_on(kind, request, tmp_path)
    a, b = machines
    write_sales(b, amounts=(5.0,))
    for wd in (a, b):  # b uploads last: .luisy.hash names b's keys, no more a's
        settings = {"working_dir": str(wd), "upload": True, "remote_layout": "shared"}
        assert luisy.build(Report(), **settings, **_with_options(remote)).ok
    fs, root = remote_fs(remote)
    stray = f"{root}/synctest/interim/left-by-a-killed-upload.pkl"  # mirror garbage
    fs.makedirs(stray.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(stray, b"partial")
    keys_a = {v for k, v in keys_of(a).items() if "/raw/" not in k}

    assert collect_garbage(remote, keep_days=1) == []  # everything is younger than a day
    listed = collect_garbage(remote, keep_days=0, dry_run=True)
    assert fs.exists(stray) and len(remote_objects(remote)) == 12  # a dry run removes nothing
    manifests = [p for p in listed if is_manifest(p)]
    assert len(manifests) == 3 and all(any(k in p for k in keys_a) for p in manifests)
    assert listed.index(manifests[-1]) < min(listed.index(p) for p in listed
                                             if not is_manifest(p))  # manifests first
    assert fs._strip_protocol(stray) in listed

    assert sorted(collect_garbage(remote, keep_days=0)) == sorted(listed)
    assert not fs.exists(stray)
    left = remote_objects(remote)
    assert len(left) == 6 and not any(k in p for p in left for k in keys_a)
    # what b's keys name is still there: another machine of branch b downloads it
    c = tmp_path / "c"
    c.mkdir()
    write_sales(c, amounts=(5.0,))
    summary = luisy.build(Report(), working_dir=str(c), download=True, remote_layout="shared",
                          **_with_options(remote))
    assert {str(t) for t in summary.downloaded} == {"Report()"}, summary


def _with_options(remote: RemoteSettings) -> dict:
    """Build settings that reach ``remote`` with its options (a block would carry them)."""
    if not remote.options:
        return {"remote": remote.url}
    from luisy.remote.block import RemoteStorage

    name = f"gc-{uuid.uuid4().hex[:8]}"
    RemoteStorage(url=remote.url, options=remote.options).save(name)
    return {"remote_block": name}


def test_the_cli_lists_then_removes_garbage(machines, tmp_path):
    a, _ = machines
    url = f"file://{tmp_path}/gc-remote"
    assert luisy.build(Report(), working_dir=str(a), upload=True, remote=url).ok
    stray = tmp_path / "gc-remote" / "synctest" / "interim" / "stray.pkl"
    stray.write_bytes(b"x")
    old = time.time() - 3 * 86400
    os.utime(stray, (old, old))
    command = [sys.executable, "-m", "luisy", "remote", "gc", "--remote", url]
    dry = subprocess.run([*command, "--keep-days", "2", "--dry-run"], capture_output=True,
                         text=True, timeout=120)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert dry.stdout.splitlines() == [f"would remove {stray}", "1 object(s) to remove"]
    assert stray.exists()
    kept = subprocess.run([*command, "--keep-days", "4"], capture_output=True, text=True,
                          timeout=120)
    assert kept.stdout.splitlines() == ["0 object(s) removed"] and stray.exists()
    done = subprocess.run([*command, "--keep-days", "2"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and not stray.exists()
    assert (tmp_path / "gc-remote" / "synctest" / "final" / "Report.json").exists()
