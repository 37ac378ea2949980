"""DiscordSender: carries out the core's actions through discord.py.

Relays in linked channels go through one webhook per channel, named "Parley", so each copy
shows its author's name and avatar. Everything else is posted by the bot user. Every call
passes `AllowedMentions.none()`, because the core's `may_mention` is always False.
"""

from __future__ import annotations

import io
import json
import logging
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any, Literal

import discord
from discord.utils import MISSING

from bot.adapters.discord.channels import UnsupportedChannelError, find_channel
from bot.adapters.discord.events import PLATFORM
from bot.adapters.discord.pacing import ChannelPacer
from bot.adapters.discord.webhooks import WebhookDirectory, webhook_username
from bot.core.actions import Action, ActionKind
from bot.core.relay import BOT_NAME
from bot.core.store import Store

log = logging.getLogger(__name__)

MAX_LENGTH = 2000
THREAD_NAME = "Parley"
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440
MAX_REMEMBERED = 4096
NO_MENTIONS = discord.AllowedMentions.none()

VIA_WEBHOOK = "webhook"
VIA_BOT = "bot"

# The interaction whose command the core is handling in this task. Parley.handle sends a
# command's ephemeral replies before it returns, inside the task that set this variable.
CURRENT_INTERACTION: ContextVar[discord.Interaction | None] = ContextVar(
    "parley_discord_interaction", default=None
)


@dataclass(frozen=True)
class SentMessage:
    """A message Parley posted: the core's channel, the channel or thread it is in, whether
    the webhook or the bot user posted it, and any line added before the core's text."""

    channel: str
    location: str
    via: str
    prefix: str = ""


