"""Multilingual channels: each message gets replies in the channel's other languages."""

from __future__ import annotations

from bot.core.actions import ActionKind
from bot.core.conversation import Parley
from tests.chat import Chat
from tests.fakes import FakeEngine

SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."


async def multilingual(parley: Parley, style: str = "reply") -> Chat:
    chat = Chat(parley)
    await chat.command("lobby", "channel languages", languages="en es fr", style=style)
    return chat


async def test_replies_in_other_languages(parley: Parley) -> None:
    chat = await multilingual(parley)

    await chat.say("lobby", "Ana", SPANISH, id="m1")

    posts = chat.posts("lobby")
    assert sorted(post.language or "" for post in posts) == ["en", "fr"]
    assert all(post.target == "m1" for post in posts)
    assert all(post.display_name == "Parley" for post in posts)


async def test_thread_style_posts_in_thread(parley: Parley) -> None:
    chat = await multilingual(parley, style="thread")

    await chat.say("lobby", "Ana", SPANISH, id="m1")

    posts = chat.posts("lobby")
    assert len(posts) == 2
    assert all(post.thread == "m1" for post in posts)
    assert all(post.target is None for post in posts)


async def test_engine_failure_posts_nothing(parley: Parley, engine: FakeEngine) -> None:
    chat = await multilingual(parley)
    engine.fail = True

    outcome = await chat.say("lobby", "Ana", SPANISH, id="m1")

    assert outcome.actions == []


async def test_edit_into_other_language_removes_copy(parley: Parley) -> None:
    chat = await multilingual(parley)
    await chat.say("lobby", "Ana", SPANISH, id="m1")

    outcome = await chat.edit(
        "lobby", "Ana", "m1", "Tomorrow we are going to the beach with the whole family."
    )

    kinds = sorted(str(action.kind) for action in outcome.actions)
    assert kinds == ["delete", "edit", "post"]
    languages = sorted(
        post.language or "" for post in chat.posts("lobby") if post.kind == ActionKind.POST
    )
    assert languages == ["en", "es", "fr"]
    visible = chat.texts("lobby")
    assert len(visible) == 2


async def test_flag_reaction_translates_once(parley: Parley) -> None:
    chat = Chat(parley)
    await chat.command("lobby", "channel languages", languages="en es")
    await chat.say("lobby", "Ana", SPANISH, id="m1")

    first = await chat.react("lobby", "Ben", "m1", "🇫🇷")
    second = await chat.react("lobby", "Claire", "m1", "🇫🇷")

    assert len(first.actions) == 1
    assert first.actions[0].language == "fr"
    assert first.actions[0].thread == "m1"
    assert second.actions == []


async def test_unset_channel_is_quiet(parley: Parley, engine: FakeEngine) -> None:
    chat = Chat(parley)

    outcome = await chat.say("elsewhere", "Ana", SPANISH, id="m1")

    assert outcome.actions == []
    assert engine.calls == []
