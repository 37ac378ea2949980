"""Reading Slack event payloads: which neutral event a message event is, and its ids.

These functions only read payloads; looking up authors and calling the core happens in
`bot.adapters.slack.listeners`.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.adapters.slack.sender import PLATFORM
from bot.core.events import Author, Place

MessageKind = Literal["created", "edited", "deleted"]

# Message subtypes that carry a message someone wrote. Every other subtype (channel_join,
# channel_topic, pinned_item, …) is a notice about the channel and is ignored.
WRITTEN_SUBTYPES = frozenset({None, "bot_message", "thread_broadcast", "file_share", "me_message"})


def message_kind(event: dict[str, Any]) -> MessageKind | None:
    """Classify a `message` event, or return None for one Parley ignores.

    A ``message_changed`` event counts as an edit only when the text changed: Slack also
    sends one, with the same text, when a link preview is added or a thread gets a reply.
    """
    subtype = event.get("subtype")
    if subtype == "message_deleted":
        return "deleted" if event.get("deleted_ts") else None
    if subtype == "message_changed":
        message = event.get("message") or {}
        previous = event.get("previous_message") or {}
        if "text" not in message or message.get("text") == previous.get("text"):
            return None
        return "edited"
    if subtype in WRITTEN_SUBTYPES and event.get("ts"):
        return "created"
    return None


def thread_of(message: dict[str, Any]) -> str | None:
    """Return the thread a message sits in: its parent's ts, or None at the channel's top.

    A thread's parent carries ``thread_ts`` equal to its own ``ts``; that is not "inside".
    """
    thread = message.get("thread_ts")
    if not thread or thread == message.get("ts"):
        return None
    return str(thread)


def place_of(space: str, channel: str, message: dict[str, Any] | None = None) -> Place:
    thread = thread_of(message) if message is not None else None
    return Place(PLATFORM, space, channel, thread)


def is_bot_message(message: dict[str, Any]) -> bool:
    """True for posts by bots, apps and incoming webhooks (they carry a ``bot_id``)."""
    return message.get("subtype") == "bot_message" or bool(message.get("bot_id"))


def bot_author(message: dict[str, Any]) -> Author:
    """Build the Author of a bot post without a users.info call.

    The id is the bot's user id when Slack gives one, because ``/parley bots allow @bot``
    names the bot user. Older integrations have only a ``bot_id``.
    """
    profile = message.get("bot_profile") or {}
    icons = message.get("icons") or profile.get("icons") or {}
    return Author(
        id=str(message.get("user") or message.get("bot_id") or "unknown-bot"),
        name=str(message.get("username") or profile.get("name") or "bot"),
        avatar_url=icons.get("image_72") or icons.get("image_48"),
        is_bot=True,
    )


def space_of(body: dict[str, Any], team_id: str | None) -> str | None:
    """Return the workspace (team id) an Events API payload belongs to.

    `team_id` is Bolt's reading of the request. The envelope's ``team_id`` is the workspace
    that received the event, also in enterprise installs and shared channels, where the
    event's own ``team`` can be the author's workspace.
    """
    found = team_id or body.get("team_id")
    return str(found) if found else None


def retry_of(headers: dict[str, Any]) -> tuple[int, str | None]:
    """Return (retry number, retry reason) from request headers; (0, None) for a first try.

    HTTP deliveries carry ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason``; Bolt's Socket
    Mode adapter copies a redelivery's ``retry_attempt`` and ``retry_reason`` into the same
    headers. Bolt lower-cases header names and stores each value as a list.
    """
    numbers = headers.get("x-slack-retry-num") or ["0"]
    reasons = headers.get("x-slack-retry-reason") or [None]
    try:
        number = int(numbers[0])
    except (TypeError, ValueError):
        number = 0
    return number, reasons[0]
