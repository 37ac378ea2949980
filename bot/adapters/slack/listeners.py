"""Slack message and reaction events, turned into the core's neutral events and handled.

Every event carries the Events API ``event_id`` of its envelope, the same on every
delivery of one event (HTTP retries and Socket Mode redeliveries alike), so the core's
idempotency keys give a redelivered event one effect.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.adapters.slack.api import SlackApi
from bot.adapters.slack.events import (
    bot_author,
    is_bot_message,
    message_kind,
    place_of,
    retry_of,
    space_of,
    thread_of,
)
from bot.adapters.slack.install import RedisInstallationStore
from bot.adapters.slack.sender import PLATFORM
from bot.adapters.slack.users import UserDirectory
from bot.core.conversation import Outcome, Parley
from bot.core.events import (
    Author,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    ReactionAdded,
)
from bot.core.ports import Sender
from bot.core.store import Store

log = logging.getLogger(__name__)


class SlackAdapter:
    """Shared state of the Slack listeners (the core, its store, the sender, the Web API
    and the user directory), and the listeners for message and reaction events."""

    def __init__(
        self,
        parley: Parley,
        store: Store,
        api: SlackApi,
        sender: Sender,
        users: UserDirectory,
        installations: RedisInstallationStore | None = None,
    ) -> None:
        self.parley = parley
        self.store = store
        self.api = api
        self.sender = sender
        self.users = users
        self.installations = installations

    @property
    def redis(self) -> Redis:
        return self.store.redis

    async def handle(self, event: Event, sender: Sender | None = None) -> Outcome:
        """Hand `event` to the core, then remember that its delivery was handled."""
        place = event.place
        try:
            outcome = await self.parley.handle(event, sender or self.sender)
        except Exception:
            log.exception(
                "slack event %s (%s) in %s failed",
                event.event_id,
                type(event).__name__,
                place.key(),
            )
            raise
        await self.redis.set(
            self._handled_key(place.space, event.event_id), "1", ex=self.store.event_ttl_s
        )
        return outcome

    def _handled_key(self, space: str, event_id: str) -> str:
        # Named like the core's per-space keys, so Store.erase_space removes it too.
        return self.store.key("handled", PLATFORM, space, event_id)

    async def is_settled_retry(
        self, space: str, body: dict[str, Any], request: AsyncBoltRequest
    ) -> bool:
        """Return True for a retry that Slack sent only because the response to the first
        delivery was late, once that first delivery was handled. Such a retry needs no work.

        Any other retry (an error, a refused connection, a first delivery not handled yet)
        goes on to the core, whose idempotency keys still give it at most one effect.
        """
        number, reason = retry_of(request.headers)
        event_id = body.get("event_id")
        if number == 0 or reason != "http_timeout" or not event_id:
            return False
        if not await self.redis.exists(self._handled_key(space, str(event_id))):
            return False
        log.info(
            "slack event %s in %s: retry %d (http_timeout) skipped, already handled",
            event_id,
            space,
            number,
        )
        return True

    async def author_of(self, space: str, message: dict[str, Any]) -> Author:
        """Return the author of a message payload: bots from the payload, people from
        users.info (cached)."""
        if is_bot_message(message):
            return bot_author(message)
        user = message.get("user")
        if not user:
            return Author(id="unknown", name="unknown")
        return await self.users.author(space, str(user))

    # Listeners. Bolt passes arguments by parameter name.

    async def on_message(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
    ) -> None:
        space = space_of(body, context.team_id)
        kind = message_kind(event)
        if space is None or kind is None or await self.is_settled_retry(space, body, request):
            return
        channel = str(event["channel"])
        event_id = str(body["event_id"])

        neutral: Event
        if kind == "deleted":
            neutral = MessageDeleted(event_id, place_of(space, channel), str(event["deleted_ts"]))
        elif kind == "edited":
            message = event["message"]
            neutral = MessageEdited(
                event_id,
                place_of(space, channel, message),
                await self.author_of(space, message),
                str(message["ts"]),
                str(message.get("text") or ""),
            )
        else:
            neutral = MessageCreated(
                event_id,
                place_of(space, channel, event),
                await self.author_of(space, event),
                str(event["ts"]),
                str(event.get("text") or ""),
                # Slack has no inline replies. A thread reply names its parent as the message
                # it replies to, so copies in linked channels go under the parent's copy.
                reply_to=thread_of(event),
            )
        await self.handle(neutral)

    async def on_reaction_added(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
    ) -> None:
        space = space_of(body, context.team_id)
        item = event.get("item") or {}
        if space is None or item.get("type") != "message" or not event.get("user"):
            return
        if await self.is_settled_retry(space, body, request):
            return
        # Slack names the emoji without colons: "flag-fr", or "fr" for a few countries.
        # NOTE: the event does not say whether the message is a thread reply, so the core
        # threads its translation under the reacted message itself.
        reaction = ReactionAdded(
            str(body["event_id"]),
            place_of(space, str(item["channel"])),
            await self.users.author(space, str(event["user"])),
            str(item["ts"]),
            str(event.get("reaction") or ""),
        )
        await self.handle(reaction)
