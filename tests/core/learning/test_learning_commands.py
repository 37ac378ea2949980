"""Learner commands and message XP through the whole core, as a chat transcript."""

from __future__ import annotations

import re

import pytest

from bot.core.commands import COMMAND_SPECS, parse_command_text
from bot.core.conversation import Parley
from bot.core.events import Author
from bot.core.learning import Learning, register_learning_commands
from bot.core.learning.placement import load_bank
from tests.chat import Chat

ANA = Author("u-ana", "Ana")
ANA_ES = Author("u-ana", "Ana", locale="es-ES")
SLACK_ANA = Author("U-ANA", "Ana")
BEN = Author("u-ben", "Ben")


@pytest.fixture
def wired(parley: Parley, learning: Learning) -> Parley:
    register_learning_commands(parley.commands, learning)
    parley.observers.append(learning.observer)
    return parley


async def reply(chat: Chat, text: str, author: Author = ANA) -> str:
    name, options = parse_command_text(text)
    actions = await chat.command("lobby", name, author=author, **options)
    return "\n".join(action.text for action in actions)


async def spanish_channel(chat: Chat) -> None:
    await chat.command("lobby", "channel languages", languages="en es")


def test_specs_registered(wired: Parley) -> None:
    assert {"profile show", "profile set", "profile link", "xp", "league"} <= set(COMMAND_SPECS)


async def test_profile_set_and_show(wired: Parley) -> None:
    chat = Chat(wired)

    text = await reply(chat, "profile set targets=es:B1 timezone=Asia/Tokyo correction=direct")

    assert "es B1" in text
    assert "Asia/Tokyo" in text
    assert "direct" in text


async def test_profile_error_localized(wired: Parley) -> None:
    chat = Chat(wired)

    text = await reply(chat, "profile set timezone=Nowhere/City", author=ANA_ES)

    assert "`Nowhere/City`" in text
    assert "zona horaria" in text


async def test_spanish_message_earns_xp(wired: Parley) -> None:
    chat = Chat(wired)
    await spanish_channel(chat)
    await reply(chat, "profile set targets=es")

    await chat.say(
        "lobby", "Ana", "Esta mañana estudié los verbos irregulares en la biblioteca.", id="m1"
    )
    await chat.say(
        "lobby", "Ana", "I studied the irregular verbs in the library this morning.", id="m2"
    )
    text = await reply(chat, "xp")

    assert "Today: 3 / 30 XP" in text
    assert "Days in a row: 1" in text


async def test_redelivered_message_counts_once(wired: Parley, learning: Learning) -> None:
    chat = Chat(wired)
    await spanish_channel(chat)
    await reply(chat, "profile set targets=es")
    text = "Mañana vamos a cocinar una paella para toda la familia."

    await chat.say("lobby", "Ana", text, id="m1", event_id="ev-1")
    await chat.say("lobby", "Ana", text, id="m1", event_id="ev-2")

    assert (await learning.xp.summary("discord:u-ana")).total == 3


async def test_placement_by_command(wired: Parley, learning: Learning) -> None:
    chat = Chat(wired)
    answers = {item.prompt: item.answer for item in load_bank("fr")}

    text = await reply(chat, "placement start fr")
    while "a) " in text:
        prompt = text.splitlines()[1]
        text = await reply(chat, f"placement answer {answers[prompt]}")

    assert "C1" in text
    profile = await learning.profiles.get("discord:u-ana")
    assert [(target.language, target.level) for target in profile.targets] == [("fr", "C1")]


async def test_link_shows_progress_on_both(wired: Parley, learning: Learning) -> None:
    discord = Chat(wired)
    slack = Chat(wired, platform="slack", space="T1")
    await learning.award("discord:u-ana", "game", 12, "game-1")

    offer = await reply(discord, "profile link")
    code = re.search(r"\b[A-Z2-9]{8}\b", offer)
    assert code is not None
    linked = await reply(slack, f"profile link {code[0]}", author=SLACK_ANA)
    on_slack = await reply(slack, "xp", author=SLACK_ANA)
    on_discord = await reply(discord, "xp")

    assert "slack:U-ANA" in linked
    assert "Total: 12 XP" in on_slack
    assert "Total: 12 XP" in on_discord


async def test_leaderboard_lists_week(wired: Parley, learning: Learning) -> None:
    chat = Chat(wired)
    await learning.profiles.remember_account("discord:u-ben", "discord", "u-ben", "Ben")
    await learning.award("discord:u-ben", "game", 40, "g1", space=("discord", "s1"))
    await learning.award("discord:u-ana", "game", 25, "g2", space=("discord", "s1"))

    text = await reply(chat, "leaderboard")

    assert "1. Ben: 40 XP" in text
    assert "2. Ana: 25 XP" in text
    assert "You: #2 with 25 XP" in text


async def test_leaderboard_rejects_period(wired: Parley) -> None:
    chat = Chat(wired)

    text = await reply(chat, "leaderboard month")

    assert "`month`" in text


async def test_league_shows_cohort(wired: Parley, learning: Learning) -> None:
    chat = Chat(wired)
    for learner, xp in (("discord:u-ana", 20), ("discord:u-ben", 30), ("discord:u-cy", 10)):
        await learning.profiles.update(learner, {"targets": "es"})
        await learning.award(
            learner, "game", xp, f"g-{learner}", space=("discord", "s1"), language="es"
        )

    text = await reply(chat, "league")

    assert "Bronze league" in text
    assert "You are #2 of 3" in text
    assert "top 1 move up" in text


async def test_league_before_joining(wired: Parley) -> None:
    chat = Chat(wired)

    text = await reply(chat, "league")

    assert "not in a cohort" in text


async def test_help_lists_learning(wired: Parley) -> None:
    chat = Chat(wired)

    text = await reply(chat, "help")

    assert "/placement start <language>" in text
