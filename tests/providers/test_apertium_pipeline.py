"""The translation pipeline on real Apertium: tokens come back intact in real sentences."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.core.store import Store
from bot.core.translate import TranslationService
from bot.providers.apertium import ApertiumEngine, ApyServer, apertium_available

pytestmark = pytest.mark.skipif(not apertium_available(), reason="Apertium is not installed")


@pytest_asyncio.fixture
async def apertium() -> AsyncIterator[ApertiumEngine]:
    async with ApyServer() as url:
        engine = ApertiumEngine(url)
        yield engine
        await engine.close()


@pytest.mark.parametrize(
    ("text", "source", "target", "tokens"),
    [
        # Apertium moved this URL's placeholder into the verb ("⟦regarde 0⟧") when the
        # whole sentence went through at once.
        ("Hola, mira https://example.org/a por favor.", "es", "fr", ["https://example.org/a"]),
        (
            "I will come, <@u2>! See https://example.org/x",
            "en",
            "fr",
            ["<@u2>", "https://example.org/x"],
        ),
        (
            "Hey <@1234>, I can't join the call today 👋 run `make demo`",
            "en",
            "es",
            ["<@1234>", "👋", "`make demo`"],
        ),
    ],
)
async def test_tokens_survive_apertium(
    store: Store, apertium: ApertiumEngine, text: str, source: str, target: str, tokens: list[str]
) -> None:
    translator = TranslationService(store, {"apertium": apertium})

    result = await translator.translate(text, source, target, "apertium")

    assert result is not None
    assert result.fallback is False
    for token in tokens:
        assert token in result.text
