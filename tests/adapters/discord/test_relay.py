"""Linked channels on Discord: relays through webhooks, edits, deletes and ignored authors."""

from __future__ import annotations

import logging

import pytest

from tests.adapters.discord import gateway
from tests.adapters.discord.conftest import Harness
from tests.adapters.discord.fake_discord import body_text, dumps

# Executions of the relay webhooks; the application's own webhook carries interaction replies.
HOOK_EXECUTE = rf"/webhooks/(?!{gateway.APPLICATION_ID}/)\d+/hook-token-\d+"
HOOK_MESSAGE = r"/webhooks/\d+/hook-token-\d+/messages/(\d+)"
TEXT = "Hello everyone, who is coming to the meeting tomorrow?"
NO_MENTIONS = {"parse": []}


async def say(harness: Harness, channel: str, text: str, *, by: str = "ben") -> int:
    message_id = harness.next_id()
    await harness.feed("MESSAGE_CREATE", gateway.message_create(message_id, channel, text, by=by))
    return message_id


def relayed(harness: Harness) -> dict[str, dict[str, object]]:
    """Return the messages the relay webhooks posted, by id."""
    return {
        message["id"]: message
        for message in harness.fake.messages.values()
        if message.get("webhook_id") not in (None, str(gateway.APPLICATION_ID))
    }


async def test_relay_per_channel(harness: Harness) -> None:
    await harness.link_chats()
    await say(harness, "chat-en", TEXT)

    calls = harness.fake.calls("POST", HOOK_EXECUTE)
    assert len(calls) == 2, dumps(harness.fake.requests)
    by_text = {body_text(call): call for call in calls}
    assert set(by_text) == {f"[es] {TEXT}", f"[fr] {TEXT}"}
    for call in calls:
        assert call.body["username"] == "Ben"
        assert call.body["allowed_mentions"] == NO_MENTIONS
        assert call.body["avatar_url"].startswith(
            f"https://cdn.discordapp.com/avatars/{gateway.USERS['ben']}/"
        )
        assert call.query["wait"] == "1"


async def test_relay_webhook_per_channel(harness: Harness) -> None:
    await harness.link_chats()
    await say(harness, "chat-en", TEXT)
    await say(harness, "chat-es", "Yo voy, y llevo el café para todos.", by="ana")

    created = harness.fake.calls("POST", r"/channels/(\d+)/webhooks")
    channels = sorted(call.path.split("/")[2] for call in created)
    assert channels == sorted(
        str(gateway.CHANNEL_IDS[name]) for name in ("chat-en", "chat-es", "chat-fr")
    )
    assert all(call.body == {"name": "Parley"} for call in created)
    assert len(harness.fake.calls("POST", HOOK_EXECUTE)) == 4


async def test_relay_uses_existing_webhook(harness: Harness) -> None:
    await harness.link_chats()
    await say(harness, "chat-en", TEXT)
    for channel_id in gateway.CHANNEL_IDS.values():  # as after a restart
        harness.adapter.sender.webhooks.forget(channel_id)

    await say(harness, "chat-en", "The meeting starts at ten in the small room.")

    assert len(harness.fake.calls("POST", r"/channels/\d+/webhooks")) == 2
    assert len(harness.fake.calls("POST", HOOK_EXECUTE)) == 4


async def test_edit_updates_copies(harness: Harness) -> None:
    await harness.link_chats()
    message_id = await say(harness, "chat-en", TEXT)
    copies = set(relayed(harness))

    edited = "Hello everyone, who is coming to the meeting today?"
    await harness.feed("MESSAGE_UPDATE", gateway.message_update(message_id, "chat-en", edited))

    edits = harness.fake.calls("PATCH", HOOK_MESSAGE)
    assert len(edits) == 2, dumps(harness.fake.requests)
    assert {call.path.rsplit("/", 1)[1] for call in edits} == copies
    assert {body_text(call) for call in edits} == {f"[es] {edited}", f"[fr] {edited}"}
    assert all(call.body["allowed_mentions"] == NO_MENTIONS for call in edits)


async def test_edit_redelivered_once(harness: Harness) -> None:
    await harness.link_chats()
    message_id = await say(harness, "chat-en", TEXT)
    update = gateway.message_update(message_id, "chat-en", "Hello, who is coming today?")

    await harness.feed("MESSAGE_UPDATE", update)
    await harness.feed("MESSAGE_UPDATE", update)

    assert len(harness.fake.calls("PATCH", HOOK_MESSAGE)) == 2


async def test_embed_unfurl_ignored(harness: Harness) -> None:
    await harness.link_chats()
    text = f"{TEXT} https://example.org/"
    message_id = await say(harness, "chat-en", text)
    before = len(harness.fake.writes())

    update = gateway.embed_unfurl_update(message_id, "chat-en", text, by="ben")
    await harness.feed("MESSAGE_UPDATE", update)

    assert len(harness.fake.writes()) == before


