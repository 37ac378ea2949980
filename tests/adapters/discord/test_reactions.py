"""Flag reactions on Discord: a translation in a thread on the reacted message."""

from __future__ import annotations

from tests.adapters.discord import gateway
from tests.adapters.discord.conftest import Harness
from tests.adapters.discord.fake_discord import body_text, dumps

TEXT = "Hello everyone, who is coming to the meeting tomorrow?"
CHAT_EN = gateway.CHANNEL_IDS["chat-en"]


async def old_message(harness: Harness) -> int:
    """Post a message in linked #chat-en that only the core still holds.

    The adapter's client keeps no message cache, as after a restart, so the reaction reaches
    the adapter as a raw event only.
    """
    await harness.link_chats()
    message_id = harness.next_id()
    await harness.feed(
        "MESSAGE_CREATE", gateway.message_create(message_id, "chat-en", TEXT, by="ben")
    )
    assert len(harness.client.cached_messages) == 0
    return message_id


async def test_flag_on_old_message(harness: Harness) -> None:
    message_id = await old_message(harness)

    await harness.feed("MESSAGE_REACTION_ADD", gateway.reaction_add(message_id, "chat-en", "🇫🇷"))

    (thread,) = harness.fake.calls("POST", rf"/channels/{CHAT_EN}/messages/{message_id}/threads")
    assert thread.body["name"] == "Parley"
    (post,) = harness.fake.calls("POST", rf"/channels/{message_id}/messages")
    assert body_text(post) == f"[fr] {TEXT}"
    assert post.body["allowed_mentions"] == {"parse": []}


async def test_flags_share_thread(harness: Harness) -> None:
    message_id = await old_message(harness)

    await harness.feed("MESSAGE_REACTION_ADD", gateway.reaction_add(message_id, "chat-en", "🇫🇷"))
    await harness.feed(
        "MESSAGE_REACTION_ADD", gateway.reaction_add(message_id, "chat-en", "🇩🇪", by="ana")
    )

    assert len(harness.fake.calls("POST", r"/channels/\d+/messages/\d+/threads")) == 1
    posts = harness.fake.calls("POST", rf"/channels/{message_id}/messages")
    assert [body_text(post) for post in posts] == [f"[fr] {TEXT}", f"[de] {TEXT}"]


async def test_flag_thread_made_elsewhere(harness: Harness) -> None:
    message_id = await old_message(harness)
    # Someone opened a thread on the message before Parley did.
    harness.fake.channels[message_id] = gateway.thread_channel(message_id, CHAT_EN, "Plans")

    await harness.feed("MESSAGE_REACTION_ADD", gateway.reaction_add(message_id, "chat-en", "🇫🇷"))

    posts = harness.fake.calls("POST", rf"/channels/{message_id}/messages")
    assert [body_text(post) for post in posts] == [f"[fr] {TEXT}"], dumps(harness.fake.requests)


async def test_other_emoji_ignored(harness: Harness) -> None:
    message_id = await old_message(harness)
    before = len(harness.fake.writes())

    await harness.feed("MESSAGE_REACTION_ADD", gateway.reaction_add(message_id, "chat-en", "👍"))

    assert len(harness.fake.writes()) == before


async def test_delete_removes_flag_translation(harness: Harness) -> None:
    message_id = await old_message(harness)
    await harness.feed("MESSAGE_REACTION_ADD", gateway.reaction_add(message_id, "chat-en", "🇫🇷"))
    (translation,) = [
        message
        for message in harness.fake.messages.values()
        if message["channel_id"] == str(message_id)
    ]

    await harness.feed("MESSAGE_DELETE", gateway.message_delete(message_id, "chat-en"))

    (delete,) = harness.fake.calls("DELETE", r"/channels/\d+/messages/\d+")
    assert delete.path == f"/channels/{message_id}/messages/{translation['id']}"
