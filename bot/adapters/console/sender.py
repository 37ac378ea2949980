"""A sender that keeps every channel in memory: the console's screen and the replay's record."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import TextIO

from bot.core.actions import Action, ActionKind

# Message length limits per platform flavour, in characters.
MAX_LENGTH = {"discord": 2000, "slack": 4000}
DEFAULT_MAX_LENGTH = 2000


@dataclass
class ChatMessage:
    """One message as it stands in a channel now."""

    id: str
    author: str
    text: str
    language: str | None
    by_parley: bool
    origin: str | None = None
    reply_to: str | None = None
    thread: str | None = None
    edited: bool = False
    from_bot: bool = False


@dataclass
class ChatRecord:
    """Channels (platform, space, channel) → messages, plus private replies per user."""

    channels: dict[tuple[str, str, str], list[ChatMessage]] = field(default_factory=dict)
    private: list[Action] = field(default_factory=list)

    def channel(self, platform: str, space: str, channel: str) -> list[ChatMessage]:
        return self.channels.setdefault((platform, space, channel), [])

    def find(self, platform: str, space: str, channel: str, message_id: str) -> ChatMessage | None:
        for message in self.channel(platform, space, channel):
            if message.id == message_id:
                return message
        return None


class RecordingSender:
    """Carries out actions on the in-memory record and, if given, writes each as a JSON line."""

    def __init__(self, record: ChatRecord | None = None, out: TextIO | None = None) -> None:
        self.record = record or ChatRecord()
        self.out = out
        self.sent: list[Action] = []
        self._ids = itertools.count(1)

    def max_length(self, platform: str) -> int:
        return MAX_LENGTH.get(platform, DEFAULT_MAX_LENGTH)

    async def send(self, action: Action) -> str | None:
        new_id = self._apply(action)
        self.sent.append(action)
        if self.out is not None:
            line = action.to_json()
            if new_id is not None:
                line["id"] = new_id
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
            self.out.flush()
        return new_id

    def _apply(self, action: Action) -> str | None:
        if action.kind in (ActionKind.DM, ActionKind.EPHEMERAL):
            self.record.private.append(action)
            return None
        messages = self.record.channel(action.platform, action.space, action.channel)
        if action.kind == ActionKind.POST:
            new_id = f"p{next(self._ids)}"
            messages.append(
                ChatMessage(
                    id=new_id,
                    author=action.display_name,
                    text=action.text,
                    language=action.language,
                    by_parley=True,
                    origin=action.origin,
                    reply_to=action.target,
                    thread=action.thread,
                )
            )
            return new_id
        target = self.record.find(
            action.platform, action.space, action.channel, action.target or ""
        )
        if target is None:
            return None
        if action.kind == ActionKind.EDIT:
            target.text = action.text
            target.edited = True
        elif action.kind == ActionKind.DELETE:
            messages.remove(target)
        return None