async def test_delete_removes_copies(harness: Harness) -> None:
    await harness.link_chats()
    message_id = await say(harness, "chat-en", TEXT)
    copies = set(relayed(harness))

    await harness.feed("MESSAGE_DELETE", gateway.message_delete(message_id, "chat-en"))

    deletes = harness.fake.calls("DELETE", HOOK_MESSAGE)
    assert {call.path.rsplit("/", 1)[1] for call in deletes} == copies
    assert relayed(harness) == {}


async def test_bulk_delete_removes_copies(harness: Harness) -> None:
    await harness.link_chats()
    first = await say(harness, "chat-en", TEXT)
    second = await say(harness, "chat-en", "The meeting starts at ten in the small room.")

    await harness.feed(
        "MESSAGE_DELETE_BULK",
        {
            "ids": [str(first), str(second)],
            "channel_id": str(gateway.CHANNEL_IDS["chat-en"]),
            "guild_id": str(gateway.GUILD_ID),
        },
    )

    assert len(harness.fake.calls("DELETE", HOOK_MESSAGE)) == 4


async def test_reply_relayed_with_link(harness: Harness) -> None:
    await harness.link_chats()
    await say(harness, "chat-en", TEXT)
    copy_in_es = next(
        message
        for message in relayed(harness).values()
        if message["channel_id"] == str(gateway.CHANNEL_IDS["chat-es"])
    )
    reply = gateway.message_create(
        harness.next_id(),
        "chat-es",
        "Yo voy, y llevo el café para todos.",
        by="ana",
        type=19,
        message_reference={
            "type": 0,
            "message_id": copy_in_es["id"],
            "channel_id": copy_in_es["channel_id"],
            "guild_id": str(gateway.GUILD_ID),
        },
    )

    await harness.feed("MESSAGE_CREATE", reply)

    to_english = [
        call
        for call in harness.fake.calls("POST", HOOK_EXECUTE)
        if body_text(call).startswith("-# ↪ ")
    ]
    assert len(to_english) == 2, dumps(harness.fake.requests)
    first_line = body_text(to_english[0]).splitlines()[0]
    assert first_line.startswith(f"-# ↪ https://discord.com/channels/{gateway.GUILD_ID}/")


async def test_relay_without_webhook_permission(harness: Harness) -> None:
    await harness.link_chats()
    harness.fake.forbid_webhooks = True

    await say(harness, "chat-en", TEXT)

    posts = harness.fake.calls("POST", r"/channels/\d+/messages")
    assert sorted(body_text(call) for call in posts) == [
        f"**Ben**: [es] {TEXT}",
        f"**Ben**: [fr] {TEXT}",
    ]
    assert all(call.body["allowed_mentions"] == NO_MENTIONS for call in posts)


async def test_other_bot_ignored(harness: Harness) -> None:
    await harness.link_chats()
    before = len(harness.fake.writes())

    await say(harness, "chat-en", TEXT, by="otherbot")

    assert len(harness.fake.writes()) == before


async def test_own_messages_ignored(harness: Harness) -> None:
    await harness.link_chats()
    await say(harness, "chat-en", TEXT)
    before = len(harness.fake.writes())
    copy = next(iter(relayed(harness).values()))

    own = gateway.message_create(harness.next_id(), "chat-en", "Parley speaking", by="ana")
    own["author"] = gateway.bot_user()
    await harness.feed("MESSAGE_CREATE", own)
    await harness.feed(
        "MESSAGE_CREATE", {**copy, "guild_id": str(gateway.GUILD_ID), "id": str(harness.next_id())}
    )

    assert len(harness.fake.writes()) == before


async def test_unlinked_channel_quiet(harness: Harness) -> None:
    await say(harness, "general", TEXT)

    assert harness.fake.writes() == []


async def test_missing_intent_warning(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await harness.link_chats()
    before = len(harness.fake.writes())
    caplog.set_level(logging.WARNING, logger="bot.adapters.discord")

    for _ in range(3):
        await say(harness, "chat-en", "")

    warnings = [
        record for record in caplog.records if record.name == "bot.adapters.discord.intents"
    ]
    assert len(warnings) == 1
    assert "Message Content Intent" in warnings[0].getMessage()
    assert str(gateway.GUILD_ID) in warnings[0].getMessage()
    assert len(harness.fake.writes()) == before


async def test_attachment_only_quiet(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await harness.link_chats()
    before = len(harness.fake.writes())
    caplog.set_level(logging.WARNING, logger="bot.adapters.discord")
    photo = gateway.message_create(harness.next_id(), "chat-en", "", by="ben")
    photo["attachments"] = [
        {
            "id": str(harness.next_id()),
            "filename": "beach.jpg",
            "size": 52311,
            "url": "https://cdn.discordapp.com/attachments/1/2/beach.jpg",
            "proxy_url": "https://media.discordapp.net/attachments/1/2/beach.jpg",
            "content_type": "image/jpeg",
            "width": 800,
            "height": 600,
        }
    ]

    await harness.feed("MESSAGE_CREATE", photo)

    assert caplog.records == []
    assert len(harness.fake.writes()) == before
