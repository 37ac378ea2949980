"""The JSON Lines transcript format: one event per line, parsed into neutral core events."""

from __future__ import annotations

import json
from typing import Any

from bot.core.events import (
    Author,
    Command,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    Place,
    ReactionAdded,
)

EVENT_TYPES = ("message", "edit", "delete", "reaction", "command")
PLATFORMS = ("discord", "slack")
_ID_FIELDS = ("platform", "space", "channel", "user", "id", "thread", "reply_to", "event_id")


class TranscriptError(ValueError):
    """A transcript line is not a valid event. The message names the field and the problem."""


def parse_line(
    line: str, *, default_event_id: str, platform: str = "discord", space: str = "demo"
) -> Event:
    """Parse one JSON line into an event; raises TranscriptError describing the problem."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        reason = error.msg.removesuffix(" at")
        raise TranscriptError(f"not valid JSON ({reason} at column {error.colno})") from None
    except RecursionError:
        raise TranscriptError("not valid JSON (nested too deeply)") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise TranscriptError(
            "contains a lone surrogate (\\ud800-\\udfff), which is not text"
        ) from None
    try:
        return _event(data, default_event_id=default_event_id, platform=platform, space=space)
    except ValueError as error:
        if isinstance(error, TranscriptError):
            raise
        raise TranscriptError(str(error)) from None


def _event(data: object, *, default_event_id: str, platform: str, space: str) -> Event:
    if not isinstance(data, dict):
        raise TranscriptError(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind is None:
        raise TranscriptError(f"'type' is required: one of {', '.join(EVENT_TYPES)}")
    if kind not in EVENT_TYPES:
        raise TranscriptError(f"'type' must be one of {', '.join(EVENT_TYPES)}; got {kind!r}")
    for name in ("admin", "bot", "webhook"):
        if name in data and not isinstance(data[name], bool):
            raise TranscriptError(f"'{name}' must be true or false, got {data[name]!r}")
    platform = str(data.get("platform", platform))
    if platform not in PLATFORMS:
        raise TranscriptError(f"'platform' must be one of {', '.join(PLATFORMS)}; got {platform!r}")
    for name in _ID_FIELDS:
        if name in data and data[name] is not None and not isinstance(data[name], str | int):
            raise TranscriptError(f"'{name}' must be a string, got {type(data[name]).__name__}")

    place = Place(
        platform=platform,
        space=str(data.get("space", space)),
        channel=_required(data, "channel"),
        thread=_optional(data, "thread"),
    )
    event_id = _optional(data, "event_id") or default_event_id
    if kind == "delete":
        return MessageDeleted(event_id, place, _required(data, "id"))

    author = Author(
        id=_required(data, "user"),
        name=str(data.get("name") or data["user"]),
        avatar_url=_optional(data, "avatar_url"),
        is_bot=data.get("bot", False),
        is_admin=data.get("admin", False),
        locale=str(data.get("locale", "en")),
    )
    if kind == "message":
        return MessageCreated(
            event_id,
            place,
            author,
            _required(data, "id"),
            _text(data),
            reply_to=_optional(data, "reply_to"),
            is_webhook=data.get("webhook", False),
        )
    if kind == "edit":
        return MessageEdited(event_id, place, author, _required(data, "id"), _text(data))
    if kind == "reaction":
        return ReactionAdded(
            event_id, place, author, _required(data, "id"), _required(data, "emoji")
        )
    return Command(event_id, place, author, _required(data, "command"), _options(data))


def _required(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None or str(value) == "":
        raise TranscriptError(f"'{name}' is required for {_article(data['type'])} event")
    return str(value)


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _optional(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value is None or value == "" else str(value)


def _text(data: dict[str, Any]) -> str:
    value = data.get("text")
    if value is None:
        raise TranscriptError(f"'text' is required for {_article(data['type'])} event")
    if not isinstance(value, str):
        raise TranscriptError(f"'text' must be a string, got {type(value).__name__}")
    return value


def _options(data: dict[str, Any]) -> dict[str, str]:
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise TranscriptError("'options' must be an object of option name → value")
    for key, value in options.items():
        if not isinstance(value, str):
            raise TranscriptError(
                f"option '{key}' must be a string, got {type(value).__name__}; "
                'write lists as one string, e.g. "c1:en c2:es"'
            )
    return dict(options)
