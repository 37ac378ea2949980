"""Tests for the DeepL engine: the real `deepl` SDK against a fake DeepL server."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Mapping

import deepl
import pytest
import pytest_asyncio

from bot.core.errors import EngineError, EngineUnavailableError, UnsupportedPairError
from bot.core.ports import EngineRequest, GlossaryTerm
from bot.core.store import Store
from bot.core.translate import TranslationService
from bot.providers.deepl_engine import DeepLEngine, from_deepl_xml, to_deepl_xml
from tests.providers.fake_deepl import FakeDeepL

CAT_GLOSSARY = {"de": (GlossaryTerm("cat", "Katze"),)}


@pytest.fixture(autouse=True)
def no_sdk_retries() -> Iterator[None]:
    """Turn off the SDK's retries, which back off for seconds on 429, 5xx and lost connections."""
    saved = deepl.http_client.max_network_retries
    deepl.http_client.max_network_retries = 0
    yield
    deepl.http_client.max_network_retries = saved


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDeepL]:
    async with FakeDeepL() as server:
        yield server


@pytest_asyncio.fixture
async def deepl_engine(fake: FakeDeepL) -> AsyncIterator[DeepLEngine]:
    engine = DeepLEngine(fake.auth_key, server_url=fake.base_url, timeout_s=5.0)
    yield engine
    await engine.close()


def request(
    text: str,
    *targets: str,
    context: tuple[str, ...] = (),
    glossaries: Mapping[str, tuple[GlossaryTerm, ...]] | None = None,
    formality: str | None = None,
) -> EngineRequest:
    """Build an English request, into German unless `targets` are given."""
    return EngineRequest(
        text=text,
        source="en",
        targets=targets or ("de",),
        context=context,
        glossaries=glossaries or {},
        formality=formality,
    )