class DiscordSender:
    """The core's Sender for Discord. `send` returns the new message id for posts and DMs.

    A failed Discord call is logged with the action's ids and `send` returns None, so one
    unreachable channel does not stop the copies for the others. Posted messages are
    remembered in Redis for `store.message_ttl_s`, so that any bot process (the outbox is
    shared) can later edit or delete them, in threads too. The client needs a login, not a
    gateway connection: channels missing from its cache are fetched.
    """

    def __init__(
        self, client: discord.Client, store: Store, pacer: ChannelPacer | None = None
    ) -> None:
        self.client = client
        self.store = store
        self.pacer = pacer or ChannelPacer()
        self.webhooks = WebhookDirectory(client)
        self._threads: OrderedDict[int, None] = OrderedDict()
        self._no_webhook_warned: set[int] = set()

    def max_length(self, platform: str) -> int:
        return MAX_LENGTH

    async def send(self, action: Action) -> str | None:
        if action.platform != PLATFORM:
            log.error(
                "%s for platform %s in channel %s reached the Discord sender; dropped",
                action.kind,
                action.platform,
                action.channel,
            )
            return None
        if _has_no_content(action):
            # Discord rejects a message with neither content nor a file.
            log.error("empty %s in channel %s dropped", action.kind, action.channel)
            return None

        try:
            return await self._dispatch(action)
        except (discord.HTTPException, UnsupportedChannelError) as error:
            log.warning(
                "discord %s in channel %s (thread %s, target %s, origin %s) failed: %s",
                action.kind,
                action.channel,
                action.thread,
                action.target,
                action.origin,
                error,
            )
            return None

    async def _dispatch(self, action: Action) -> str | None:
        if action.kind == ActionKind.POST:
            return await self._post(action)
        if action.kind == ActionKind.EDIT:
            await self._edit(action)
            return None
        if action.kind == ActionKind.DELETE:
            await self._delete(action)
            return None
        if action.kind == ActionKind.EPHEMERAL:
            await self._reply_privately(action)
            return None
        return await self._direct_message(action)

    # posts

    async def _post(self, action: Action) -> str:
        location = await self._location_for_post(action)
        if speaks_as_author(action):
            sent, message_id = await self._post_as_author(action, location)
        else:
            sent, message_id = await self._post_as_bot(action, location)
        await self._remember(message_id, sent)
        return message_id

    async def _location_for_post(self, action: Action) -> int:
        if action.thread is None:
            return int(action.channel)
        return await self._ensure_thread(int(action.channel), int(action.thread))

    async def _ensure_thread(self, channel_id: int, thread_id: int) -> int:
        """Return the thread to post in, creating it on its starter message if needed.

        The core names a thread by the id of the message it hangs under. Discord gives a
        thread started from a message that message's id, so the two ids agree.
        """
        if thread_id in self._threads or isinstance(
            self.client.get_channel(thread_id), discord.Thread
        ):
            self._remember_thread(thread_id)
            return thread_id

        channel = await find_channel(self.client, channel_id)
        if not isinstance(channel, discord.TextChannel):
            # A forum post, or an archived thread elsewhere: it exists, or it cannot be made.
            if await self._is_thread(thread_id):
                self._remember_thread(thread_id)
                return thread_id
            raise UnsupportedChannelError(
                f"channel {channel_id} ({type(channel).__name__}) has no message threads"
            )
        try:
            async with self.pacer.slot(str(channel_id)):
                await channel.get_partial_message(thread_id).create_thread(
                    name=THREAD_NAME, auto_archive_duration=THREAD_ARCHIVE_MINUTES
                )
            log.info("thread %s created in channel %s", thread_id, channel_id)
        except discord.HTTPException as error:
            # A person, or another bot process, may have started the thread first.
            if not await self._is_thread(thread_id):
                raise
            log.info("thread %s already existed (%s)", thread_id, error.text)
        self._remember_thread(thread_id)
        return thread_id

    async def _is_thread(self, channel_id: int) -> bool:
        try:
            channel = await self.client.fetch_channel(channel_id)
        except discord.NotFound:
            return False
        return isinstance(channel, discord.Thread)

    def _remember_thread(self, thread_id: int) -> None:
        self._threads[thread_id] = None
        self._threads.move_to_end(thread_id)
        if len(self._threads) > MAX_REMEMBERED:
            self._threads.popitem(last=False)

    async def _post_as_author(self, action: Action, location: int) -> tuple[SentMessage, str]:
        """Relay through the channel's webhook under the author's name and avatar.

        A webhook cannot post a reply, so a relayed reply starts with a link to the message
        it replies to, when that still fits in Discord's limit.
        """
        channel_id = int(action.channel)
        try:
            webhook = await self.webhooks.get(channel_id)
        except discord.Forbidden:
            return await self._post_without_webhook(action, location)

        prefix = _reply_link(action, location)
        sent = SentMessage(action.channel, str(location), VIA_WEBHOOK, prefix)
        try:
            return sent, await self._execute(webhook, action, prefix + action.text, location)
        except discord.NotFound:
            # Someone deleted the webhook: find or make another and try once more.
            self.webhooks.forget(channel_id)
            webhook = await self.webhooks.get(channel_id)
            return sent, await self._execute(webhook, action, prefix + action.text, location)

    async def _execute(
        self, webhook: discord.Webhook, action: Action, text: str, location: int
    ) -> str:
        async with self.pacer.slot(str(location)):
            message = await webhook.send(
                text or MISSING,
                username=webhook_username(action.display_name),
                avatar_url=action.avatar_url or MISSING,
                allowed_mentions=NO_MENTIONS,
                thread=_thread_object(int(action.channel), location),
                file=_file(action),
                wait=True,
            )
        return str(message.id)

    async def _post_without_webhook(self, action: Action, location: int) -> tuple[SentMessage, str]:
        """Relay as the bot with the author's name in bold, when the bot may not manage
        webhooks in that channel."""
        channel_id = int(action.channel)
        if channel_id not in self._no_webhook_warned:
            self._no_webhook_warned.add(channel_id)
            log.warning(
                "channel %s: no Manage Webhooks permission; relays are posted by the bot "
                "with the author's name in the text",
                channel_id,
            )
        named = f"**{discord.utils.escape_markdown(action.display_name)}**: "
        prefix = named if len(named) + len(action.text) <= MAX_LENGTH else ""
        return await self._post_as_bot(action, location, prefix=prefix)

    async def _post_as_bot(
        self, action: Action, location: int, *, prefix: str = ""
    ) -> tuple[SentMessage, str]:
        channel = self.client.get_partial_messageable(location, guild_id=int(action.space))
        options: dict[str, Any] = {}
        if action.target is not None:
            options["reference"] = discord.MessageReference(
                message_id=int(action.target),
                channel_id=location,
                guild_id=int(action.space),
                fail_if_not_exists=False,
            )
            options["mention_author"] = False
        async with self.pacer.slot(str(location)):
            message = await channel.send(
                (prefix + action.text) or None,
                allowed_mentions=NO_MENTIONS,
                file=_file(action),
                **options,
            )
        return SentMessage(action.channel, str(location), VIA_BOT, prefix), str(message.id)

    # edits and deletes

    async def _edit(self, action: Action) -> None:
        """Replace a posted message's text; an action's attachment is not sent again."""
        if action.target is None:
            log.warning("discord edit in channel %s has no target message", action.channel)
            return
        sent = await self._recall(action.target) or _guess(action)
        message_id = int(action.target)
        text = sent.prefix + action.text
        if len(text) > MAX_LENGTH:
            text = action.text
        async with self.pacer.slot(sent.location):
            if sent.via == VIA_WEBHOOK:
                webhook = await self.webhooks.get(int(sent.channel))
                await webhook.edit_message(
                    message_id,
                    content=text,
                    allowed_mentions=NO_MENTIONS,
                    thread=_thread_object(int(sent.channel), int(sent.location)),
                )
            else:
                message = self._partial_message(action.space, sent.location, message_id)
                await message.edit(content=text, allowed_mentions=NO_MENTIONS)

    async def _delete(self, action: Action) -> None:
        if action.target is None:
            log.warning("discord delete in channel %s has no target message", action.channel)
            return
        sent = await self._recall(action.target) or _guess(action)
        message_id = int(action.target)
        try:
            async with self.pacer.slot(sent.location):
                if sent.via == VIA_WEBHOOK:
                    webhook = await self.webhooks.get(int(sent.channel))
                    await webhook.delete_message(
                        message_id, thread=_thread_object(int(sent.channel), int(sent.location))
                    )
                else:
                    await self._partial_message(action.space, sent.location, message_id).delete()
        except discord.NotFound:
            log.info("message %s in channel %s was already deleted", message_id, sent.location)
        await self._forget(action.target)

    def _partial_message(
        self, space: str, location: str, message_id: int
    ) -> discord.PartialMessage:
        channel = self.client.get_partial_messageable(int(location), guild_id=int(space))
        return channel.get_partial_message(message_id)

    # private replies

    async def _reply_privately(self, action: Action) -> None:
        """Send the reply as an ephemeral followup to this task's pending interaction."""
        interaction = CURRENT_INTERACTION.get()
        if interaction is None or str(interaction.user.id) != action.user:
            log.warning(
                "ephemeral reply for user %s in channel %s has no pending interaction; dropped",
                action.user,
                action.channel,
            )
            return
        await interaction.followup.send(
            action.text or MISSING,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
            file=_file(action),
        )

    async def _direct_message(self, action: Action) -> str | None:
        if action.user is None:
            log.error("direct message without a recipient dropped")
            return None
        try:
            channel = await self.client.create_dm(discord.Object(int(action.user)))
            message = await channel.send(
                action.text or None, allowed_mentions=NO_MENTIONS, file=_file(action)
            )
        except discord.Forbidden as error:
            # Users can refuse direct messages from server members.
            log.info("direct message to user %s rejected: %s", action.user, error)
            return None
        return str(message.id)

    # the record of posted messages

    def _record_key(self, message_id: str) -> str:
        return self.store.key("discord", "sent", message_id)

    async def _remember(self, message_id: str, sent: SentMessage) -> None:
        await self.store.redis.set(
            self._record_key(message_id), json.dumps(asdict(sent)), ex=self.store.message_ttl_s
        )

    async def _recall(self, message_id: str) -> SentMessage | None:
        raw = await self.store.redis.get(self._record_key(message_id))
        if raw is None:
            return None
        return SentMessage(**json.loads(raw))

    async def _forget(self, message_id: str) -> None:
        await self.store.redis.delete(self._record_key(message_id))


