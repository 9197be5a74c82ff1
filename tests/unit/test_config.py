"""The process-wide Config singleton."""
from __future__ import annotations

import threading

import pytest

import luisy
from luisy import Config

DOCUMENTED = ["working_dir", "download", "upload", "dry_run", "no_ask", "hash_update_mode",
              "requirements_path", "spark", "azure_account_name", "azure_account_key",
              "azure_container_name"]


def test_config_is_a_singleton():
    assert Config() is Config()
    Config().set_param("dry_run", True)
    assert Config().get_param("dry_run") is True


def test_singleton_across_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(Config())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(c is Config() for c in seen)


@pytest.mark.parametrize("name", DOCUMENTED)
def test_documented_params_exist(name):
    Config().get_param(name)


def test_set_and_get(tmp_path):
    Config().set_param("working_dir", str(tmp_path))
    assert Config().get_param("working_dir") == str(tmp_path)
    assert Config().working_dir == str(tmp_path)


def test_unknown_param_raises_key_error_naming_known_ones():
    with pytest.raises(KeyError) as info:
        Config().get_param("wokring_dir")
    message = str(info.value)
    assert "wokring_dir" in message
    for name in DOCUMENTED:
        assert name in message
    with pytest.raises(KeyError, match="colour"):
        Config().set_param("colour", "red")


def test_update_sets_several_and_refuses_unknown_without_partial_change():
    Config().update({"download": True, "upload": True})
    assert Config().get_param("download") is True
    assert Config().get_param("upload") is True
    with pytest.raises(KeyError, match="nonsense"):
        Config().update({"no_ask": True, "nonsense": 1})
    assert Config().get_param("no_ask") is False  # nothing applied


def test_reset_restores_defaults():
    Config().update({"download": True, "dry_run": True, "working_dir": "/somewhere"})
    Config().reset()
    assert Config().get_param("download") is False
    assert Config().get_param("dry_run") is False
    assert Config().get_param("working_dir") is None
    with pytest.raises(ValueError, match="working dir"):
        Config().working_dir  # noqa: B018


def test_working_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKING_DIR", str(tmp_path / "from_env"))
    Config().reset()
    assert Config().working_dir == str(tmp_path / "from_env")
    # an explicit setting wins until the next reset
    Config().set_param("working_dir", str(tmp_path / "explicit"))
    assert Config().working_dir == str(tmp_path / "explicit")
    Config().reset()
    assert Config().working_dir == str(tmp_path / "from_env")


@pytest.mark.parametrize(("name", "env"), [
    ("requirements_path", "LUISY_REQUIREMENTS_PATH"),
    ("azure_account_name", "LUISY_AZURE_ACCOUNT_NAME"),
    ("azure_account_key", "LUISY_AZURE_ACCOUNT_KEY"),
    ("azure_container_name", "LUISY_AZURE_CONTAINER_NAME"),
])
def test_other_params_from_environment(monkeypatch, name, env):
    monkeypatch.setenv(env, "value-from-env")
    Config().reset()
    assert Config().get_param(name) == "value-from-env"
    monkeypatch.delenv(env)
    Config().reset()
    assert Config().get_param(name) is None


def test_helpers(tmp_path):
    luisy.set_working_dir(tmp_path / "helper")
    assert Config().working_dir == str(tmp_path / "helper")
    luisy.activate_download()
    assert Config().get_param("download") is True
