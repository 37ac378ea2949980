"""The gateway intents Parley requests, and the warning when message text arrives empty."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import discord

log = logging.getLogger(__name__)

PORTAL_SWITCH = (
    "Discord Developer Portal → your application → Bot → Privileged Gateway Intents → "
    "Message Content Intent"
)
# Minimum interval between two missing-intent warnings for one server.
WARNING_EVERY_S = 3600.0


def build_intents() -> discord.Intents:
    """Return the intents Parley needs, and no more.

    - guilds: servers, channels, threads and roles in the cache (parents of threads, and
      the roles behind an author's permissions).
    - guild_messages: MESSAGE_CREATE, MESSAGE_UPDATE and MESSAGE_DELETE in servers.
    - message_content (privileged): the text of other people's messages.
    - guild_reactions: MESSAGE_REACTION_ADD, delivered even for messages the cache never saw.

    The privileged members intent is not needed: every message, reaction and interaction
    payload carries its author's member object, and interactions carry the caller's
    permissions.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    return intents


def looks_stripped(message: discord.Message) -> bool:
    """Return True when a chat message arrived with nothing in it.

    Without the Message Content intent, Discord blanks the content, embeds, attachments and
    polls of other people's messages, so an entirely empty message points to a missing
    intent. Sticker-only messages keep their stickers and are not counted.
    """
    return (
        message.content == ""
        and not message.attachments
        and not message.embeds
        and not message.stickers
        and message.poll is None
    )


class MissingContentWarning:
    """Logs a WARNING when a server's messages arrive blank, at most once per server per
    `every_s` seconds, with the number of blank messages seen in between."""

    def __init__(
        self, every_s: float = WARNING_EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every_s = every_s
        self.clock = clock
        self._last_warned: dict[int, float] = {}
        self._suppressed: dict[int, int] = {}

    def blank_message(self, guild_id: int, channel_id: int, message_id: int) -> None:
        now = self.clock()
        last = self._last_warned.get(guild_id)
        if last is not None and now - last < self.every_s:
            self._suppressed[guild_id] = self._suppressed.get(guild_id, 0) + 1
            return
        self._last_warned[guild_id] = now
        suppressed = self._suppressed.pop(guild_id, 0)
        log.warning(
            "message %s in channel %s of server %s arrived with empty content and no "
            "attachments or embeds (%d more since the last warning): the Message Content "
            "intent is probably off. Switch it on under %s. Such messages are not translated.",
            message_id,
            channel_id,
            guild_id,
            suppressed,
            PORTAL_SWITCH,
        )
