"""The process-wide Config singleton."""
from __future__ import annotations

import threading
import warnings

import pytest

import luisy
from luisy import Config
from luisy.config import UnknownSettingWarning

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
    with pytest.raises(ValueError, match="wokring_dir"):  # luisy 1.x raised ValueError
        Config().get_param("wokring_dir")


def test_unknown_names_are_stored_as_in_1x_with_a_warning_naming_the_close_one():
    with pytest.warns(UnknownSettingWarning, match=r"'wokring_dir'.*did you mean 'working_dir'"):
        Config().set_param("wokring_dir", "/x")
    assert Config().get_param("wokring_dir") == "/x"
    with pytest.warns(UnknownSettingWarning, match="colour"):
        Config().update({"no_ask": True, "colour": "red"})
    assert Config().get_param("no_ask") is True and Config().get_param("colour") == "red"
    Config().reset()
    with pytest.raises(ValueError, match="colour"):
        Config().get_param("colour")


def test_unknown_names_can_be_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownSettingWarning)
        with pytest.raises(UnknownSettingWarning):
            Config().set_param("colour", "red")


def test_cli_spellings_and_1x_names_are_the_same_settings(monkeypatch):
    Config().set_param("dry-run", True)
    assert Config().get_param("dry_run") is True and Config().get_param("dry-run") is True
    Config().update({"hash-update-mode": True})
    assert Config().get_param("hash_update_mode") is True
    Config().set_param("azure_storage_key", "k1")  # luisy 1.x's name
    assert Config().get_param("azure_account_key") == "k1"
    monkeypatch.setenv("LUISY_AZURE_STORAGE_KEY", "from-env")
    Config().reset()
    assert Config().get_param("azure_storage_key") == "from-env"
    monkeypatch.setenv("LUISY_AZURE_ACCOUNT_KEY", "new-name")
    Config().reset()
    assert Config().get_param("azure_account_key") == "new-name"


def test_spark_is_assignable_as_in_1x():
    marker = object()
    Config().spark = marker
    assert Config().get_param("spark") is marker


def test_tasks_know_their_project_name():
    class Derived(luisy.Task):
        pass

    @luisy.project_name("named")
    class Named(Derived):
        pass

    assert Derived.project_name is None and Named.project_name == "named"
    assert Named().project_name == "named"
    assert Derived().project_name == Derived().get_project_name() == __name__.split(".")[0]


def test_update_sets_several():
    Config().update({"download": True, "upload": True})
    assert Config().get_param("download") is True
    assert Config().get_param("upload") is True


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
