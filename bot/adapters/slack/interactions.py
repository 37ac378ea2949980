"""The /parley slash command and the "Translate" message shortcut.

Both acknowledge first, within Slack's 3 seconds, then run the core. Their replies are
private: they go through the request's ``response_url`` as ephemeral messages. These work
in any conversation, also in channels the bot is not a member of, where
chat.postEphemeral fails.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.adapters.slack.events import thread_of
from bot.adapters.slack.listeners import SlackAdapter
from bot.adapters.slack.routing import RoutingSender
from bot.adapters.slack.sender import PLATFORM, SlackSender, neutralise_broadcasts
from bot.core import i18n
from bot.core.actions import Action, ActionKind
from bot.core.commands import parse_command_text
from bot.core.errors import UserError
from bot.core.events import Command, Place
from bot.core.ports import Sender

log = logging.getLogger(__name__)

COMMAND = "/parley"
TRANSLATE_CALLBACK = "translate_message"


class ReplySender:
    """Sends the core's private replies to one user through a response_url, and every
    other action through `inner`. A reply that the response_url rejects goes through
    `inner` too (chat.postEphemeral)."""

    def __init__(self, inner: Sender, respond: AsyncRespond, user: str) -> None:
        self.inner = inner
        self.respond = respond
        self.user = user

    def max_length(self, platform: str) -> int:
        return self.inner.max_length(platform)

    async def send(self, action: Action) -> str | None:
        if action.kind != ActionKind.EPHEMERAL or action.user != self.user:
            return await self.inner.send(action)
        try:
            response = await self.respond(
                text=neutralise_broadcasts(action.text), response_type="ephemeral"
            )
            if response.status_code == 200:
                await self._upload(action)
                return None
            problem = f"HTTP {response.status_code}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            problem = f"{type(error).__name__}: {error}"
        log.warning(
            "slack reply to %s in %s/%s via response_url failed (%s), trying chat.postEphemeral",
            self.user,
            action.space,
            action.channel,
            problem,
        )
        return await self.inner.send(action)

    async def _upload(self, action: Action) -> None:
        """Send a reply's file to the user's DM: response_url messages cannot carry files."""
        if action.attachment is None:
            return
        slack = self.inner.senders.get(PLATFORM) if isinstance(self.inner, RoutingSender) else None
        if isinstance(slack, SlackSender):
            await slack.upload_attachment(action)


class Interactions:
    """Listeners for the slash command and the message shortcut."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter

    async def on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        context: AsyncBoltContext,
        respond: AsyncRespond,
    ) -> None:
        """Run ``/parley <subcommand> [options]``. An empty command runs ``help``.

        Slack writes channels as ``<#C1|chat-en>`` because the manifest registers the
        command with escaping on, so ``/parley link create #chat-en:en #chat-es:es``
        arrives as ``link create <#C1|chat-en>:en <#C2|chat-es>:es``.
        """
        await ack()
        space = str(context.team_id or command["team_id"])
        user = str(command["user_id"])
        author = await self.adapter.users.author(space, user)
        text = str(command.get("text") or "").strip() or "help"
        try:
            name, options = parse_command_text(text)
        except UserError as error:
            await respond(
                text=i18n.t(error.key, author.locale, **error.params), response_type="ephemeral"
            )
            return

        event = Command(
            # Slash commands have no event id; the trigger id is unique per invocation.
            event_id=f"command-{command['trigger_id']}",
            place=Place(PLATFORM, space, str(command["channel_id"])),
            author=author,
            name=name,
            options=options,
        )
        await self.adapter.handle(event, ReplySender(self.adapter.sender, respond, user))

    async def on_translate_shortcut(
        self,
        ack: AsyncAck,
        shortcut: dict[str, Any],
        context: AsyncBoltContext,
        respond: AsyncRespond,
    ) -> None:
        """Translate the message the shortcut was used on into the user's reading language,
        or the language of their Slack locale, for them alone."""
        await ack()
        message = shortcut.get("message") or {}
        space = str(context.team_id or shortcut["team"]["id"])
        user = str(shortcut["user"]["id"])
        channel = str(shortcut["channel"]["id"])
        ts = str(shortcut.get("message_ts") or message["ts"])
        author = await self.adapter.users.author(space, user)
        event = Command(
            event_id=f"shortcut-{shortcut['trigger_id']}",
            place=Place(PLATFORM, space, channel, thread_of(message)),
            author=author,
            name="translate",
            # The text lets the core translate messages it never stored, such as those in
            # channels without a Parley set-up.
            options={
                "message": ts,
                "text": str(message.get("text") or ""),
                # The author's id lets the core honour their opt-out from third-party engines.
                "author": str(message.get("user") or ""),
            },
        )
        await self.adapter.handle(event, ReplySender(self.adapter.sender, respond, user))
