"""Starting the Discord adapter: intents, shards, tokens, and the outbox drainer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import discord
import pytest
import pytest_asyncio
import yarl

from bot.adapters.discord import run_discord
from bot.adapters.discord.intents import build_intents
from bot.adapters.discord.start import (
    ShardOptions,
    build_client,
    quiet_secret_logs,
    shard_options,
)
from bot.core.conversation import Parley
from bot.core.store import Store
from bot.runtime import StartError
from config.settings import load_settings
from tests.adapters.discord import gateway
from tests.adapters.discord.conftest import Harness, settle
from tests.adapters.discord.fake_discord import BOT_TOKEN, FakeDiscord, FakeGateway


@pytest_asyncio.fixture
async def fake_gateway() -> AsyncIterator[FakeGateway]:
    server = FakeGateway()
    await server.start()
    yield server
    await server.stop()


def test_intents_requested() -> None:
    intents = build_intents()

    assert intents.guilds
    assert intents.guild_messages
    assert intents.message_content
    assert intents.guild_reactions
    assert not intents.members
    assert not intents.presences
    assert not intents.dm_messages


async def test_message_content_refused(
    fake: FakeDiscord,
    fake_gateway: FakeGateway,
    parley: Parley,
    store: Store,
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake_gateway.url)
    )
    runtime = SimpleNamespace(parley=parley, store=store)

    with pytest.raises(StartError, match="Message Content Intent"):
        await run_discord(runtime, load_settings(DISCORD_TOKEN=BOT_TOKEN))  # type: ignore[arg-type]

    assert fake_gateway.identify is not None
    assert fake_gateway.identify["intents"] == build_intents().value
    assert fake_gateway.identify["token"] == BOT_TOKEN
    assert len(fake.calls("PUT", rf"/applications/{gateway.APPLICATION_ID}/commands")) == 1


async def test_token_rejected(
    fake: FakeDiscord, parley: Parley, store: Store, monkeypatch: Any
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    runtime = SimpleNamespace(parley=parley, store=store)

    with pytest.raises(StartError, match="rejected DISCORD_TOKEN"):
        await run_discord(runtime, load_settings(DISCORD_TOKEN="wrong"))  # type: ignore[arg-type]


async def test_token_missing(parley: Parley, store: Store) -> None:
    runtime = SimpleNamespace(parley=parley, store=store)

    with pytest.raises(StartError, match="DISCORD_TOKEN is not set"):
        await run_discord(runtime, load_settings(DISCORD_TOKEN=""))  # type: ignore[arg-type]


def test_shard_ids_need_count() -> None:
    with pytest.raises(StartError, match="DISCORD_SHARD_COUNT"):
        shard_options(load_settings(DISCORD_SHARD_IDS="0,1"))


def test_shard_id_within_count() -> None:
    with pytest.raises(StartError, match="allows ids 0 to 1"):
        shard_options(load_settings(DISCORD_SHARD_IDS="1,2", DISCORD_SHARD_COUNT="2"))


def test_sharded_client() -> None:
    shards = shard_options(load_settings(DISCORD_SHARD_IDS="2,3", DISCORD_SHARD_COUNT="4"))

    client = build_client(shards)

    assert isinstance(client, discord.AutoShardedClient)
    assert client.shard_ids == [2, 3]
    assert client.shard_count == 4
    assert not shards.registers_commands


def test_unsharded_client() -> None:
    client = build_client(ShardOptions())

    assert not isinstance(client, discord.AutoShardedClient)
    assert ShardOptions().registers_commands


async def test_outbox_started_once(harness: Harness) -> None:
    harness.client.dispatch("ready")
    await settle()
    first = harness.adapter.outbox_task

    harness.client.dispatch("ready")
    await settle()

    assert first is not None
    assert not first.done()
    assert harness.adapter.outbox_task is first


async def test_outbox_applies_edit_plan(harness: Harness, store: Store, parley: Parley) -> None:
    await harness.link_chats()
    message_id = harness.next_id()
    await harness.feed(
        "MESSAGE_CREATE",
        gateway.message_create(message_id, "chat-en", "See you at the station at nine.", by="ben"),
    )
    ref = store_ref(message_id)
    stored = await store.load_message(ref)
    assert stored is not None
    rev = await store.save_message(
        type(stored)(**{**stored.__dict__, "text": "See you at the station at ten."})
    )
    plan = await parley.replan(ref, rev)
    assert plan is not None
    harness.client.dispatch("ready")

    await store.push_outbox("discord", "job-1", {"type": "plan", "plan": plan.to_json()})
    edits = await wait_for_calls(harness, "PATCH", r"/webhooks/\d+/hook-token-\d+/messages/\d+", 2)

    assert sorted(call.body["content"] for call in edits) == [
        "[es] See you at the station at ten.",
        "[fr] See you at the station at ten.",
    ]


def store_ref(message_id: int) -> Any:
    from bot.core.store import MessageRef

    return MessageRef(
        "discord", str(gateway.GUILD_ID), str(gateway.CHANNEL_IDS["chat-en"]), str(message_id)
    )


async def wait_for_calls(harness: Harness, method: str, pattern: str, count: int) -> list[Any]:
    for _ in range(100):
        calls = harness.fake.calls(method, pattern)
        if len(calls) >= count:
            return calls
        await asyncio.sleep(0.05)
    return harness.fake.calls(method, pattern)


def test_token_loggers_quiet() -> None:
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        quiet_secret_logs()

        for name in ("discord.webhook.async_", "discord.gateway"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.INFO
        assert logging.getLogger("discord.http").getEffectiveLevel() == logging.DEBUG
    finally:
        root.setLevel(previous)
        for name in ("discord.webhook.async_", "discord.gateway"):
            logging.getLogger(name).setLevel(logging.NOTSET)
