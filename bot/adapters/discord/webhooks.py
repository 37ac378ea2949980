"""The "Parley" webhook of each linked channel, through which relays carry their authors'
names and avatars."""

from __future__ import annotations

import asyncio
import logging
import re

import discord

from bot.adapters.discord.channels import UnsupportedChannelError, find_channel

log = logging.getLogger(__name__)

WEBHOOK_NAME = "Parley"
# Discord rejects webhook names over 80 characters and names containing these words.
MAX_WEBHOOK_NAME = 80
_RESERVED_NAME = re.compile(r"discord|clyde", re.IGNORECASE)
# Cyrillic look-alikes for the letters that make those words.
# NOTE: not checked against Discord here; other bots use the same substitution.
_LOOKALIKE = str.maketrans({"o": "о", "O": "О", "e": "е", "E": "Е"})

WebhookChannel = (
    discord.TextChannel | discord.VoiceChannel | discord.StageChannel | discord.ForumChannel
)


class WebhookDirectory:
    """Finds or creates one webhook per channel, named "Parley" and made by this bot, and
    keeps it for the life of the process.

    Threads and forum posts use their parent channel's webhook.
    """

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self._webhooks: dict[int, discord.Webhook] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def is_own(self, webhook_id: int) -> bool:
        """Return True when `webhook_id` is one of the webhooks found or created here."""
        return any(webhook.id == webhook_id for webhook in self._webhooks.values())

    def forget(self, channel_id: int) -> None:
        """Drop a channel's webhook, e.g. after Discord reported it deleted."""
        self._webhooks.pop(channel_id, None)

    async def get(self, channel_id: int) -> discord.Webhook:
        """Return the channel's webhook, listing the channel's webhooks and creating it once.

        Raises discord.Forbidden without the Manage Webhooks permission, and
        UnsupportedChannelError for a channel type that has no webhooks.
        """
        cached = self._webhooks.get(channel_id)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            cached = self._webhooks.get(channel_id)
            if cached is not None:
                return cached
            channel = await find_channel(self.client, channel_id)
            if not isinstance(channel, WebhookChannel):
                raise UnsupportedChannelError(
                    f"channel {channel_id} ({type(channel).__name__}) has no webhooks"
                )
            webhook = _own_webhook(await channel.webhooks(), self.client.user)
            if webhook is None:
                webhook = await channel.create_webhook(
                    name=WEBHOOK_NAME, reason="Parley relays messages between linked channels"
                )
                log.info("channel %s: webhook %s created", channel_id, webhook.id)
            self._webhooks[channel_id] = webhook
            return webhook


def webhook_username(name: str) -> str:
    """Make a display name acceptable as a webhook username: at most 80 characters, and
    "discord" and "clyde", which Discord rejects, spelled with look-alike letters."""
    cleaned = _RESERVED_NAME.sub(lambda match: match[0].translate(_LOOKALIKE), name.strip())
    return cleaned[:MAX_WEBHOOK_NAME] or WEBHOOK_NAME


def _own_webhook(
    webhooks: list[discord.Webhook], me: discord.ClientUser | None
) -> discord.Webhook | None:
    for webhook in webhooks:
        made_by_me = me is not None and webhook.user is not None and webhook.user.id == me.id
        if webhook.name == WEBHOOK_NAME and made_by_me and webhook.token:
            return webhook
    return None
