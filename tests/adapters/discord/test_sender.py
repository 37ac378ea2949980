"""DiscordSender: pacing, replies, DMs and the checks on every action."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest

from bot.adapters.console.sender import RecordingSender
from bot.adapters.discord import DiscordAdapter, open_sender
from bot.adapters.discord.pacing import ChannelPacer
from bot.adapters.discord.sender import DiscordSender
from bot.adapters.discord.webhooks import webhook_username
from bot.core.actions import Action, ActionKind, Attachment
from bot.core.conversation import Parley
from bot.core.store import Store
from config.settings import load_settings
from tests.adapters.discord import gateway
from tests.adapters.discord.conftest import Harness
from tests.adapters.discord.fake_discord import BOT_TOKEN, FakeDiscord, body_text

CHAT_ES = str(gateway.CHANNEL_IDS["chat-es"])
SPACE = str(gateway.GUILD_ID)


def relay(text: str, *, channel: str = CHAT_ES) -> Action:
    return Action(
        kind=ActionKind.POST,
        platform="discord",
        space=SPACE,
        channel=channel,
        text=text,
        origin="1",
        display_name="Ben",
        avatar_url="https://cdn.discordapp.com/embed/avatars/0.png",
        language="es",
    )


async def test_burst_delivered_in_order(harness: Harness) -> None:
    period_s = 0.2
    sender = DiscordSender(harness.client, harness.adapter.store, ChannelPacer(5, period_s))
    texts = [f"mensaje {number}" for number in range(20)]

    ids = await asyncio.gather(*(sender.send(relay(text)) for text in texts))

    executes = harness.fake.calls("POST", r"/webhooks/\d+/hook-token-\d+")
    assert [body_text(call) for call in executes] == texts
    assert all(message_id is not None for message_id in ids)
    # Any 6 consecutive sends span a period: never more than 5 per window. The pacer spaces
    # the starts of sends; arrival times here also carry loopback jitter, hence the slack.
    slack_s = 0.05
    for first, sixth in zip(executes, executes[5:], strict=False):
        assert sixth.at - first.at >= period_s - slack_s
    assert executes[-1].at - executes[0].at >= 3 * period_s - slack_s


async def test_pacer_spaces_channel_only() -> None:
    pacer = ChannelPacer(limit=2, period_s=0.1)
    started: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()

    async def send(channel: str) -> None:
        async with pacer.slot(channel):
            started.append((channel, loop.time()))

    await asyncio.gather(*(send(channel) for channel in ["a", "a", "a", "b", "b"]))

    times = {channel: [at for name, at in started if name == channel] for channel in "ab"}
    assert times["a"][2] - times["a"][0] >= 0.09
    assert times["b"][1] - times["b"][0] < 0.05


async def test_reply_references_message(harness: Harness) -> None:
    action = Action(
        kind=ActionKind.POST,
        platform="discord",
        space=SPACE,
        channel=CHAT_ES,
        text="[en] See you tomorrow",
        origin="1200000000000000777",
        target="1200000000000000777",
        language="en",
    )

    await harness.adapter.sender.send(action)

    (post,) = harness.fake.calls("POST", rf"/channels/{CHAT_ES}/messages")
    assert post.body["message_reference"]["message_id"] == 1200000000000000777
    assert post.body["message_reference"]["fail_if_not_exists"] is False
    assert post.body["allowed_mentions"] == {"parse": [], "replied_user": False}


async def test_edit_without_record(harness: Harness) -> None:
    posted = await harness.adapter.sender.send(relay("hola"))
    assert posted is not None
    await harness.adapter.store.redis.delete(harness.adapter.sender._record_key(posted))

    edit = Action(**{**relay("hola a todos").__dict__, "kind": ActionKind.EDIT, "target": posted})
    await harness.adapter.sender.send(edit)

    (call,) = harness.fake.calls("PATCH", rf"/webhooks/\d+/hook-token-\d+/messages/{posted}")
    assert body_text(call) == "hola a todos"


async def test_direct_message(harness: Harness) -> None:
    user = str(gateway.USERS["ana"])
    action = Action(
        kind=ActionKind.DM, platform="discord", space=SPACE, channel=CHAT_ES, text="hola", user=user
    )

    message_id = await harness.adapter.sender.send(action)

    (opened,) = harness.fake.calls("POST", r"/users/@me/channels")
    assert opened.body == {"recipient_id": int(user)}
    (post,) = harness.fake.calls("POST", r"/channels/\d+/messages")
    assert post.body["allowed_mentions"] == {"parse": []}
    assert message_id is not None


async def test_other_platform_dropped(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    action = Action(**{**relay("hola").__dict__, "platform": "slack"})

    result = await harness.adapter.sender.send(action)

    assert result is None
    assert harness.fake.writes() == []
    assert "slack" in caplog.text


async def test_ephemeral_without_interaction(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    action = Action(
        kind=ActionKind.EPHEMERAL,
        platform="discord",
        space=SPACE,
        channel=CHAT_ES,
        text="hola",
        user="1",
    )

    await harness.adapter.sender.send(action)

    assert harness.fake.writes() == []
    assert "no pending interaction" in caplog.text


def test_webhook_username_rules() -> None:
    assert webhook_username("Discord Fan") == "Discоrd Fan"
    assert webhook_username("clyde") == "clydе"
    assert webhook_username("  ") == "Parley"
    assert len(webhook_username("x" * 120)) == 80
    assert webhook_username("Ana") == "Ana"


def test_max_length() -> None:
    sender = DiscordSender.__new__(DiscordSender)

    assert sender.max_length("discord") == 2000


async def test_attachment_uploaded(harness: Harness) -> None:
    action = Action(
        kind=ActionKind.DM,
        platform="discord",
        space=SPACE,
        channel=CHAT_ES,
        text="",
        user=str(gateway.USERS["ana"]),
        attachment=Attachment("deck.csv", b"hola,hello\n", "text/csv"),
    )

    message_id = await harness.adapter.sender.send(action)

    (post,) = harness.fake.calls("POST", r"/channels/\d+/messages")
    assert post.body["_files"] == ["deck.csv"]
    assert post.body["allowed_mentions"] == {"parse": []}
    assert message_id is not None


async def test_http_only_sender(
    fake: FakeDiscord, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    sender = await open_sender(load_settings(DISCORD_TOKEN=BOT_TOKEN), store)
    try:
        posted = await sender.send(relay("hola"))
        thread = "1200000000000009000"
        flagged = await sender.send(
            Action(
                **{
                    **relay("[fr] salut").__dict__,
                    "display_name": "Parley",
                    "avatar_url": None,
                    "thread": thread,
                }
            )
        )
    finally:
        await sender.client.close()

    assert posted is not None
    assert flagged is not None
    assert len(fake.calls("GET", rf"/channels/{CHAT_ES}")) == 2
    assert len(fake.calls("POST", rf"/channels/{CHAT_ES}/messages/{thread}/threads")) == 1
    assert len(fake.calls("POST", rf"/channels/{thread}/messages")) == 1


async def test_other_platforms_routed(harness: Harness, parley: Parley, store: Store) -> None:
    elsewhere = RecordingSender()
    adapter = DiscordAdapter(
        harness.client.__class__(intents=discord.Intents.none()),
        parley,
        store,
        other_senders={"slack": elsewhere},
    )
    action = Action(**{**relay("hola").__dict__, "platform": "slack", "channel": "C1"})

    await adapter.core_sender.send(action)

    assert elsewhere.sent == [action]
