"""Tests for the LibreTranslate engine over real HTTP against a fake LibreTranslate server."""

from __future__ import annotations

import email.utils
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.core.errors import EngineError, EngineUnavailableError, UnsupportedPairError
from bot.core.ports import EngineRequest
from bot.providers.libretranslate import (
    API_KEY_VARIABLE,
    LibreTranslateEngine,
    _parse_retry_after,
)
from tests.providers.fake_libretranslate import FakeLibreTranslate

API_KEY = "lt-secret-4f1c9a"
LANGUAGES_WITHOUT_TARGETS: list[dict[str, Any]] = [
    {"code": "en", "name": "English"},
    {"code": "es", "name": "Spanish"},
    {"code": "ja", "name": "Japanese"},
]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLibreTranslate]:
    async with FakeLibreTranslate() as server:
        yield server


@pytest_asyncio.fixture
async def engine(fake: FakeLibreTranslate) -> AsyncIterator[LibreTranslateEngine]:
    libre = LibreTranslateEngine(fake.base_url, timeout_s=2.0)
    yield libre
    await libre.close()


@pytest_asyncio.fixture
async def keyed_fake() -> AsyncIterator[FakeLibreTranslate]:
    async with FakeLibreTranslate(api_key=API_KEY) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Translation


async def test_translate_keeps_placeholders(engine: LibreTranslateEngine) -> None:
    result = await engine.translate(EngineRequest("Hi ⟦0⟧, see ⟦1⟧", "en", ("es",)))
    assert result.translations == {"es": "[es] Hi ⟦0⟧, see ⟦1⟧"}
    assert result.failures == {}


