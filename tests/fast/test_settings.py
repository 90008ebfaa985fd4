"""Settings precedence: defaults < packaged configs < <home>/surveyor.toml < --config < environment."""
from __future__ import annotations

import pytest

from surveyor.errors import InputError
from surveyor.settings import config_dir, load_settings, prompts_dir


def test_packaged_configs_and_prompts_are_found():
    assert (config_dir() / "surveyor.toml").is_file()
    assert len(list((config_dir() / "topics").glob("*.toml"))) == 6
    assert (prompts_dir() / "answer.txt").is_file()


def test_each_layer_overrides_the_one_below(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    assert load_settings(home).retrieval.k == 8  # default
    (home / "surveyor.toml").write_text("[retrieval]\nk = 5\n[arxiv]\ndelay_s = 1.5\n")
    assert load_settings(home).retrieval.k == 5
    extra = tmp_path / "extra.toml"
    extra.write_text("[retrieval]\nk = 3\n")
    settings = load_settings(home, extra)
    assert settings.retrieval.k == 3 and settings.arxiv.delay_s == 1.5  # the home's other keys stay
    monkeypatch.setenv("SURVEYOR_ARXIV_URL", "http://127.0.0.1:1/api/query")
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11500")
    settings = load_settings(home, extra)
    assert settings.arxiv.api_url == "http://127.0.0.1:1/api/query"
    assert settings.llm.ollama_host == "http://127.0.0.1:11500"


def test_home_comes_from_the_argument_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEYOR_HOME", str(tmp_path / "from-env"))
    assert load_settings().home == (tmp_path / "from-env").resolve()
    assert load_settings(tmp_path / "given").home == (tmp_path / "given").resolve()


def test_a_user_config_dir_replaces_the_packaged_one(tmp_path, monkeypatch):
    (tmp_path / "surveyor.toml").write_text("[retrieval]\nk = 11\n")
    monkeypatch.setenv("SURVEYOR_CONFIG_DIR", str(tmp_path))
    assert load_settings(tmp_path / "home").retrieval.k == 11


@pytest.mark.parametrize("content, message", [("[retrieval\nk=", "not valid TOML"),
                                               ("[retrieval]\nk = 'many'\n", "bad setting retrieval.k")])
def test_bad_settings_are_one_line_errors(tmp_path, content, message):
    (tmp_path / "surveyor.toml").write_text(content)
    with pytest.raises(InputError, match=message):
        load_settings(tmp_path)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_settings(tmp_path, tmp_path / "nope.toml")
