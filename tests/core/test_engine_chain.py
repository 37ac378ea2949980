"""Engine chains per space: fallbacks, marks on failing engines, budgets, usage, glossaries."""

from __future__ import annotations

from bot.core.actions import ActionKind
from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.relay import Relay
from bot.core.space_store import SpaceStore
from bot.core.store import Store
from bot.core.translate import SpaceRef, TranslationService
from tests.chat import Chat
from tests.fakes import FakeEngine

TEXT = "Tomorrow we are going to the beach with the whole family if the weather is good."
SPACE = SpaceRef("discord", "s1")


def paid_engine() -> FakeEngine:
    engine = FakeEngine()
    engine.name = "paid"
    engine.paid = True
    return engine


def wire(
    store: Store, detector: LanguageDetector, *engines: FakeEngine
) -> tuple[Parley, TranslationService]:
    chain = tuple(engine.name for engine in engines)
    translator = TranslationService(
        store, {engine.name: engine for engine in engines}, SpaceStore(store, chain)
    )
    relay = Relay(store, translator, detector)
    return Parley(store, translator, relay), translator


async def test_unavailable_primary_falls_back(store: Store, detector: LanguageDetector) -> None:
    primary, backup = paid_engine(), FakeEngine()
    primary.unavailable = 120.0
    _, translator = wire(store, detector, primary, backup)

    result = await translator.translate(TEXT, "en", "es", space=SPACE)

    assert result is not None
    assert result.engine == "fake"
    assert result.degraded_from == "paid"
    assert result.degraded_reason == "unavailable"


async def test_down_engine_not_hammered(store: Store, detector: LanguageDetector) -> None:
    primary, backup = paid_engine(), FakeEngine()
    primary.unavailable = 120.0
    _, translator = wire(store, detector, primary, backup)

    await translator.translate(TEXT, "en", "es", space=SPACE)
    await translator.translate(TEXT + " Again.", "en", "es", space=SPACE)
    ttl = await store.redis.ttl(f"{store.prefix}:engine-down:paid")

    assert len(primary.requests) == 1
    assert 100 < ttl <= 120


async def test_quota_marks_reason(store: Store, detector: LanguageDetector) -> None:
    from bot.core.errors import EngineUnavailableError

    primary, backup = paid_engine(), FakeEngine()

    async def out_of_quota(request: object) -> object:
        raise EngineUnavailableError("456 quota exceeded", quota=True)

    primary.translate = out_of_quota  # type: ignore[method-assign,assignment]
    _, translator = wire(store, detector, primary, backup)

    result = await translator.translate(TEXT, "en", "es", space=SPACE)

    assert result is not None
    assert result.degraded_reason == "quota"
    assert 3000 < await store.redis.ttl(f"{store.prefix}:engine-down:paid") <= 3600


async def test_one_notice_per_channel(store: Store, detector: LanguageDetector) -> None:
    primary, backup = paid_engine(), FakeEngine()
    primary.unavailable = 120.0
    parley, _ = wire(store, detector, primary, backup)
    chat = Chat(parley)
    await chat.command("chat-en", "link create", channels="chat-en:en chat-es:es")

    await chat.say("chat-en", "Ben", TEXT, id="m1")
    await chat.say("chat-en", "Ben", "We will bring sandwiches and something to drink.", id="m2")
    notices = [
        action
        for action in chat.sender.sent
        if action.kind == ActionKind.POST and action.display_name == "Parley"
    ]

    assert len(notices) == 1
    assert notices[0].channel == "chat-en"
    assert "paid is not answering" in notices[0].text


async def test_budget_spent_uses_fallback(store: Store, detector: LanguageDetector) -> None:
    primary, backup = paid_engine(), FakeEngine()
    parley, translator = wire(store, detector, primary, backup)
    chat = Chat(parley)
    await chat.command("chat-en", "budget set", characters="100")

    first = await translator.translate(TEXT, "en", "es", space=SPACE)
    second = await translator.translate(TEXT + " Again.", "en", "es", space=SPACE)

    assert first is not None and first.engine == "paid"
    assert second is not None and second.engine == "fake"
    assert second.degraded_reason == "budget"


async def test_usage_counts_per_engine(store: Store, detector: LanguageDetector) -> None:
    primary = paid_engine()
    parley, translator = wire(store, detector, primary)
    chat = Chat(parley)

    await translator.translate_many(TEXT, "en", ("es", "fr"), space=SPACE)
    replies = await chat.command("chat-en", "usage")

    assert "paid: 1 calls" in replies[0].text
    assert f"{2 * len(TEXT)} characters" in replies[0].text


