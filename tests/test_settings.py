"""Settings from the environment: defaults, validation, and errors that name the variable."""

from __future__ import annotations

import pytest

from bot.cli import main
from config.settings import SettingsError, load_settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)

    settings = load_settings()

    assert settings.redis_url is None
    assert settings.key_prefix == "parley"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "localhost:6379"),
        ("PARLEY_CACHE_TTL", "soon"),
        ("PARLEY_KEY_PREFIX", "has space"),
        ("PARLEY_LOG_LEVEL", "LOUD"),
        ("PARLEY_ENGINE_TIMEOUT", "-1"),
    ],
)
def test_invalid_value_names_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert variable in str(raised.value)
    assert repr(value) in str(raised.value)


def test_cli_exits_nonzero_on_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARLEY_MESSAGE_TTL", "forever")

    code = main(["replay", "-"])

    assert code == 2
    assert "PARLEY_MESSAGE_TTL" in capsys.readouterr().err


def test_empty_key_leaves_engine_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPL_AUTH_KEY", "")
    monkeypatch.setenv("OPENAI_API_KEY", " ")

    settings = load_settings()

    assert settings.configured_engines() == ("apertium",)


def test_chain_needs_engine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_ENGINES", "deepl,apertium")
    monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert "DEEPL_AUTH_KEY" in str(raised.value)


def test_secret_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPL_AUTH_KEY", "s3cret-value")
    monkeypatch.setenv("PARLEY_ENGINES", "deepl,klingon")

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert "klingon" in str(raised.value)
    assert "s3cret-value" not in str(raised.value)
