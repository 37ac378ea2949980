"""The learning features wired into the core: commands, XP from messages, the privacy gate."""

from __future__ import annotations

import time

from bot.core.conversation import Parley
from bot.core.detect import LanguageDetector
from bot.core.events import Author
from bot.core.store import Store
from bot.learning_setup import wire_learning
from tests.chat import Chat
from tests.fakes import FakeEngine

BEN = Author("u-ben", "Ben", locale="en")
SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."


async def wired_chat(
    parley: Parley, store: Store, detector: LanguageDetector, engine: FakeEngine
) -> Chat:
    wire_learning(parley, store, parley.translator, detector, {engine.name: engine})
    chat = Chat(parley)
    await chat.command("chat-en", "link create", channels="chat-en:en chat-es:es")
    await chat.command("chat-es", "profile set", author=BEN, native="en", targets="es")
    return chat


async def test_message_earns_xp(
    parley: Parley, store: Store, detector: LanguageDetector, engine: FakeEngine
) -> None:
    chat = await wired_chat(parley, store, detector, engine)

    await chat.say("chat-es", "Ben", SPANISH, id="m1")
    (reply,) = await chat.command("chat-es", "xp", author=BEN)

    assert "Today: 3 / 30 XP" in reply.text


async def test_progress_sends_chart(
    parley: Parley, store: Store, detector: LanguageDetector, engine: FakeEngine
) -> None:
    chat = await wired_chat(parley, store, detector, engine)
    await chat.say("chat-es", "Ben", SPANISH, id="m1")

    (reply,) = await chat.command("chat-es", "progress", author=BEN)

    assert reply.attachment is not None
    assert reply.attachment.data.startswith(b"\x89PNG")
    assert "you earned 3 XP" in reply.text


async def test_optout_keeps_text_local(
    parley: Parley, store: Store, detector: LanguageDetector, engine: FakeEngine
) -> None:
    engine.third_party = True
    chat = await wired_chat(parley, store, detector, engine)
    await chat.command("chat-es", "privacy optout", author=BEN)

    outcome = await chat.say("chat-es", "Ben", SPANISH, id="m1")

    assert engine.requests == []
    assert [action.text for action in outcome.actions] == [SPANISH]


async def test_recap_posts_last_week(
    parley: Parley, store: Store, detector: LanguageDetector, engine: FakeEngine
) -> None:
    from bot.adapters.console.sender import RecordingSender
    from bot.core.learning.days import iso_week
    from bot.jobs import OutboxDrainer
    from workers.learning import post_recap

    chat = await wired_chat(parley, store, detector, engine)
    await chat.command("chat-es", "recap", state="on")
    await chat.say("chat-es", "Ben", SPANISH, id="m1")
    sender = RecordingSender()

    queued = await post_recap(store, "discord", "s1", iso_week(time.time()))
    await OutboxDrainer(store, parley, "discord", sender, consumer="t").drain_once(block_ms=100)

    assert queued is True
    assert [action.channel for action in sender.sent] == ["chat-es"]
    assert "1. Ben: 3 XP" in sender.sent[0].text
