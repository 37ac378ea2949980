"""Set-up and on-demand commands, with their errors in the caller's locale."""

from __future__ import annotations

import pytest

from bot.core.actions import ActionKind
from bot.core.commands import parse_command_text
from bot.core.conversation import Parley
from bot.core.errors import UserError
from bot.core.events import Author
from tests.chat import Chat
from tests.fakes import FakeEngine

MEMBER = Author("u-ben", "Ben", locale="es-ES")


async def test_admin_only_command_rejected(parley: Parley) -> None:
    chat = Chat(parley)

    replies = await chat.command("lobby", "channel languages", author=MEMBER, languages="en es")

    assert len(replies) == 1
    assert replies[0].kind == ActionKind.EPHEMERAL
    assert replies[0].user == "u-ben"
    assert "administradores" in replies[0].text


async def test_bad_language_named(parley: Parley) -> None:
    chat = Chat(parley)

    replies = await chat.command("lobby", "channel languages", languages="en klingon")

    assert "`klingon`" in replies[0].text


async def test_link_rejects_taken_channel(parley: Parley) -> None:
    chat = Chat(parley)
    await chat.command("a", "link create", channels="a:en b:es")

    replies = await chat.command("c", "link create", channels="c:fr b:es")

    assert "#b" in replies[0].text
    assert "already" in replies[0].text


async def test_link_rejects_malformed_item(parley: Parley) -> None:
    chat = Chat(parley)

    replies = await chat.command("a", "link create", channels="a:en b")

    assert "`b`" in replies[0].text


async def test_link_remove_dissolves_group(parley: Parley) -> None:
    chat = Chat(parley)
    await chat.command("a", "link create", channels="<#a>:en #b:es")

    await chat.command("b", "link remove")
    outcome = await chat.say("a", "Ben", "This message should stay where it is written.", id="m1")

    assert outcome.actions == []


async def test_translate_uses_reading_language(parley: Parley) -> None:
    chat = Chat(parley)
    await chat.command("lobby", "channel languages", languages="en es")
    await chat.say("lobby", "Ana", "Mañana vamos a la playa con toda la familia.", id="m1")
    await chat.command("lobby", "language set", author=MEMBER, language="fr")

    replies = await chat.command("lobby", "translate", author=MEMBER, message="m1")

    assert replies[0].kind == ActionKind.EPHEMERAL
    assert replies[0].text.startswith("[fr] ")
    assert replies[0].language == "fr"


async def test_translate_unknown_message(parley: Parley) -> None:
    chat = Chat(parley)

    replies = await chat.command("lobby", "translate", message="nope")

    assert "`nope`" in replies[0].text


async def test_unknown_option_rejected(parley: Parley) -> None:
    chat = Chat(parley)

    replies = await chat.command("lobby", "language set", language="fr", colour="red")

    assert "colour" in replies[0].text


@pytest.mark.parametrize(
    ("text", "name", "options"),
    [
        ("/link create a:en b:es", "link create", {"channels": "a:en b:es"}),
        (
            "/channel languages en es style=thread",
            "channel languages",
            {"languages": "en es", "style": "thread"},
        ),
        ("/translate m1 fr", "translate", {"message": "m1", "language": "fr"}),
        ("/help", "help", {}),
    ],
)
def test_parse_command_text(text: str, name: str, options: dict[str, str]) -> None:
    assert parse_command_text(text) == (name, options)


def test_parse_command_text_unknown() -> None:
    with pytest.raises(UserError):
        parse_command_text("/frobnicate now")


async def test_failed_engine_check_saves_nothing(parley: Parley, engine: FakeEngine) -> None:
    chat = Chat(parley)
    engine.supports_fails = True

    replies = await chat.command("a", "link create", channels="a:en b:es")
    engine.supports_fails = False
    retry = await chat.command("a", "link create", channels="a:en b:es")

    assert "not answering" in replies[0].text
    assert retry[0].text.startswith("Linked:")


async def test_translate_given_text(parley: Parley) -> None:
    chat = Chat(parley)

    replies = await chat.command(
        "elsewhere",
        "translate",
        author=MEMBER,
        message="x1",
        language="fr",
        text="Tomorrow we are going to the beach with the whole family.",
    )

    assert replies[0].text == "[fr] Tomorrow we are going to the beach with the whole family."


def test_parse_command_text_unknown_option_named() -> None:
    with pytest.raises(UserError) as raised:
        parse_command_text("/language set colour=red")

    assert raised.value.params["option"] == "colour"