def speaks_as_author(action: Action) -> bool:
    """Return True for relays, which the core sends under the author's name and avatar.

    Every Discord member has an avatar URL (a default one at least), so a Discord relay
    always carries one. Parley's own posts carry neither.
    """
    return action.avatar_url is not None or action.display_name != BOT_NAME


def _has_no_content(action: Action) -> bool:
    """Return True for a post, edit or reply with no text and no file to send."""
    if action.kind == ActionKind.DELETE or action.text.strip():
        return False
    return action.kind == ActionKind.EDIT or action.attachment is None


def _file(action: Action) -> Any:
    """Return the action's attachment as a discord.File, or MISSING when it has none.

    A discord.File is read once, so each send builds its own.
    """
    if action.attachment is None:
        return MISSING
    return discord.File(io.BytesIO(action.attachment.data), filename=action.attachment.file_name)


def _thread_object(channel_id: int, location: int) -> Any:
    """Return the `thread` argument for webhook calls: MISSING for the channel itself."""
    return MISSING if location == channel_id else discord.Object(location)


def _reply_link(action: Action, location: int) -> str:
    if action.target is None:
        return ""
    link = f"-# ↪ https://discord.com/channels/{action.space}/{location}/{action.target}\n"
    return link if len(link) + len(action.text) <= MAX_LENGTH else ""


def _guess(action: Action) -> SentMessage:
    """Describe a message Parley posted before its record expired or was lost."""
    via = VIA_WEBHOOK if speaks_as_author(action) else VIA_BOT
    return SentMessage(action.channel, action.thread or action.channel, via)