async def test_placeholders_survive(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    result = await deepl_engine.translate(request("Hi ⟦0⟧, see ⟦1⟧"))

    assert result.translations["de"] == "[DE] Hi ⟦0⟧, see ⟦1⟧"
    assert fake.last_form["text"] == ['Hi <x id="0"/>, see <x id="1"/>']
    assert fake.last_form["tag_handling"] == "xml"
    assert fake.last_form["ignore_tags"] == ["x"]


async def test_xml_characters_round_trip(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    result = await deepl_engine.translate(request("a < b & c > d"))

    assert result.translations["de"] == "[DE] a < b & c > d"
    assert fake.last_form["text"] == ["a &lt; b &amp; c &gt; d"]


def test_typed_tag_stays_text() -> None:
    typed = 'literal <x id="0"/> and ⟦1⟧'

    sent = to_deepl_xml(typed)

    assert sent == 'literal &lt;x id="0"/&gt; and <x id="1"/>'
    assert from_deepl_xml(sent) == typed


def test_placeholder_element_forms() -> None:
    assert from_deepl_xml("<x id='3'></x> ok") == "⟦3⟧ ok"


async def test_formality_sent_as_prefer(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    result = await deepl_engine.translate(
        EngineRequest("Hello", source="de", targets=("en",), formality="more")
    )

    assert result.translations["en"] == "[EN-US] Hello"
    assert fake.last_form["formality"] == "prefer_more"


async def test_formality_less(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.translate(request("Hello", formality="less"))

    assert fake.last_form["formality"] == "prefer_less"


async def test_no_formality_by_default(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.translate(request("Hello"))

    assert "formality" not in fake.last_form


async def test_fake_rejects_plain_formality(fake: FakeDeepL) -> None:
    client = deepl.DeepLClient(fake.auth_key, server_url=fake.base_url)

    with pytest.raises(deepl.DeepLException) as caught:
        await asyncio.to_thread(
            client.translate_text, "Hello", target_lang="EN-US", formality="more"
        )

    assert caught.value.http_status_code == 400
    client.close()  # type: ignore[no-untyped-call]


async def test_context_sent(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.translate(request("It is", context=("Is it cold?", "Very.")))

    assert fake.last_form["context"] == "Is it cold?\nVery."


async def test_no_context_when_empty(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.translate(request("It is"))

    assert "context" not in fake.last_form


async def test_several_targets(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    result = await deepl_engine.translate(
        EngineRequest("Hallo", source="de", targets=("fr", "pt", "en", "it"))
    )

    assert result.translations == {
        "fr": "[FR] Hallo",
        "pt": "[PT-BR] Hallo",
        "en": "[EN-US] Hallo",
        "it": "[IT] Hallo",
    }
    assert fake.translate_calls == 4
    assert sorted(form["target_lang"] for form in fake.translate_forms) == [
        "EN-US",
        "FR",
        "IT",
        "PT-BR",
    ]


async def test_unknown_source_left_out(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    result = await deepl_engine.translate(EngineRequest("Saluton", source="eo", targets=("de",)))

    assert result.translations["de"] == "[DE] Saluton"
    assert "source_lang" not in fake.last_form


async def test_unsupported_target_fails_alone(deepl_engine: DeepLEngine) -> None:
    result = await deepl_engine.translate(request("Hello", "de", "xx"))

    assert result.translations == {"de": "[DE] Hello"}
    assert isinstance(result.failures["xx"], UnsupportedPairError)


async def test_batching_merges_calls(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.supports("en", "de")  # Fetch the language lists first.
    calls_before = deepl_engine.http_calls
    texts = [f"message {number}" for number in range(5)]

    results = await asyncio.gather(*(deepl_engine.translate(request(text)) for text in texts))

    assert fake.translate_calls == 1
    assert fake.texts_seen == 5
    assert deepl_engine.http_calls - calls_before == 1
    assert [result.translations["de"] for result in results] == [f"[DE] {t}" for t in texts]


async def test_batching_splits_at_fifty(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    texts = [f"message {number}" for number in range(60)]

    await asyncio.gather(*(deepl_engine.translate(request(text)) for text in texts))

    assert fake.translate_calls == 2
    assert sorted(len(form["text"]) for form in fake.translate_forms) == [10, 50]


async def test_batching_keeps_contexts_apart(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await asyncio.gather(
        deepl_engine.translate(request("one", context=("a",))),
        deepl_engine.translate(request("two", context=("b",))),
    )

    assert fake.translate_calls == 2
    assert sorted(form["context"] for form in fake.translate_forms) == ["a", "b"]


async def test_glossary_created_once(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    first = await deepl_engine.translate(request("the cat sleeps", glossaries=CAT_GLOSSARY))
    second = await deepl_engine.translate(request("a cat", glossaries=CAT_GLOSSARY))

    assert first.translations["de"] == "[DE] the Katze sleeps"
    assert second.translations["de"] == "[DE] a Katze"
    assert fake.glossaries_created == 1
    (glossary_id,) = fake.glossaries
    assert fake.last_form["glossary_id"] == glossary_id


async def test_concurrent_glossary_shared(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await asyncio.gather(
        deepl_engine.translate(request("cat one", glossaries=CAT_GLOSSARY)),
        deepl_engine.translate(request("cat two", glossaries=CAT_GLOSSARY)),
    )

    assert fake.glossaries_created == 1


async def test_glossary_reused_by_new_engine(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.translate(request("cat", glossaries=CAT_GLOSSARY))
    restarted = DeepLEngine(fake.auth_key, server_url=fake.base_url)

    result = await restarted.translate(request("cat", glossaries=CAT_GLOSSARY))
    await restarted.close()

    assert result.translations["de"] == "[DE] Katze"
    assert fake.glossaries_created == 1


async def test_glossary_recreated_after_delete(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.translate(request("cat", glossaries=CAT_GLOSSARY))
    fake.glossaries.clear()

    result = await deepl_engine.translate(request("a cat", glossaries=CAT_GLOSSARY))

    assert result.translations["de"] == "[DE] a Katze"
    assert fake.glossaries_created == 2


async def test_glossary_unsupported_pair(
    deepl_engine: DeepLEngine, fake: FakeDeepL, caplog: pytest.LogCaptureFixture
) -> None:
    glossaries = {"tr": (GlossaryTerm("cat", "kedi"),)}
    caplog.set_level(logging.INFO, logger="bot.providers.deepl_engine")

    first = await deepl_engine.translate(request("cat", "tr", glossaries=glossaries))
    await deepl_engine.translate(request("cat", "tr", glossaries=glossaries))

    assert first.translations["tr"] == "[TR] cat"
    assert "glossary_id" not in fake.last_form
    without = [r for r in caplog.records if "translating without it" in r.getMessage()]
    assert len(without) == 1
    assert without[0].levelno == logging.INFO


async def test_billed_characters_summed(deepl_engine: DeepLEngine) -> None:
    result = await deepl_engine.translate(request("hello world", "de", "fr"))

    assert result.billed_characters == 22


async def test_rate_limit_unavailable(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.supports("en", "de")
    fake.status_429_retry_after = 7

    with pytest.raises(EngineUnavailableError) as caught:
        await deepl_engine.translate(request("Hello"))

    assert "429" in str(caught.value)
    assert caught.value.quota is False
    # deepl 1.32 drops response headers, so the engine cannot read Retry-After.
    assert caught.value.retry_after is None


async def test_quota_exceeded(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.supports("en", "de")
    fake.quota_exceeded = True

    with pytest.raises(EngineUnavailableError) as caught:
        await deepl_engine.translate(request("Hello"))

    assert caught.value.quota is True


async def test_server_error_unavailable(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    fake.server_error = True

    with pytest.raises(EngineUnavailableError):
        await deepl_engine.translate(request("Hello"))


async def test_wrong_key(fake: FakeDeepL, caplog: pytest.LogCaptureFixture) -> None:
    engine = DeepLEngine("wrong-secret-key", server_url=fake.base_url)

    with pytest.raises(EngineError) as caught:
        await engine.translate(request("Hello"))
    await engine.close()

    assert not isinstance(caught.value, EngineUnavailableError)
    assert "DEEPL_AUTH_KEY" in str(caught.value)
    assert "wrong-secret-key" not in str(caught.value)
    assert "wrong-secret-key" not in caplog.text


async def test_malformed_json(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    await deepl_engine.supports("en", "de")
    fake.malformed = True

    with pytest.raises(EngineError) as caught:
        await deepl_engine.translate(request("Hello"))

    assert not isinstance(caught.value, EngineUnavailableError)


async def test_malformed_languages(deepl_engine: DeepLEngine, fake: FakeDeepL) -> None:
    fake.malformed = True
    with pytest.raises(EngineError):
        await deepl_engine.supports("en", "de")
    fake.malformed = False

    assert await deepl_engine.supports("en", "de") is True


async def test_timeout_unavailable(fake: FakeDeepL) -> None:
    engine = DeepLEngine(fake.auth_key, server_url=fake.base_url, timeout_s=0.1)
    fake.latency_s = 0.4

    with pytest.raises(EngineUnavailableError) as caught:
        await engine.translate(request("Hello"))
    await engine.close()

    assert "timed out" in str(caught.value)


def test_empty_key_rejected() -> None:
    with pytest.raises(EngineError, match="DEEPL_AUTH_KEY"):
        DeepLEngine("")


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = DeepLEngine("any-key", server_url=f"http://127.0.0.1:{port}")

    with pytest.raises(EngineUnavailableError):
        await engine.translate(request("Hello"))
    await engine.close()


async def test_supports_known_pair(deepl_engine: DeepLEngine) -> None:
    assert await deepl_engine.supports("en", "de") is True
    assert await deepl_engine.supports("de", "pt") is True
    assert await deepl_engine.supports("en", "xx") is False
    assert await deepl_engine.supports("xx", "de") is False


async def test_supports_fetches_once(deepl_engine: DeepLEngine) -> None:
    await deepl_engine.supports("en", "de")
    calls = deepl_engine.http_calls

    await deepl_engine.supports("fr", "it")

    assert deepl_engine.http_calls == calls


async def test_close_fails_queued(fake: FakeDeepL) -> None:
    engine = DeepLEngine(fake.auth_key, server_url=fake.base_url, batch_window_s=5.0)
    await engine.supports("en", "de")
    pending = asyncio.ensure_future(engine.translate(request("Hello")))
    await asyncio.sleep(0.05)

    await engine.close()

    with pytest.raises(EngineError):
        await pending
    assert fake.translate_calls == 0


async def test_pipeline_keeps_tokens(store: Store, deepl_engine: DeepLEngine) -> None:
    translator = TranslationService(store, {"deepl": deepl_engine})
    text = "Hey <@1234>, a < b & see https://example.org/a?x=1&y=2 👋"

    result = await translator.translate(text, "en", "de", "deepl")

    assert result is not None
    assert result.fallback is False
    assert result.text.startswith("[DE] Hey <@1234>, a < b & see")
    assert "https://example.org/a?x=1&y=2" in result.text
