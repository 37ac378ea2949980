"""The transcript parser: valid lines become events; invalid ones say what is wrong."""

from __future__ import annotations

import pytest

from bot.adapters.console.transcript import TranscriptError, parse_line
from bot.core.events import Command, MessageCreated, MessageDeleted, ReactionAdded


def test_message_line_parsed() -> None:
    event = parse_line(
        '{"type": "message", "channel": "c", "user": "u", "id": "m1", '
        '"text": "hola", "reply_to": "m0"}',
        default_event_id="d1",
    )

    assert isinstance(event, MessageCreated)
    assert event.place.platform == "discord"
    assert event.place.space == "demo"
    assert event.event_id == "d1"
    assert event.reply_to == "m0"
    assert event.author.name == "u"


def test_explicit_event_id_kept() -> None:
    event = parse_line(
        '{"type": "delete", "channel": "c", "id": "m1", "event_id": "x"}', default_event_id="d1"
    )

    assert isinstance(event, MessageDeleted)
    assert event.event_id == "x"


def test_command_options_parsed() -> None:
    event = parse_line(
        '{"type": "command", "channel": "c", "user": "u", "admin": true, '
        '"command": "link create", "options": {"channels": "a:en b:es"}}',
        default_event_id="d1",
    )

    assert isinstance(event, Command)
    assert event.author.is_admin is True
    assert event.options == {"channels": "a:en b:es"}


def test_reaction_parsed() -> None:
    event = parse_line(
        '{"type": "reaction", "channel": "c", "user": "u", "id": "m1", '
        '"emoji": "🇫🇷", "platform": "slack"}',
        default_event_id="d1",
    )

    assert isinstance(event, ReactionAdded)
    assert event.place.platform == "slack"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"type": "shout"}', "'type' must be one of"),
        ('{"channel": "c"}', "'type' is required"),
        (
            '{"type": "edit", "channel": "c", "user": "u", "text": "x"}',
            "'id' is required for an edit event",
        ),
        (
            '{"type": "command", "channel": "c", "user": "u", "admin": "no", "command": "help"}',
            "'admin' must be true or false",
        ),
        (
            '{"type": "message", "channel": "c", "user": "u", "id": "m", "text": "x", '
            '"platform": "teams"}',
            "'platform' must be one of discord, slack",
        ),
        (
            '{"type": "command", "channel": "c", "user": "u", "command": "link create", '
            '"options": {"channels": ["a:en", "b:es"]}}',
            "option 'channels' must be a string",
        ),
        ('{"type": "message", "user": "u", "id": "m", "text": "x"}', "'channel' is required"),
        ('{"type": "message", "channel": "c", "user": "u", "id": "m"}', "'text' is required"),
        (
            '{"type": "message", "channel": "c", "user": "u", "id": "m", "text": 5}',
            "'text' must be a string",
        ),
        (
            '{"type": "message", "channel": ["c"], "user": "u", "id": "m", "text": "x"}',
            "'channel' must be a string",
        ),
        (
            '{"type": "command", "channel": "c", "user": "u", "command": "help", "options": 3}',
            "'options' must be an object",
        ),
        ("{oops", "not valid JSON"),
    ],
)
def test_invalid_line_explained(line: str, message: str) -> None:
    with pytest.raises(TranscriptError) as raised:
        parse_line(line, default_event_id="d1")

    assert message in str(raised.value)
