"""Linked channels: one message relayed to every other channel of the group, translated."""

from __future__ import annotations

from bot.core.actions import ActionKind
from bot.core.conversation import Parley
from tests.chat import Chat
from tests.fakes import FakeEngine

SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."
ENGLISH = "Tomorrow we are going to the beach with the whole family if the weather is good."


async def linked(parley: Parley) -> Chat:
    chat = Chat(parley)
    await chat.command("chat-en", "link create", channels="chat-en:en chat-es:es chat-fr:fr")
    return chat


async def test_relay_reaches_every_other_channel(parley: Parley) -> None:
    chat = await linked(parley)

    await chat.say("chat-es", "Ana", SPANISH, id="m1")

    posts = chat.posts()
    assert sorted(post.channel for post in posts) == ["chat-en", "chat-fr"]
    assert {post.language for post in posts} == {"en", "fr"}
    assert all(post.display_name == "Ana" for post in posts)
    assert all(post.origin == "m1" for post in posts)
    assert chat.texts("chat-en") == [f"[en] {SPANISH}"]


async def test_relay_never_mentions(parley: Parley) -> None:
    chat = await linked(parley)

    await chat.say("chat-en", "Ben", f"@everyone <@123> {ENGLISH}", id="m1")

    posts = chat.posts()
    assert len(posts) == 2
    assert all(post.may_mention is False for post in posts)
    assert all("@everyone <@123>" in post.text for post in posts)


async def test_duplicate_event_relays_once(parley: Parley) -> None:
    chat = await linked(parley)

    first = await chat.say("chat-en", "Ben", ENGLISH, id="m1", event_id="dup")
    second = await chat.say("chat-en", "Ben", ENGLISH, id="m1", event_id="dup")

    assert len(first.actions) == 2
    assert second.duplicate is True
    assert len(chat.posts()) == 2


async def test_bot_and_copies_are_not_relayed(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    copy_id = chat.sender.record.channel("discord", "s1", "chat-es")[0].id

    bot = await chat.say("chat-en", "OtherBot", ENGLISH, id="m2", bot=True)
    echo = await chat.say("chat-es", "Parley", "[es] copy", id=copy_id)

    assert bot.actions == []
    assert echo.actions == []
    assert len(chat.posts()) == 2


async def test_edit_updates_every_copy(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")

    outcome = await chat.edit("chat-en", "Ben", "m1", "We are going to the mountains instead.")

    edits = [action for action in outcome.actions if action.kind == ActionKind.EDIT]
    assert len(edits) == 2
    assert chat.texts("chat-es") == ["[es] We are going to the mountains instead."]
    assert chat.texts("chat-fr") == ["[fr] We are going to the mountains instead."]


async def test_unchanged_edit_does_nothing(parley: Parley, engine: FakeEngine) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    calls = len(engine.calls)

    outcome = await chat.edit("chat-en", "Ben", "m1", ENGLISH)

    assert outcome.actions == []
    assert len(engine.calls) == calls


async def test_delete_removes_every_copy(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")

    outcome = await chat.delete("chat-en", "m1")

    assert [action.kind for action in outcome.actions] == [ActionKind.DELETE] * 2
    assert chat.texts("chat-es") == []
    assert chat.texts("chat-fr") == []


async def test_reply_maps_to_copy(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.say("chat-en", "Ben", ENGLISH, id="m1")
    copy_in_es = chat.sender.record.channel("discord", "s1", "chat-es")[0].id

    await chat.say(
        "chat-fr",
        "Claire",
        "Bonne idée, je viens avec vous demain matin.",
        id="m2",
        reply_to="x-unknown",
    )
    await chat.say("chat-es", "Ana", SPANISH, id="m3", reply_to=copy_in_es)

    reply_in_en = [post for post in chat.posts("chat-en") if post.origin == "m3"]
    assert len(reply_in_en) == 1
    assert reply_in_en[0].target == "m1"


async def test_untranslatable_text_relayed_as_is(parley: Parley, engine: FakeEngine) -> None:
    chat = await linked(parley)

    await chat.say("chat-en", "Ben", "🎉🎉 https://example.org", id="m1")

    assert engine.calls == []
    assert [post.text for post in chat.posts()] == ["🎉🎉 https://example.org"] * 2


async def test_long_message_split_and_shrunk(parley: Parley) -> None:
    chat = await linked(parley)
    paragraph = "This sentence is long enough to fill the message quickly. " * 20
    long_text = "\n\n".join([paragraph.strip()] * 3)

    await chat.say("chat-en", "Ben", long_text, id="m1")
    parts = chat.texts("chat-es")
    outcome = await chat.edit("chat-en", "Ben", "m1", "Short now.")

    assert len(parts) >= 2
    assert all(len(part) <= 2000 for part in parts)
    assert chat.texts("chat-es") == ["[es] Short now."]
    assert ActionKind.DELETE in {action.kind for action in outcome.actions}


async def test_allowed_bot_is_relayed(parley: Parley) -> None:
    chat = await linked(parley)
    await chat.command("chat-en", "bots allow", user="<@u-newsbot>")

    outcome = await chat.say("chat-en", "NewsBot", ENGLISH, id="m1", bot=True)
    await chat.command("chat-en", "bots deny", user="u-newsbot")
    later = await chat.say("chat-en", "NewsBot", ENGLISH, id="m2", bot=True)

    assert len(outcome.actions) == 2
    assert later.actions == []
