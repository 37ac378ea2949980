"""Hostile probes of the learning features: privacy gates, erasure, export, XP gaming,
leagues and deck exports, driven through the wired core with a real Redis.

Tests that fail mark a bug found by these probes; the rest guard against regressions.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import sqlite3
import zipfile
from dataclasses import replace
from datetime import datetime

import pytest
from fsrs import State

from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.errors import UserError
from bot.core.events import Author, MessageCreated, Place
from bot.core.learning import Learning
from bot.core.learning.days import week_end
from bot.core.learning.export import deck_apkg, deck_csv
from bot.core.learning.review import StudyCard
from bot.core.relay import Relay
from bot.core.store import Store
from bot.core.translate import TranslationService
from bot.learning_setup import LearningParts, wire_learning
from tests.chat import Chat
from tests.core.learning.conftest import FakeClock
from tests.fakes import FakeEngine

ANA = Author("u-ana", "Ana")
BEN = Author("u-ben", "Ben")
ANA_TEXT = "Mañana vamos a la playa con mis primos secretos"
BEN_TEXT = "El tren de Ben llega tarde otra vez esta noche"
_ids = itertools.count(1)


# Fixtures: the core with learning wired in, and a hosted (third-party) fake engine.


@pytest.fixture
def remote(engine: FakeEngine) -> FakeEngine:
    engine.third_party = True
    return engine


@pytest.fixture
def wired(
    store: Store, remote: FakeEngine, detector: LanguageDetector
) -> tuple[Parley, LearningParts]:
    engines = {remote.name: remote}
    translator = TranslationService(store, engines)
    relay = Relay(store, translator, detector, remote.name)
    parley = Parley(store, translator, relay)
    parts = wire_learning(parley, store, translator, detector, engines)
    return parley, parts


@pytest.fixture
def chat(wired: tuple[Parley, LearningParts]) -> Chat:
    return Chat(wired[0])


@pytest.fixture
def parts(wired: tuple[Parley, LearningParts]) -> LearningParts:
    return wired[1]


def texts_sent(engine: FakeEngine) -> list[str]:
    """Return every text and context line the engine received."""
    sent: list[str] = []
    for request in engine.requests:
        sent.append(request.text)
        sent.extend(request.context)
    return sent


def leaked(engine: FakeEngine, text: str) -> bool:
    return any(text in sent for sent in texts_sent(engine))


async def multilingual(chat: Chat, channel: str = "lobby") -> None:
    await chat.command(channel, "channel languages", languages="en es")


# Privacy: opt-outs against third-party engines.


async def test_optout_blocks_own_message(chat: Chat, remote: FakeEngine) -> None:
    await multilingual(chat)
    await chat.command("lobby", "privacy optout", author=ANA)

    await chat.say("lobby", "Ana", ANA_TEXT, id="m1")

    assert not leaked(remote, ANA_TEXT)


async def test_optout_purges_context(chat: Chat, remote: FakeEngine) -> None:
    await multilingual(chat)
    await chat.say("lobby", "Ana", ANA_TEXT, id="m1")
    await chat.command("lobby", "privacy optout", author=ANA)
    remote.requests.clear()

    await chat.say("lobby", "Ben", BEN_TEXT, id="m2")

    assert remote.requests, "Ben's message should still be translated"
    assert not leaked(remote, ANA_TEXT)


async def test_optout_blocks_edit(chat: Chat, remote: FakeEngine) -> None:
    await multilingual(chat)
    await chat.command("lobby", "privacy optout", author=ANA)
    await chat.say("lobby", "Ana", ANA_TEXT, id="m1")

    await chat.edit("lobby", "Ana", "m1", ANA_TEXT + " y tíos")

    assert not leaked(remote, "y tíos")


async def test_optout_blocks_flag_by_other(chat: Chat, remote: FakeEngine) -> None:
    await multilingual(chat)
    await chat.command("lobby", "privacy optout", author=ANA)
    await chat.say("lobby", "Ana", ANA_TEXT, id="m1")

    await chat.react("lobby", "Ben", "m1", "🇫🇷")

    assert not leaked(remote, ANA_TEXT)


async def test_optout_blocks_translate_by_other(chat: Chat, remote: FakeEngine) -> None:
    await multilingual(chat)
    await chat.command("lobby", "privacy optout", author=ANA)
    await chat.say("lobby", "Ana", ANA_TEXT, id="m1")

    await chat.command("lobby", "translate", author=BEN, message="m1", language="fr")

    assert not leaked(remote, ANA_TEXT)


async def test_optout_blocks_menu_translate(chat: Chat, remote: FakeEngine) -> None:
    # Discord's "Translate" message menu passes the text of a message Parley never
    # stored (a channel without set-up), with no author.
    await chat.command("plain", "privacy optout", author=ANA)

    await chat.command("plain", "translate", author=BEN, message="m9", text=ANA_TEXT)

    assert not leaked(remote, ANA_TEXT)


async def test_optout_covers_linked_account(
    wired: tuple[Parley, LearningParts], remote: FakeEngine
) -> None:
    parley, parts = wired
    code = await parts.learning.links.create_code("discord", "u-ana")
    await parts.learning.links.redeem("slack", "u-ana", code, "Ana")
    discord, slack = Chat(parley), Chat(parley, platform="slack")
    await slack.command("lobby", "channel languages", languages="en es")
    await discord.command("lobby", "privacy optout", author=ANA)

    await slack.say("lobby", "Ana", ANA_TEXT, id="m1")

    assert not leaked(remote, ANA_TEXT)


async def populate_ana(parley: Parley, parts: LearningParts) -> Chat:
    """Give Ana data of every kind: linked accounts, XP, streak, league, cards, review
    log, messages with copies, reading language, reminders, placement and a link code."""
    discord, slack = Chat(parley), Chat(parley, platform="slack")
    code = await parts.learning.links.create_code("discord", "u-ana")
    await parts.learning.links.redeem("slack", "u-ana", code, "Ana")

    await discord.command("chat-es", "link create", channels="chat-en:en chat-es:es")
    await slack.command("lobby", "channel languages", languages="en es")
    await discord.command("chat-es", "profile set", author=ANA, targets="es", native="en")
    await discord.command("chat-es", "language set", author=ANA, language="fr")
    await discord.command("chat-es", "cards add", author=ANA, front="la ola", back="wave")
    await discord.command("chat-es", "review", author=ANA)
    await discord.command("chat-es", "review reveal", author=ANA)
    await discord.command("chat-es", "review rate", author=ANA, rating="good")
    await discord.command("chat-es", "reminders on", author=ANA, hour="19")
    await discord.command("chat-es", "placement start", author=ANA, language="es")

    await discord.say("chat-es", "Ana", ANA_TEXT, id="m1")
    await discord.say("chat-es", "Ben", BEN_TEXT, id="m2")
    await slack.say("lobby", "Ana", "Los gatos del barrio duermen mucho", id="s1")
    await discord.react("chat-es", "Ben", "m1", "🇫🇷")
    await parts.learning.links.create_code("discord", "u-ana")
    return discord


async def dump_all(store: Store) -> dict[str, str]:
    """Return every key under the test prefix with its value as text."""
    redis = store.redis
    found: dict[str, str] = {}
    async for key in redis.scan_iter(match=f"{store.prefix}:*", count=1000):
        kind = await redis.type(key)
        if kind == "string":
            value = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1)
        else:
            value = kind
        found[key] = json.dumps(value, ensure_ascii=False)
    return found


async def test_forget_leaves_no_ids(wired: tuple[Parley, LearningParts], store: Store) -> None:
    parley, parts = wired
    discord = await populate_ana(parley, parts)

    await discord.command("chat-es", "privacy forget", author=ANA, confirm="confirm")

    everything = await dump_all(store)
    holders = sorted(key for key, value in everything.items() if "u-ana" in key + value)
    assert holders == [], holders


async def test_forget_leaves_no_text(wired: tuple[Parley, LearningParts], store: Store) -> None:
    parley, parts = wired
    discord = await populate_ana(parley, parts)

    await discord.command("chat-es", "privacy forget", author=ANA, confirm="confirm")

    everything = await dump_all(store)
    # The translation cache keeps texts by design until its TTL (see Privacy.forget), and
    # a result shared between processes lives 10 s.
    holders = sorted(
        key
        for key, value in everything.items()
        if ":cache:" not in key
        and ":shared:" not in key
        and ("primos secretos" in value or "gatos del barrio" in value)
    )
    assert holders == [], holders


async def test_forget_keeps_ben(wired: tuple[Parley, LearningParts], store: Store) -> None:
    parley, parts = wired
    discord = await populate_ana(parley, parts)

    await discord.command("chat-es", "privacy forget", author=ANA, confirm="confirm")

    everything = await dump_all(store)
    assert any("Ben llega tarde" in value for value in everything.values())


async def export_of(chat: Chat, author: Author, **options: str) -> dict:
    actions = await chat.command("chat-es", "privacy export", author=author, **options)
    attachment = next(a.attachment for a in actions if getattr(a, "attachment", None))
    return json.loads(attachment.data)


async def test_export_holds_everything(wired: tuple[Parley, LearningParts]) -> None:
    parley, parts = wired
    discord = await populate_ana(parley, parts)

    document = json.dumps(await export_of(discord, ANA), ensure_ascii=False)

    assert "primos secretos" in document
    assert "gatos del barrio" in document
    assert "la ola" in document
    assert ":placement" in document
    assert ":revlog" in document
    assert '"lang": "fr"' in document


async def test_export_excludes_others(wired: tuple[Parley, LearningParts]) -> None:
    parley, parts = wired
    discord = await populate_ana(parley, parts)

    document = json.dumps(await export_of(discord, ANA), ensure_ascii=False)

    assert "u-ben" not in document
    assert "Ben llega tarde" not in document


async def test_export_rejects_user_option(wired: tuple[Parley, LearningParts]) -> None:
    parley, parts = wired
    discord = await populate_ana(parley, parts)

    actions = await discord.command("chat-es", "privacy export", author=BEN, user="u-ana")

    assert all(getattr(action, "attachment", None) is None for action in actions)
    assert not any("primos secretos" in action.text for action in actions)


async def test_forget_rejects_user_option(
    wired: tuple[Parley, LearningParts], store: Store
) -> None:
    parley, parts = wired
    discord = await populate_ana(parley, parts)

    await discord.command("chat-es", "privacy forget", author=BEN, confirm="confirm", user="u-ana")

    assert (await parts.learning.xp.summary("discord:u-ana")).total > 0


# XP gaming, through the XP observer with a fake clock.


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.fromisoformat("2025-01-15T12:00:00+00:00"))


@pytest.fixture
def learning(store: Store, clock: FakeClock) -> Learning:
    return Learning(store, clock=clock)


def message(text: str, *, channel: str = "c1", user: str = "u-ana") -> MessageCreated:
    number = next(_ids)
    return MessageCreated(
        f"e{number}", Place("discord", "s1", channel), Author(user, "Ana"), f"m{number}", text
    )


async def total_xp(learning: Learning, learner: str = "discord:u-ana") -> int:
    return (await learning.xp.summary(learner)).total


async def test_repeated_text_earns_once(learning: Learning, clock: FakeClock) -> None:
    await learning.profiles.update("discord:u-ana", {"targets": "es"})

    for _ in range(5):
        await learning.observer.message_seen(message(ANA_TEXT), "es", True)
        clock.advance(31)

    assert await total_xp(learning) == 3


async def test_concurrent_messages_one_award(learning: Learning) -> None:
    await learning.profiles.update("discord:u-ana", {"targets": "es"})

    await asyncio.gather(
        *(learning.observer.message_seen(message(f"{ANA_TEXT} {n}"), "es", True) for n in range(8))
    )

    assert await total_xp(learning) == 3


async def test_emoji_only_no_xp(learning: Learning) -> None:
    await learning.profiles.update("discord:u-ana", {"targets": "es"})

    await learning.observer.message_seen(message("🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉"), "es", True)

    assert await total_xp(learning) == 0


async def test_timezone_switch_keeps_cap(learning: Learning, clock: FakeClock) -> None:
    learner = "discord:u-ana"
    await learning.profiles.update(learner, {"targets": "es", "timezone": "Pacific/Kiritimati"})
    for n in range(25):
        await learning.observer.message_seen(message(f"{ANA_TEXT} {n}"), "es", True)
        clock.advance(31)
    capped = await total_xp(learning)

    with pytest.raises(UserError) as refused:
        await learning.profiles.update(learner, {"timezone": "Pacific/Pago_Pago"})
    for n in range(25):
        await learning.observer.message_seen(message(f"{ANA_TEXT} x{n}"), "es", True)
        clock.advance(31)

    assert capped == 60
    assert refused.value.key == "learning.error.clock_change"
    assert await total_xp(learning) == 60


async def test_timezone_switch_one_streak_day(learning: Learning, clock: FakeClock) -> None:
    learner = "discord:u-ana"
    await learning.profiles.update(learner, {"targets": "es", "timezone": "Pacific/Pago_Pago"})
    await learning.award(learner, "game", 1, "g1")
    clock.advance(60)

    await learning.profiles.update(learner, {"timezone": "Pacific/Kiritimati"})
    result = await learning.award(learner, "game", 1, "g2")

    assert result.streak == 1


async def test_gibberish_no_xp_linked(chat: Chat, parts: LearningParts) -> None:
    await chat.command("chat-es", "link create", channels="chat-en:en chat-es:es")
    await chat.command("chat-es", "profile set", author=ANA, targets="es")

    await chat.say("chat-es", "Ana", "aaaaaaaaaaaaaaaaaaaaaaaa", id="m1")

    assert (await parts.learning.xp.summary("discord:u-ana")).total == 0


async def test_english_no_xp_linked_es(chat: Chat, parts: LearningParts) -> None:
    await chat.command("chat-es", "link create", channels="chat-fr:fr chat-es:es")
    await chat.command("chat-es", "profile set", author=ANA, targets="es")

    await chat.say("chat-es", "Ana", "I am writing plain English here today", id="m1")

    assert (await parts.learning.xp.summary("discord:u-ana")).total == 0


async def test_rate_needs_reveal(chat: Chat, parts: LearningParts) -> None:
    await chat.command("c1", "cards add", author=ANA, front="la ola", back="wave", language="es")
    await chat.command("c1", "review", author=ANA)

    replies = await chat.command("c1", "review rate", author=ANA, rating="easy")

    assert "reveal" in replies[0].text.lower()
    assert (await parts.learning.xp.summary("discord:u-ana")).total == 0


async def test_rate_twice_counts_once(chat: Chat, parts: LearningParts) -> None:
    await chat.command("c1", "cards add", author=ANA, front="la ola", back="wave", language="es")
    await chat.command("c1", "review", author=ANA)
    await chat.command("c1", "review reveal", author=ANA)

    await chat.command("c1", "review rate", author=ANA, rating="good")
    await chat.command("c1", "review rate", author=ANA, rating="good")

    assert (await parts.learning.xp.summary("discord:u-ana")).total == 1


async def test_review_xp_capped(chat: Chat, parts: LearningParts) -> None:
    # Junk cards are free to add and due at once, so uncapped review XP buys the boards.
    for n in range(70):
        await chat.command(
            "c1", "cards add", author=ANA, front=f"junk {n}", back="x", language="es"
        )
        await chat.command("c1", "review", author=ANA)
        await chat.command("c1", "review reveal", author=ANA)
        await chat.command("c1", "review rate", author=ANA, rating="easy")

    assert (await parts.learning.xp.summary("discord:u-ana")).total <= 60


# Leagues.


async def earn(learning: Learning, learner: str, xp: int) -> None:
    await learning.profiles.update(learner, {"targets": "es"})
    await learning.award(
        learner, "game", xp, f"g{next(_ids)}", space=("discord", "s1"), language="es"
    )


async def test_lone_learner_stays(learning: Learning, clock: FakeClock) -> None:
    await earn(learning, "discord:ana", 50)
    clock.now = week_end("2025-W03") + 60

    result = await learning.leagues.rollover("discord", "s1", "2025-W03")

    assert result is not None
    assert result.promoted == ()


async def test_late_rollover_keeps_newer(learning: Learning, clock: FakeClock) -> None:
    # Week 3: ana leads. Week 4: cy leads. Week 4 is rolled first, week 3 late.
    for learner, xp in (("discord:ana", 30), ("discord:ben", 20), ("discord:cy", 10)):
        await earn(learning, learner, xp)
    clock.now = week_end("2025-W03") + 60
    for learner, xp in (("discord:ana", 10), ("discord:ben", 20), ("discord:cy", 30)):
        await earn(learning, learner, xp)
    clock.now = week_end("2025-W04") + 60

    await learning.leagues.rollover("discord", "s1", "2025-W04")
    await learning.leagues.rollover("discord", "s1", "2025-W03")

    assert await learning.leagues.tier("discord", "s1", "discord:cy") == 1


async def test_rollover_future_week_rejected(learning: Learning) -> None:
    with pytest.raises(ValueError, match="has not ended"):
        await learning.leagues.rollover("discord", "s1", "2025-W09")


# Deck exports.


def hostile_card(front: str, back: str) -> StudyCard:
    moment = datetime.fromisoformat("2025-01-15T12:00:00+00:00")
    return StudyCard(
        id=1,
        front=front,
        back=back,
        language="es",
        source="saved",
        state=State.Learning,
        step=0,
        stability=None,
        difficulty=None,
        due=moment,
        last_review=None,
        reps=0,
        lapses=0,
        created=moment,
    )


def test_csv_no_formula_cells() -> None:
    card = hostile_card('=HYPERLINK("http://127.0.0.1/x","hi")', "+1+2")
    attachment = deck_csv([card], datetime(2025, 1, 15))

    rows = list(csv.reader(io.StringIO(attachment.data.decode())))

    assert rows[1][0][0] not in "=+-@"
    assert rows[1][1][0] not in "=+-@"


def test_apkg_escapes_html() -> None:
    card = hostile_card("<script>alert(1)</script>", '<img src=x onerror="alert(2)">')
    attachment = deck_apkg("discord:u-ana", [card], datetime(2025, 1, 15))

    with zipfile.ZipFile(io.BytesIO(attachment.data)) as package:
        collection = package.read("collection.anki2")
    connection = sqlite3.connect(":memory:")
    connection.deserialize(collection)
    fields = connection.execute("select flds from notes").fetchone()[0]

    assert "<script>" not in fields
    assert "<img" not in fields


async def test_card_limit_enforced(chat: Chat, parts: LearningParts) -> None:
    from bot.core.learning.review import MAX_CARDS

    learner = "discord:u-ana"
    redis = parts.reviews.redis
    await redis.hset(
        parts.reviews.key(learner, "cards"),
        mapping={str(n): "{}" for n in range(MAX_CARDS)},
    )

    replies = await chat.command(
        "c1", "cards add", author=ANA, front="una más", back="one more", language="es"
    )

    assert str(MAX_CARDS) in replies[0].text


# Adapter-shaped events that reach the core.


async def test_edit_unknown_message_ignored(chat: Chat, remote: FakeEngine) -> None:
    outcome = await chat.edit("nowhere", "Ana", "m404", ANA_TEXT)

    assert outcome.actions == []
    assert remote.requests == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("goal", "1" + "0" * 40),
        ("day_start", "99"),
        ("timezone", "../../etc/passwd"),
        ("targets", "xx," * 500),
    ],
)
async def test_profile_rejects_absurd(
    chat: Chat, parts: LearningParts, option: str, value: str
) -> None:
    before = await parts.learning.profiles.get("discord:u-ana")

    await chat.command("c1", "profile set", author=ANA, **{option: value})

    # The command records the display name even when it rejects the options.
    after = await parts.learning.profiles.get("discord:u-ana")
    assert replace(after, name=None) == replace(before, name=None)


async def test_non_admin_link_rejected(chat: Chat, store: Store) -> None:
    replies = await chat.command("c1", "link create", author=ANA, channels="c1:en c2:es")

    assert "admins" in replies[0].text
    assert await store.channel_config(Place("discord", "s1", "c1")) is None
