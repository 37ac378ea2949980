"""Lookup of a Discord channel id's place: a channel of its own, or a thread in a parent."""

from __future__ import annotations

import logging
from collections import OrderedDict

import discord

from bot.adapters.discord.events import place_at
from bot.core.events import Place

log = logging.getLogger(__name__)


class UnsupportedChannelError(Exception):
    """The channel cannot take this kind of post (no webhooks, or no threads)."""


async def find_channel(client: discord.Client, channel_id: int) -> object:
    """Return a channel or thread from discord.py's cache, else fetched from the API."""
    return client.get_channel(channel_id) or await client.fetch_channel(channel_id)


# Parent lookups remembered for channels missing from discord.py's cache (archived threads).
MAX_REMEMBERED = 4096


class ChannelDirectory:
    """Finds the parent channel of a thread: from discord.py's cache, else with one API call.

    The gateway keeps channels and active threads in the cache; only archived threads, and
    threads created while the bot was offline, cost a GET /channels/{id}.
    """

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self._parents: OrderedDict[int, int | None] = OrderedDict()

    async def place(self, guild_id: int, channel_id: int) -> Place:
        return place_at(guild_id, channel_id, await self.parent_of(channel_id))

    def place_of(self, guild_id: int, channel: object, channel_id: int) -> Place | None:
        """Return the place of a channel object when its type shows whether it is a thread."""
        if isinstance(channel, discord.Thread):
            return place_at(guild_id, channel_id, channel.parent_id)
        if isinstance(channel, discord.abc.GuildChannel):
            return place_at(guild_id, channel_id)
        return None

    async def parent_of(self, channel_id: int) -> int | None:
        """Return the parent id of a thread, or None for a channel that is not a thread."""
        cached = self.client.get_channel(channel_id)
        if cached is not None:
            return cached.parent_id if isinstance(cached, discord.Thread) else None
        if channel_id in self._parents:
            self._parents.move_to_end(channel_id)
            return self._parents[channel_id]

        try:
            fetched = await self.client.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden) as error:
            # Treat it as a channel: the core then finds no set-up or no stored message.
            log.warning(
                "channel %s: lookup failed (%s); treating it as a channel", channel_id, error
            )
            return None
        parent = fetched.parent_id if isinstance(fetched, discord.Thread) else None
        self._parents[channel_id] = parent
        if len(self._parents) > MAX_REMEMBERED:
            self._parents.popitem(last=False)
        return parent
