"""DiscordAdapter: connects a discord.py client to the core: events in, actions out."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping

import discord

from bot.adapters.discord.channels import ChannelDirectory
from bot.adapters.discord.commands import CatalogTranslator, build_tree
from bot.adapters.discord.events import (
    CHAT_MESSAGE_TYPES,
    PLATFORM,
    author_of,
    command_event,
    message_created,
    message_deleted,
    message_edited,
    reaction_added,
)
from bot.adapters.discord.intents import (
    PORTAL_SWITCH,
    MissingContentWarning,
    looks_stripped,
)
from bot.adapters.discord.pacing import ChannelPacer
from bot.adapters.discord.sender import CURRENT_INTERACTION, NO_MENTIONS, DiscordSender
from bot.core import i18n
from bot.core.conversation import Parley
from bot.core.events import Author, Event, Place
from bot.core.ports import Sender
from bot.core.store import Store
from bot.jobs import OutboxDrainer
from bot.runtime import StartError

log = logging.getLogger(__name__)

REJECTED_TOKEN = (
    "Discord rejected DISCORD_TOKEN: copy the bot's token again from the Discord Developer "
    "Portal (your application → Bot → Reset Token)"
)
# How long `stop` waits for the outbox drainer, and how often it repeats the cancel.
STOP_TIMEOUT_S = 5.0
STOP_RETRY_S = 0.2


def default_consumer() -> str:
    """Name this process in the outbox's consumer group."""
    return f"discord-{socket.gethostname()}-{os.getpid()}"


