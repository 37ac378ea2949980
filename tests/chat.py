"""A small driver that makes core tests read like chat transcripts."""

from __future__ import annotations

import itertools

from bot.adapters.console.sender import RecordingSender
from bot.core.actions import Action, ActionKind
from bot.core.conversation import Outcome, Parley
from bot.core.events import (
    Author,
    Command,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    Place,
    ReactionAdded,
)

ADMIN = Author("u-admin", "Mod", is_admin=True)


class Chat:
    """Sends events to the core as one platform and space; remembers what was sent back."""

    def __init__(self, parley: Parley, *, platform: str = "discord", space: str = "s1") -> None:
        self.parley = parley
        self.platform = platform
        self.space = space
        self.sender = RecordingSender()
        self._ids = itertools.count(1)

    def place(self, channel: str, thread: str | None = None) -> Place:
        return Place(self.platform, self.space, channel, thread)

    def _event_id(self) -> str:
        return f"e{next(self._ids)}"

    async def command(
        self, channel: str, name: str, /, *, author: Author = ADMIN, **options: str
    ) -> list[Action]:
        event = Command(self._event_id(), self.place(channel), author, name, options)
        return (await self.parley.handle(event, self.sender)).actions

    async def say(
        self,
        channel: str,
        author: str,
        text: str,
        *,
        id: str,
        event_id: str | None = None,
        reply_to: str | None = None,
        thread: str | None = None,
        bot: bool = False,
    ) -> Outcome:
        event = MessageCreated(
            event_id or self._event_id(),
            self.place(channel, thread),
            Author(f"u-{author.lower()}", author, is_bot=bot),
            id,
            text,
            reply_to=reply_to,
        )
        return await self.parley.handle(event, self.sender)

    async def edit(self, channel: str, author: str, id: str, text: str) -> Outcome:
        event = MessageEdited(
            self._event_id(), self.place(channel), Author(f"u-{author.lower()}", author), id, text
        )
        return await self.parley.handle(event, self.sender)

    async def delete(self, channel: str, id: str) -> Outcome:
        event = MessageDeleted(self._event_id(), self.place(channel), id)
        return await self.parley.handle(event, self.sender)

    async def react(self, channel: str, author: str, id: str, emoji: str) -> Outcome:
        event = ReactionAdded(
            self._event_id(), self.place(channel), Author(f"u-{author.lower()}", author), id, emoji
        )
        return await self.parley.handle(event, self.sender)

    def posts(self, channel: str | None = None) -> list[Action]:
        return [
            action
            for action in self.sender.sent
            if action.kind == ActionKind.POST and channel in (None, action.channel)
        ]

    def texts(self, channel: str) -> list[str]:
        """Texts now visible in a channel, Parley's posts only, edits and deletes applied."""
        messages = self.sender.record.channel(self.platform, self.space, channel)
        return [message.text for message in messages]
