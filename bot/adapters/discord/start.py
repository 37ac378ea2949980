"""Starting Parley on Discord: settings, the discord.py client, and `run_discord`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.adapters.discord.adapter import REJECTED_TOKEN, DiscordAdapter
from bot.adapters.discord.intents import build_intents
from bot.adapters.discord.sender import NO_MENTIONS, DiscordSender
from bot.core.ports import Sender
from bot.core.store import Store
from bot.runtime import StartError
from config.settings import Settings

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# discord.py 2.7 logs at DEBUG the URLs of webhook calls, which contain the webhook's token,
# and every gateway payload, which includes interaction tokens. These loggers stay at INFO
# or above even when PARLEY_LOG_LEVEL is DEBUG.
SECRET_LOGGERS = ("discord.webhook.async_", "discord.gateway")


def quiet_secret_logs() -> None:
    """Keep discord.py's loggers that write tokens at DEBUG from doing so."""
    for name in SECRET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


@dataclass(frozen=True)
class ShardOptions:
    """DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS; both None for one unsharded connection."""

    count: int | None = None
    ids: tuple[int, ...] | None = None

    @property
    def sharded(self) -> bool:
        return self.count is not None or self.ids is not None

    @property
    def registers_commands(self) -> bool:
        """Only the process that runs shard 0 registers the slash commands, so a fleet of
        shard processes does not overwrite them once per process at each start."""
        return self.ids is None or 0 in self.ids


def shard_options(settings: Settings) -> ShardOptions:
    """Read the shard settings; raises StartError when the ids do not fit the count."""
    count = settings.discord_shard_count
    if settings.discord_shard_ids is None:
        return ShardOptions(count=count)
    ids = tuple(int(part) for part in settings.discord_shard_ids.split(","))
    if count is None:
        raise StartError(
            "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT: set the total number of shards "
            "across all processes, e.g. DISCORD_SHARD_COUNT=4"
        )
    too_large = [shard for shard in ids if shard >= count]
    if too_large:
        raise StartError(
            f"DISCORD_SHARD_IDS names shard {too_large[0]}, but DISCORD_SHARD_COUNT={count} "
            f"allows ids 0 to {count - 1}"
        )
    return ShardOptions(count=count, ids=ids)


def build_client(shards: ShardOptions) -> discord.Client:
    """Create the discord.py client: AutoShardedClient when shard settings are given."""
    options: dict[str, Any] = {
        "intents": build_intents(),
        # Parley reads raw events only and never looks messages up in discord.py's cache.
        "max_messages": None,
        "chunk_guilds_at_startup": False,
        "allowed_mentions": NO_MENTIONS,
    }
    if not shards.sharded:
        return discord.Client(**options)
    if shards.ids is not None:
        options["shard_ids"] = list(shards.ids)
    return discord.AutoShardedClient(shard_count=shards.count, **options)


def discord_token(settings: Settings) -> str:
    """Return DISCORD_TOKEN; raises StartError naming the variable when it is unset."""
    if settings.discord_token is None:
        raise StartError(
            "DISCORD_TOKEN is not set: create a bot in the Discord Developer Portal and copy "
            "its token (your application → Bot → Reset Token); see docs/discord.md"
        )
    return settings.discord_token.get_secret_value()


async def run_discord(
    runtime: Runtime,
    settings: Settings,
    *,
    other_senders: Mapping[str, Sender] | None = None,
) -> None:
    """Run Parley's Discord bot on `runtime` until the connection is closed.

    Raises StartError, with the setting or portal switch to fix, when the token is missing
    or rejected, the shard settings do not fit, or the Message Content intent is rejected.
    `other_senders` reach other platforms' channels in bridged link groups. The caller
    closes the runtime.
    """
    token = discord_token(settings)
    shards = shard_options(settings)
    quiet_secret_logs()
    adapter = DiscordAdapter(
        build_client(shards), runtime.parley, runtime.store, other_senders=other_senders
    )
    if shards.sharded:
        log.info(
            "starting the Discord adapter: shard count %s, shard ids %s",
            shards.count or "recommended by Discord",
            ",".join(map(str, shards.ids)) if shards.ids else "all",
        )
    await adapter.run(token, register_commands=shards.registers_commands)


async def open_sender(settings: Settings, store: Store) -> DiscordSender:
    """Log in over HTTP only and return a sender for Discord channels, for a process that
    runs another platform's adapter and relays into bridged Discord channels.

    No gateway connection is opened, so this process receives no Discord events. Close the
    client with `await sender.client.close()`. Raises StartError like `run_discord`.
    """
    token = discord_token(settings)
    quiet_secret_logs()
    client = discord.Client(intents=discord.Intents.none(), allowed_mentions=NO_MENTIONS)
    try:
        await client.login(token)
    except discord.LoginFailure:
        await client.close()
        raise StartError(REJECTED_TOKEN) from None
    return DiscordSender(client, store)
