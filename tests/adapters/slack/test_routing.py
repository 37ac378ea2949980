"""Slack ↔ Discord relays through the RoutingSender, with a recording stand-in for the
Discord sender, and a link made with the core's /link bridge and /link join."""

from __future__ import annotations

import itertools
import logging

import pytest

from bot.adapters.slack.app import SlackBot, build_slack
from bot.adapters.slack.config import SlackConfig
from bot.adapters.slack.routing import RoutingSender
from bot.core.actions import Action, ActionKind
from bot.core.conversation import Parley
from bot.core.events import Author, Command, MessageCreated, MessageDeleted, Place
from bot.core.store import Store
from tests.adapters.slack.driver import SlackDriver
from tests.adapters.slack.fake_slack import FakeSlack

SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."
ENGLISH = "We will bring sandwiches and something to drink for everyone."
DISCORD_CHANNEL = Place("discord", "guild1", "general-es")
ANA = Author("d-ana", "Ana", avatar_url="https://cdn.discord.example/ana.png")
DISCORD_ADMIN = Author("d-mod", "Mod", is_admin=True)


class DiscordStub:
    """Records the actions routed to Discord; posts get ids d1, d2, …"""

    def __init__(self) -> None:
        self.sent: list[Action] = []
        self._ids = itertools.count(1)

    def max_length(self, platform: str) -> int:
        return 2000

    async def send(self, action: Action) -> str | None:
        self.sent.append(action)
        return f"d{next(self._ids)}" if action.kind == ActionKind.POST else None

    def posts(self) -> list[Action]:
        return [action for action in self.sent if action.kind == ActionKind.POST]


@pytest.fixture
def discord() -> DiscordStub:
    return DiscordStub()


@pytest.fixture
def bridged(
    slack_config: SlackConfig, parley: Parley, store: Store, discord: DiscordStub
) -> SlackBot:
    return build_slack(
        slack_config,
        parley,
        store,
        process_before_response=True,
        other_senders={"discord": discord},
    )


async def bridge(bot: SlackBot, driver: SlackDriver, parley: Parley, discord: DiscordStub) -> None:
    """Link Discord's #general-es (es) and Slack's C1 (en) with a one-time code."""
    command = Command("d-e1", DISCORD_CHANNEL, DISCORD_ADMIN, "link bridge", {"language": "es"})
    reply = (await parley.handle(command, bot.sender)).actions[0]
    code = reply.text.split()[1].rstrip(".")
    await driver.command("C1", "UMOD", f"link join {code} en")


async def test_slack_to_discord(
    bridged: SlackBot, fake_slack: FakeSlack, parley: Parley, discord: DiscordStub
) -> None:
    driver = SlackDriver(bridged, fake_slack)
    await bridge(bridged, driver, parley, discord)

    await driver.say("C1", "UBEN", ENGLISH)

    posts = discord.posts()
    assert len(posts) == 1
    assert posts[0].channel == "general-es"
    assert posts[0].text == f"[es] {ENGLISH}"
    assert posts[0].display_name == "Ben"
    assert posts[0].avatar_url == "https://avatars.example/ben.png"
    assert driver.posts() == []


async def test_discord_to_slack(
    bridged: SlackBot, fake_slack: FakeSlack, parley: Parley, discord: DiscordStub
) -> None:
    driver = SlackDriver(bridged, fake_slack)
    await bridge(bridged, driver, parley, discord)

    message = MessageCreated("d-e2", DISCORD_CHANNEL, ANA, "d-100", SPANISH)
    await parley.handle(message, bridged.sender)

    posts = driver.posts("C1")
    assert len(posts) == 1
    assert posts[0].params["text"] == f"[en] {SPANISH}"
    assert posts[0].params["username"] == "Ana"
    assert posts[0].params["icon_url"] == "https://cdn.discord.example/ana.png"
    assert discord.posts() == []


async def test_discord_delete_reaches_slack(
    bridged: SlackBot, fake_slack: FakeSlack, parley: Parley, discord: DiscordStub
) -> None:
    driver = SlackDriver(bridged, fake_slack)
    await bridge(bridged, driver, parley, discord)
    await parley.handle(
        MessageCreated("d-e2", DISCORD_CHANNEL, ANA, "d-100", SPANISH), bridged.sender
    )

    await parley.handle(MessageDeleted("d-e3", DISCORD_CHANNEL, "d-100"), bridged.sender)

    deletes = fake_slack.calls_to("chat.delete")
    assert [call.params["channel"] for call in deletes] == ["C1"]


async def test_join_reply_on_slack(
    bridged: SlackBot, fake_slack: FakeSlack, parley: Parley, discord: DiscordStub
) -> None:
    driver = SlackDriver(bridged, fake_slack)

    await bridge(bridged, driver, parley, discord)

    assert driver.replies("command-1") == [
        "Linked with discord:#general-es (es). Messages are now relayed both ways."
    ]


async def test_unknown_platform_dropped(caplog: pytest.LogCaptureFixture) -> None:
    router = RoutingSender({"discord": DiscordStub()})
    action = Action(ActionKind.POST, "matrix", "s1", "room", "hello", origin="m1")

    with caplog.at_level(logging.ERROR, logger="bot.adapters.slack.routing"):
        result = await router.send(action)

    assert result is None
    assert "no sender for platform matrix" in caplog.text


async def test_max_length_per_platform(bridged: SlackBot) -> None:
    assert bridged.sender.max_length("slack") == 4000
    assert bridged.sender.max_length("discord") == 2000
    assert bridged.sender.max_length("matrix") == 2000
