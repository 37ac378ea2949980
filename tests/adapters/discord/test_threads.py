"""Threads on Discord: they inherit their parent channel's set-up, and thread-style copies."""

from __future__ import annotations

from tests.adapters.discord import gateway
from tests.adapters.discord.conftest import Harness
from tests.adapters.discord.fake_discord import body_text, dumps

HOOK_EXECUTE = rf"/webhooks/(?!{gateway.APPLICATION_ID}/)\d+/hook-token-\d+"
GENERAL = gateway.CHANNEL_IDS["general"]
TEXT = "Hello everyone, who is coming to the meeting tomorrow?"


def thread_create(thread_id: int, parent: str) -> dict[str, object]:
    """THREAD_CREATE for a public thread someone opened in `parent`."""
    thread = gateway.thread_channel(thread_id, gateway.CHANNEL_IDS[parent], "Plans")
    return {**thread, "owner_id": str(gateway.USERS["ben"]), "newly_created": True}


async def test_thread_follows_parent_link(harness: Harness) -> None:
    await harness.link_chats()
    thread_id = harness.next_id()
    await harness.feed("THREAD_CREATE", thread_create(thread_id, "chat-en"))

    message = gateway.message_create(harness.next_id(), thread_id, TEXT, by="ben")
    await harness.feed("MESSAGE_CREATE", message)

    relays = harness.fake.calls("POST", HOOK_EXECUTE)
    assert sorted(body_text(call) for call in relays) == [f"[es] {TEXT}", f"[fr] {TEXT}"]
    assert harness.fake.calls("GET", rf"/channels/{thread_id}") == []


async def test_uncached_thread_looked_up(harness: Harness) -> None:
    await harness.link_chats()
    thread_id = harness.next_id()
    harness.fake.channels[thread_id] = gateway.thread_channel(
        thread_id, gateway.CHANNEL_IDS["chat-en"], "Archived plans"
    )

    message = gateway.message_create(harness.next_id(), thread_id, TEXT, by="ben")
    await harness.feed("MESSAGE_CREATE", message)

    assert len(harness.fake.calls("GET", rf"/channels/{thread_id}")) == 1
    assert len(harness.fake.calls("POST", HOOK_EXECUTE)) == 2, dumps(harness.fake.requests)


async def test_thread_style_copies(harness: Harness) -> None:
    command = gateway.slash_command(
        harness.next_id(), "general", "channel languages", {"languages": "en es", "style": "thread"}
    )
    await harness.feed("INTERACTION_CREATE", command)
    message_id = harness.next_id()

    await harness.feed(
        "MESSAGE_CREATE", gateway.message_create(message_id, "general", TEXT, by="ben")
    )

    assert (
        len(harness.fake.calls("POST", rf"/channels/{GENERAL}/messages/{message_id}/threads")) == 1
    )
    (post,) = harness.fake.calls("POST", rf"/channels/{message_id}/messages")
    assert body_text(post) == f"[es] {TEXT}"
    assert harness.fake.calls("POST", HOOK_EXECUTE) == []


async def test_reply_style_copies(harness: Harness) -> None:
    command = gateway.slash_command(
        harness.next_id(), "general", "channel languages", {"languages": "en es"}
    )
    await harness.feed("INTERACTION_CREATE", command)
    message_id = harness.next_id()

    await harness.feed(
        "MESSAGE_CREATE", gateway.message_create(message_id, "general", TEXT, by="ben")
    )

    (post,) = harness.fake.calls("POST", rf"/channels/{GENERAL}/messages")
    assert body_text(post) == f"[es] {TEXT}"
    assert post.body["message_reference"]["message_id"] == message_id
    assert post.body["allowed_mentions"] == {"parse": [], "replied_user": False}
