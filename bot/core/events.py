"""Neutral events: what adapters hand the core, whatever platform they came from.

Vocabulary: a Discord guild and a Slack workspace are both a *space*; ids are opaque strings
that only the adapter that produced them interprets.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def check_id(name: str, value: str | None) -> None:
    """Reject an id that would break Parley's Redis keys, which join ids with ":".

    Discord snowflakes, Slack ids and Slack timestamps never contain ":"; raises ValueError.
    """
    if value is not None and (":" in value or not value):
        raise ValueError(f"{name} id must be non-empty and contain no ':', got {value[:40]!r}")


@dataclass(frozen=True)
class Place:
    """Location of an event: platform, space and channel (and thread, when inside one)."""

    platform: str
    space: str
    channel: str
    thread: str | None = None

    def __post_init__(self) -> None:
        check_id("platform", self.platform)
        check_id("space", self.space)
        check_id("channel", self.channel)
        check_id("thread", self.thread)

    def key(self) -> str:
        return f"{self.platform}:{self.space}:{self.channel}"


@dataclass(frozen=True)
class Author:
    """Author of a message or command. `is_bot` covers bots and webhook relays."""

    id: str
    name: str
    avatar_url: str | None = None
    is_bot: bool = False
    is_admin: bool = False
    locale: str = "en"

    def __post_init__(self) -> None:
        check_id("user", self.id)


@dataclass(frozen=True)
class MessageCreated:
    event_id: str
    place: Place
    author: Author
    message_id: str
    text: str
    reply_to: str | None = None
    is_webhook: bool = False

    def __post_init__(self) -> None:
        check_id("message", self.message_id)
        check_id("reply", self.reply_to)


@dataclass(frozen=True)
class MessageEdited:
    event_id: str
    place: Place
    author: Author
    message_id: str
    text: str

    def __post_init__(self) -> None:
        check_id("message", self.message_id)


@dataclass(frozen=True)
class MessageDeleted:
    event_id: str
    place: Place
    message_id: str

    def __post_init__(self) -> None:
        check_id("message", self.message_id)


@dataclass(frozen=True)
class ReactionAdded:
    event_id: str
    place: Place
    author: Author
    message_id: str
    emoji: str

    def __post_init__(self) -> None:
        check_id("message", self.message_id)


@dataclass(frozen=True)
class Command:
    """A slash command or its console form: `name` is the command path, e.g. "link create"."""

    event_id: str
    place: Place
    author: Author
    name: str
    options: dict[str, str] = field(default_factory=dict)


Event = MessageCreated | MessageEdited | MessageDeleted | ReactionAdded | Command
