"""A logged-in Discord adapter wired to the real core and the fake Discord API.

Gateway payloads go through discord.py's own parsers (`ConnectionState.parsers`, the table
the gateway reader calls for each dispatch), so events reach the adapter as in production.
That table, `Route.BASE` and the task names `settle` waits for are discord.py internals,
written against discord.py 2.7.1 (pinned as discord.py==2.7.*).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest_asyncio

from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.pacing import ChannelPacer
from bot.adapters.discord.start import ShardOptions, build_client
from bot.core.conversation import Parley
from bot.core.store import Store
from tests.adapters.discord import gateway
from tests.adapters.discord.fake_discord import BOT_TOKEN, FakeDiscord

# Tasks discord.py starts for each dispatched event and for each application command.
EVENT_TASK_PREFIXES = ("discord.py: ", "CommandTree-invoker")


@dataclass
class Harness:
    adapter: DiscordAdapter
    fake: FakeDiscord
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def client(self) -> discord.Client:
        return self.adapter.client

    def next_id(self) -> int:
        """Return a snowflake-sized id for a user message or interaction."""
        return 1200000000000000000 + next(self.ids) * 1000

    async def feed(self, event: str, data: dict[str, Any]) -> None:
        """Dispatch one gateway event and wait until every handler it started has finished."""
        self.client._connection.parsers[event](data)
        await settle()

    async def link_chats(self) -> None:
        """Link #chat-en, #chat-es and #chat-fr as the admin "mod" would with /link create."""
        channels = " ".join(
            f"<#{gateway.CHANNEL_IDS[name]}>:{name[-2:]}"
            for name in ("chat-en", "chat-es", "chat-fr")
        )
        interaction = gateway.slash_command(
            self.next_id(), "chat-en", "link create", {"channels": channels}
        )
        await self.feed("INTERACTION_CREATE", interaction)


async def settle() -> None:
    """Wait for the tasks discord.py scheduled for events, including ones they start."""
    for _ in range(20):
        pending = [
            task
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task()
            and task.get_name().startswith(EVENT_TASK_PREFIXES)
            and not task.done()
        ]
        if not pending:
            return
        await asyncio.wait(pending, timeout=10)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def harness(
    fake: FakeDiscord, parley: Parley, store: Store, monkeypatch: Any
) -> AsyncIterator[Harness]:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    client = build_client(ShardOptions())
    adapter = DiscordAdapter(
        client, parley, store, pacer=ChannelPacer(limit=5, period_s=0.05), consumer="test"
    )
    await client.login(BOT_TOKEN)
    client._connection.parsers["GUILD_CREATE"](gateway.guild_create())
    yield Harness(adapter, fake)
    await adapter.stop()
    await client.close()