async def test_engine_set_validates_names(store: Store, detector: LanguageDetector) -> None:
    parley, _ = wire(store, detector, paid_engine(), FakeEngine())
    chat = Chat(parley)

    bad = await chat.command("chat-en", "engine set", engines="deepl")
    good = await chat.command("chat-en", "engine set", engines="fake paid")
    settings = await chat.command("chat-en", "settings")

    assert "`deepl` is not a configured engine" in bad[0].text
    assert good[0].text == "Translation engines: fake → paid."
    assert "fake → paid" in settings[0].text


async def test_glossary_term_substituted(store: Store, detector: LanguageDetector) -> None:
    engine = FakeEngine()
    parley, translator = wire(store, detector, engine)
    chat = Chat(parley)
    await chat.command(
        "chat-en",
        "glossary add",
        source="en",
        target="es",
        term="pull request",
        translation="solicitud de cambios",
    )

    result = await translator.translate(
        "Please review my Pull Request today.", "en", "es", space=SPACE
    )

    assert result is not None
    assert "solicitud de cambios" in result.text
    assert "Pull Request" not in engine.requests[0].text


async def test_glossary_sent_to_glossary_engine(store: Store, detector: LanguageDetector) -> None:
    engine = FakeEngine()
    engine.uses_glossary = True
    parley, translator = wire(store, detector, engine)
    chat = Chat(parley)
    await chat.command(
        "chat-en", "glossary add", source="en", target="es", term="merge", translation="fusionar"
    )

    await translator.translate("Please merge it today.", "en", "es", space=SPACE)

    terms = engine.requests[0].glossaries["es"]
    assert [(term.source, term.target) for term in terms] == [("merge", "fusionar")]
    assert "merge" in engine.requests[0].text


async def test_glossary_commands_typed(store: Store, detector: LanguageDetector) -> None:
    from bot.core.commands import parse_command_text

    name, options = parse_command_text('/glossary add en es "pull request" "solicitud de cambios"')

    assert name == "glossary add"
    assert options == {
        "source": "en",
        "target": "es",
        "term": "pull request",
        "translation": "solicitud de cambios",
    }


async def test_one_request_for_many_targets(store: Store, detector: LanguageDetector) -> None:
    engine = FakeEngine()
    _, translator = wire(store, detector, engine)

    results = await translator.translate_many(TEXT, "en", ("es", "fr", "de"), space=SPACE)

    assert len(engine.requests) == 1
    assert engine.requests[0].targets == ("es", "fr", "de")
    assert sorted(results) == ["de", "es", "fr"]


async def test_context_passed_to_engine(store: Store, detector: LanguageDetector) -> None:
    engine = FakeEngine()
    parley, _ = wire(store, detector, engine)
    chat = Chat(parley)
    await chat.command("chat-en", "link create", channels="chat-en:en chat-es:es")

    await chat.say("chat-en", "Ben", "Who is bringing the umbrella tomorrow?", id="m1")
    await chat.say("chat-en", "Ana", TEXT, id="m2")

    assert engine.requests[-1].context == ("Who is bringing the umbrella tomorrow?",)


async def test_opted_out_author_skips_third_party(store: Store, detector: LanguageDetector) -> None:
    from bot.core.translate import Author

    remote, local = paid_engine(), FakeEngine()
    remote.third_party = True
    _, translator = wire(store, detector, remote, local)

    async def consent(platform: str, space: str, channel: str, user: str) -> bool:
        return user != "u-private"

    translator.consent = consent
    private = await translator.translate(
        TEXT, "en", "es", space=SPACE, author=Author("u-private", "chat-en")
    )
    public = await translator.translate(
        TEXT + " Again.", "en", "es", space=SPACE, author=Author("u-open", "chat-en")
    )

    assert private is not None and private.engine == "fake"
    assert private.degraded_reason == "privacy"
    assert public is not None and public.engine == "paid"
    assert [request.text for request in remote.requests] == [TEXT + " Again."]


async def test_overspent_budget_shows_zero(store: Store, detector: LanguageDetector) -> None:
    from bot.core.ports import EngineRequest, EngineResult

    class TokenEngine(FakeEngine):
        name = "llm"
        paid = True

        async def translate(self, request: EngineRequest) -> EngineResult:
            result = await super().translate(request)
            return EngineResult(result.translations, tokens=500)

    parley, translator = wire(store, detector, TokenEngine())
    chat = Chat(parley)
    await chat.command("chat-en", "budget set", tokens="100")

    await translator.translate(TEXT, "en", "es", space=SPACE)
    replies = await chat.command("chat-en", "usage")

    assert "0 tokens." in replies[0].text
    assert "-400" not in replies[0].text