async def test_translate_request_body(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    await engine.translate(EngineRequest("Hello", "en", ("fr",)))
    assert fake.last_body == {"q": "Hello", "source": "en", "target": "fr", "format": "text"}


async def test_two_targets_two_calls(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    result = await engine.translate(EngineRequest("Hello", "en", ("es", "fr")))
    assert fake.calls == 2
    assert result.translations["es"] == "[es] Hello"
    assert result.translations["fr"] == "[fr] Hello"


async def test_empty_source_sends_auto(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    translated = await engine.translate_text("Hello", "", "es")
    assert translated == "[es] Hello"
    assert fake.last_body is not None
    assert fake.last_body["source"] == "auto"


async def test_same_language_skips_call(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    assert await engine.translate_text("Hello", "en", "en") == "Hello"
    assert await engine.translate_text("  ", "en", "es") == "  "
    assert fake.calls == 0


# API key


async def test_api_key_sent(keyed_fake: FakeLibreTranslate) -> None:
    libre = LibreTranslateEngine(keyed_fake.base_url, api_key=API_KEY)
    try:
        translated = await libre.translate_text("Hello", "en", "es")
    finally:
        await libre.close()
    assert translated == "[es] Hello"
    assert keyed_fake.last_body is not None
    assert keyed_fake.last_body["api_key"] == API_KEY


async def test_wrong_key_hides_key(keyed_fake: FakeLibreTranslate) -> None:
    wrong_key = "lt-wrong-77d0e2"
    libre = LibreTranslateEngine(keyed_fake.base_url, api_key=wrong_key)
    try:
        with pytest.raises(EngineError) as caught:
            await libre.translate(EngineRequest("Hello", "en", ("es",)))
    finally:
        await libre.close()
    message = str(caught.value)
    assert not isinstance(caught.value, EngineUnavailableError)
    assert API_KEY_VARIABLE in message
    assert "403" in message
    assert wrong_key not in message


async def test_missing_key_names_variable(keyed_fake: FakeLibreTranslate) -> None:
    libre = LibreTranslateEngine(keyed_fake.base_url)
    try:
        with pytest.raises(EngineError) as caught:
            await libre.translate(EngineRequest("Hello", "en", ("es",)))
    finally:
        await libre.close()
    assert not isinstance(caught.value, EngineUnavailableError)
    assert API_KEY_VARIABLE in str(caught.value)
    assert keyed_fake.last_body is not None
    assert "api_key" not in keyed_fake.last_body


# Server failures


async def test_rate_limit_retry_after(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    fake.rate_limited = 30
    with pytest.raises(EngineUnavailableError) as caught:
        await engine.translate(EngineRequest("Hello", "en", ("es",)))
    assert caught.value.retry_after == 30.0
    assert "429" in str(caught.value)


async def test_ban_unavailable(engine: LibreTranslateEngine, fake: FakeLibreTranslate) -> None:
    fake.banned = True
    with pytest.raises(EngineUnavailableError) as caught:
        await engine.translate(EngineRequest("Hello", "en", ("es",)))
    assert "403" in str(caught.value)
    assert API_KEY_VARIABLE not in str(caught.value)


def test_retry_after_http_date() -> None:
    moment = datetime.now(UTC) + timedelta(seconds=90)
    seconds = _parse_retry_after(email.utils.format_datetime(moment, usegmt=True))
    assert seconds is not None
    assert seconds > 80
    assert seconds <= 90


def test_retry_after_invalid() -> None:
    assert _parse_retry_after("soon") is None
    assert _parse_retry_after("nan") is None
    assert _parse_retry_after("-5") == 0.0


async def test_server_error_unavailable(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    fake.server_error = True
    with pytest.raises(EngineUnavailableError) as caught:
        await engine.translate(EngineRequest("Hello", "en", ("es",)))
    assert "500" in str(caught.value)


async def test_timeout_unavailable(fake: FakeLibreTranslate) -> None:
    fake.latency_s = 0.5
    libre = LibreTranslateEngine(fake.base_url, timeout_s=0.1)
    try:
        with pytest.raises(EngineUnavailableError) as caught:
            await libre.translate(EngineRequest("Hello", "en", ("es",)))
    finally:
        await libre.close()
    assert "timed out" in str(caught.value)


async def test_connection_refused_unavailable() -> None:
    libre = LibreTranslateEngine(f"http://127.0.0.1:{closed_port()}", timeout_s=1.0)
    try:
        with pytest.raises(EngineUnavailableError):
            await libre.translate(EngineRequest("Hello", "en", ("es",)))
    finally:
        await libre.close()


async def test_malformed_json_engine_error(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    fake.malformed = True
    with pytest.raises(EngineError) as caught:
        await engine.translate(EngineRequest("Hello", "en", ("es",)))
    assert not isinstance(caught.value, EngineUnavailableError)
    assert "invalid JSON" in str(caught.value)


# Unsupported pairs


async def test_unsupported_target_in_failures(engine: LibreTranslateEngine) -> None:
    result = await engine.translate(EngineRequest("Hello", "en", ("es", "ja")))
    assert result.translations == {"es": "[es] Hello"}
    assert isinstance(result.failures["ja"], UnsupportedPairError)


async def test_missing_pair_in_failures(engine: LibreTranslateEngine) -> None:
    result = await engine.translate(EngineRequest("Hallo", "de", ("en", "es")))
    assert result.translations == {"en": "[en] Hallo"}
    failure = result.failures["es"]
    assert isinstance(failure, UnsupportedPairError)
    assert failure.source == "de"
    assert failure.target == "es"


async def test_all_unsupported_returns_failures(engine: LibreTranslateEngine) -> None:
    result = await engine.translate(EngineRequest("Hello", "en", ("ja", "ko")))
    assert result.translations == {}
    assert set(result.failures) == {"ja", "ko"}


# supports()


async def test_supports_with_targets(engine: LibreTranslateEngine) -> None:
    assert await engine.supports("en", "es")
    assert await engine.supports("de", "en")
    assert not await engine.supports("de", "es")
    assert not await engine.supports("en", "ja")
    assert await engine.supports("auto", "fr")


async def test_supports_without_targets() -> None:
    async with FakeLibreTranslate(languages=LANGUAGES_WITHOUT_TARGETS) as server:
        libre = LibreTranslateEngine(server.base_url)
        try:
            assert await libre.supports("en", "ja")
            assert await libre.supports("ja", "es")
            assert not await libre.supports("en", "fr")
        finally:
            await libre.close()


async def test_supports_caches_languages(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    await engine.supports("en", "es")
    await engine.supports("es", "fr")
    assert fake.languages_calls == 1


async def test_supports_failure_not_cached(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    fake.server_error = True
    with pytest.raises(EngineUnavailableError):
        await engine.supports("en", "es")
    fake.server_error = False
    assert await engine.supports("en", "es")
    assert fake.languages_calls == 2


async def test_supports_malformed_languages(
    engine: LibreTranslateEngine, fake: FakeLibreTranslate
) -> None:
    fake.languages = {"en": "English"}  # type: ignore[assignment]
    with pytest.raises(EngineError) as caught:
        await engine.supports("en", "es")
    assert "invalid" in str(caught.value)


# Session ownership


async def test_close_keeps_given_session(fake: FakeLibreTranslate) -> None:
    async with aiohttp.ClientSession() as session:
        libre = LibreTranslateEngine(fake.base_url, session=session)
        await libre.translate_text("Hello", "en", "es")
        await libre.close()
        assert not session.closed


# The fake itself


async def test_fake_form_list_q(fake: FakeLibreTranslate) -> None:
    form = aiohttp.FormData([("q", "one ⟦0⟧"), ("q", "two"), ("source", "en"), ("target", "es")])
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}/translate", data=form) as response:
            payload = await response.json()
    assert response.status == 200
    assert payload["translatedText"] == ["[es] one ⟦0⟧", "[es] two"]


async def test_fake_json_list_q(fake: FakeLibreTranslate) -> None:
    body = {"q": ["a", "b"], "source": "auto", "target": "fr"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}/translate", json=body) as response:
            payload = await response.json()
    assert payload["translatedText"] == ["[fr] a", "[fr] b"]
    assert payload["detectedLanguage"]["language"] == "en"
