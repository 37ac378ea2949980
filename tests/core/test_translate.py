"""The translation pipeline: tokens, same-language drops, cache, shared calls, fallbacks."""

from __future__ import annotations

import asyncio

from bot.core.store import Store
from bot.core.translate import TranslationService
from tests.fakes import FakeEngine

TEXT = "Nos vemos mañana en la reunión <@42>, mira https://example.org/a?b=1 👋"


def service(store: Store, engine: FakeEngine) -> TranslationService:
    return TranslationService(store, {engine.name: engine})


async def test_tokens_survive_byte_for_byte(store: Store, engine: FakeEngine) -> None:
    result = await service(store, engine).translate(TEXT, "es", "en", "fake")

    assert result is not None
    assert "<@42>" in result.text
    assert "https://example.org/a?b=1" in result.text
    assert "👋" in result.text
    assert "<@42>" not in engine.calls[0][0]


async def test_same_language_not_translated(store: Store, engine: FakeEngine) -> None:
    result = await service(store, engine).translate(TEXT, "es", "es", "fake")

    assert result is None
    assert engine.calls == []


async def test_output_equal_to_input_dropped(store: Store, engine: FakeEngine) -> None:
    engine.echo = True

    result = await service(store, engine).translate(TEXT, "es", "en", "fake")

    assert result is None


async def test_cache_hit_skips_engine(store: Store, engine: FakeEngine) -> None:
    first = await service(store, engine).translate(TEXT, "es", "en", "fake")
    second = await service(store, engine).translate(TEXT, "es", "en", "fake")

    assert len(engine.calls) == 1
    assert first is not None and second is not None
    assert second.cached is True
    assert second.text == first.text


async def test_cache_ttl_set(store: Store, engine: FakeEngine) -> None:
    await service(store, engine).translate(TEXT, "es", "en", "fake")

    keys = [key async for key in store.redis.scan_iter(match=f"{store.prefix}:cache:*")]
    assert len(keys) == 1
    assert 0 < await store.redis.ttl(keys[0]) <= store.cache_ttl_s


async def test_concurrent_requests_share_call(store: Store, engine: FakeEngine) -> None:
    engine.delay_s = 0.05
    translator = service(store, engine)

    results = await asyncio.gather(
        *(translator.translate(TEXT, "es", "en", "fake") for _ in range(5))
    )

    assert len(engine.calls) == 1
    assert len({result.text for result in results if result is not None}) == 1


async def test_concurrent_processes_share_call(store: Store, engine: FakeEngine) -> None:
    engine.delay_s = 0.1
    other_engine = FakeEngine()

    results = await asyncio.gather(
        service(store, engine).translate(TEXT, "es", "en", "fake"),
        service(store, other_engine).translate(TEXT, "es", "en", "fake"),
    )

    assert len(engine.calls) + len(other_engine.calls) == 1
    assert results[0] is not None and results[1] is not None
    assert results[0].text == results[1].text


async def test_damaged_token_retried_by_pieces(store: Store, engine: FakeEngine) -> None:
    engine.drop_placeholders = 1

    result = await service(store, engine).translate(TEXT, "es", "en", "fake")

    pieces = [call[0] for call in engine.calls[1:]]
    assert pieces == ["Nos vemos mañana en la reunión", ", mira"]
    assert result is not None
    assert result.fallback is False
    assert result.text.startswith("[en] Nos vemos mañana en la reunión <@42>[en] , mira")
    assert result.text.endswith("https://example.org/a?b=1 👋")


async def test_damaged_twice_falls_back(store: Store, engine: FakeEngine) -> None:
    engine.invent_placeholders = 3

    result = await service(store, engine).translate(TEXT, "es", "en", "fake")

    assert result is not None
    assert result.fallback is True
    assert result.text.startswith(TEXT)
    assert "not translated" in result.text


async def test_damaged_result_not_cached(store: Store, engine: FakeEngine) -> None:
    engine.invent_placeholders = 3
    await service(store, engine).translate(TEXT, "es", "en", "fake")

    keys = [key async for key in store.redis.scan_iter(match=f"{store.prefix}:cache:*")]
    assert keys == []


async def test_engine_failure_falls_back(store: Store, engine: FakeEngine) -> None:
    engine.fail = True

    result = await service(store, engine).translate(TEXT, "es", "fr", "fake")

    assert result is not None
    assert result.fallback is True
    assert "non traduit" in result.text


async def test_emoji_only_not_translated(store: Store, engine: FakeEngine) -> None:
    result = await service(store, engine).translate("🎉 <:parley:1234> 👍", "es", "en", "fake")

    assert result is None
    assert engine.calls == []


async def test_unsupported_pair_says_so(store: Store, engine: FakeEngine) -> None:
    engine.unsupported.add(("es", "de"))

    result = await service(store, engine).translate(TEXT, "es", "de", "fake")

    assert result is not None
    assert result.reason == "unsupported"
    assert "fake kann nicht von es nach de" in result.text