class DiscordAdapter:
    """Connects one discord.py client to the core.

    Gateway events become neutral events for `Parley.handle`. Slash commands and the
    "Translate" message command become `Command` events with ephemeral responses. The core's
    actions go out through `sender`, and the outbox drainer starts once the client is ready.

    `other_senders` (e.g. {"slack": …}) reach the other platforms' channels of bridged link
    groups, because the core sends every action of an event through the one sender it has.
    """

    def __init__(
        self,
        client: discord.Client,
        parley: Parley,
        store: Store,
        *,
        pacer: ChannelPacer | None = None,
        consumer: str | None = None,
        other_senders: Mapping[str, Sender] | None = None,
    ) -> None:
        self.client = client
        self.parley = parley
        self.store = store
        self.sender = DiscordSender(client, store, pacer)
        self.core_sender = _route(self.sender, other_senders)
        self.channels = ChannelDirectory(client)
        self.blank_warning = MissingContentWarning()
        self.tree = build_tree(client, self.run_command)
        self.consumer = consumer or default_consumer()
        self.outbox_task: asyncio.Task[None] | None = None
        self.drainer: OutboxDrainer | None = None
        for handler in (
            self.on_ready,
            self.on_message,
            self.on_raw_message_edit,
            self.on_raw_message_delete,
            self.on_raw_bulk_message_delete,
            self.on_raw_reaction_add,
        ):
            client.event(handler)

    async def run(self, token: str, *, register_commands: bool = True) -> None:
        """Log in, register the commands, and stay connected until the client closes.

        Raises StartError when Discord rejects the token or the Message Content intent.
        """
        async with self.client:
            try:
                await self.client.login(token)
            except discord.LoginFailure:
                raise StartError(REJECTED_TOKEN) from None
            if register_commands:
                await self.register_commands()
            try:
                await self.client.connect()
            except discord.PrivilegedIntentsRequired:
                raise StartError(
                    "Discord rejected the Message Content intent, which Parley needs to read "
                    f"messages. Switch on {PORTAL_SWITCH}, then start Parley again."
                ) from None
            finally:
                await self.stop()

    async def register_commands(self) -> None:
        """Send the command tree to Discord (one bulk overwrite of the global commands).

        A failure is logged and the commands registered before stay in place.
        """
        if self.tree.translator is None:
            await self.tree.set_translator(CatalogTranslator())
        try:
            synced = await self.tree.sync()
        except discord.HTTPException as error:
            log.error("registering the application commands failed: %s", error)
            return
        log.info("registered %d application commands", len(synced))

    async def stop(self) -> None:
        """Stop the outbox drainer, waiting up to STOP_TIMEOUT_S for it to end.

        The cancel is repeated: with redis-py 8.1 on Python 3.11, a cancel that lands just
        as a blocking XREADGROUP returns was seen to be lost, and the drainer kept running
        (reproduced by cancelling a 1 s block after 1.01 s).
        """
        task = self.outbox_task
        if task is None:
            return
        self.outbox_task = None
        if self.drainer is not None:
            self.drainer.stop()
        deadline = asyncio.get_running_loop().time() + STOP_TIMEOUT_S
        while not task.done() and asyncio.get_running_loop().time() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_RETRY_S)
        if not task.done():
            log.warning("outbox drainer %s did not stop within %s s", self.consumer, STOP_TIMEOUT_S)

    # gateway events

    async def on_ready(self) -> None:
        # on_ready fires again after a reconnect that could not resume; one drainer is enough.
        user = self.client.user
        log.info(
            "connected to Discord as user %s in %d servers",
            user.id if user else "?",
            len(self.client.guilds),
        )
        if self.outbox_task is None:
            drainer = OutboxDrainer(
                self.store, self.parley, PLATFORM, self.core_sender, consumer=self.consumer
            )
            self.drainer = drainer
            self.outbox_task = asyncio.create_task(drainer.run(), name="parley-discord-outbox")

    async def on_message(self, message: discord.Message) -> None:
        guild = message.guild
        if guild is None:
            return  # direct messages are not handled yet
        if self._is_own(message.author.id, message.webhook_id):
            return
        if message.type not in CHAT_MESSAGE_TYPES:
            return
        if looks_stripped(message):
            self.blank_warning.blank_message(guild.id, message.channel.id, message.id)
            return
        if not message.content.strip():
            return  # attachments or stickers only: no text to translate
        place = await self._place(guild.id, message.channel, message.channel.id)
        await self._handle(message_created(message, place))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.guild_id is None:
            return
        message = payload.message
        if self._is_own(message.author.id, message.webhook_id):
            return
        if not str(payload.data.get("content", "")).strip():
            return  # no text, or no content field at all: nothing to re-translate
        place = await self._place(payload.guild_id, message.channel, payload.channel_id)
        event = message_edited(payload, place)
        if event is not None:
            await self._handle(event)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is None:
            return
        place = await self.channels.place(payload.guild_id, payload.channel_id)
        await self._handle(message_deleted(payload.message_id, place))

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is None:
            return
        place = await self.channels.place(payload.guild_id, payload.channel_id)
        for message_id in sorted(payload.message_ids):
            await self._handle(message_deleted(message_id, place))

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        me = self.client.user
        if payload.guild_id is None or (me is not None and payload.user_id == me.id):
            return
        member = payload.member
        author = (
            author_of(member)
            if member is not None
            else Author(str(payload.user_id), str(payload.user_id))
        )
        place = await self.channels.place(payload.guild_id, payload.channel_id)
        await self._handle(reaction_added(payload, place, author))

    # commands

    async def run_command(
        self, interaction: discord.Interaction, name: str, options: dict[str, str]
    ) -> None:
        """Run a core command for an interaction and respond with ephemeral followups.

        The interaction is deferred first, because Discord drops an interaction without a
        response within 3 seconds and a translation can take longer.
        """
        guild_id = interaction.guild_id
        channel_id = interaction.channel_id
        if guild_id is None or channel_id is None:
            return  # the commands are registered for servers only
        await interaction.response.defer(ephemeral=True, thinking=True)
        place = await self._place(guild_id, interaction.channel, channel_id)
        event = command_event(interaction, place, name, options)
        token = CURRENT_INTERACTION.set(interaction)
        try:
            await self.parley.handle(event, self.core_sender)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception(
                "command %s (interaction %s) on %s failed (reference %s)",
                name,
                interaction.id,
                place.key(),
                reference,
            )
            text = i18n.t("error.internal", event.author.locale, reference=reference)
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        finally:
            CURRENT_INTERACTION.reset(token)

    # helpers

    def _is_own(self, author_id: int, webhook_id: int | None) -> bool:
        """Return True for the bot's own messages and its relay webhooks' messages."""
        me = self.client.user
        if me is not None and author_id == me.id:
            return True
        return webhook_id is not None and self.sender.webhooks.is_own(webhook_id)

    async def _place(self, guild_id: int, channel: object, channel_id: int) -> Place:
        known = self.channels.place_of(guild_id, channel, channel_id)
        return known or await self.channels.place(guild_id, channel_id)

    async def _handle(self, event: Event) -> None:
        try:
            outcome = await self.parley.handle(event, self.core_sender)
        except Exception:
            log.exception("event %s on %s failed", event.event_id, event.place.key())
            return
        if outcome.actions:
            log.debug("event %s: %d actions", event.event_id, len(outcome.actions))


def _route(sender: DiscordSender, others: Mapping[str, Sender] | None) -> Sender:
    if not others:
        return sender
    # Imported here so that a Discord-only process does not load the Slack adapter.
    from bot.adapters.slack.routing import RoutingSender

    return RoutingSender({**others, PLATFORM: sender})
