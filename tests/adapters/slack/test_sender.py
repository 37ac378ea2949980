"""SlackSender against the fake Web API: parameters of each call, mentions, failures, 429s."""

from __future__ import annotations

import logging

import pytest

from bot.adapters.slack.app import SlackBot
from bot.adapters.slack.sender import SlackSender, neutralise_broadcasts
from bot.core.actions import Action, ActionKind
from tests.adapters.slack.driver import BOT_TOKEN
from tests.adapters.slack.fake_slack import FakeSlack


def action(kind: ActionKind, text: str = "hola", **fields: str | None) -> Action:
    return Action(kind, "slack", "T1", "C1", text, origin="m1", **fields)  # type: ignore[arg-type]


@pytest.fixture
def sender(slack: SlackBot) -> SlackSender:
    return slack.slack_sender


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!here> meeting now", "@here meeting now"),
        ("<!channel|channel> and <!everyone>", "@channel and @everyone"),
        ("ping <!subteam^S0614TZR7|@designers>", "ping @designers"),
        ("ping <!subteam^S0614TZR7>", "ping @group"),
        ("thanks <@U123>, see <#C42|general>", "thanks <@U123>, see <#C42|general>"),
        ("plain @here stays inert", "plain @here stays inert"),
    ],
)
def test_broadcasts_neutralised(text: str, expected: str) -> None:
    assert neutralise_broadcasts(text) == expected


async def test_post_returns_ts(sender: SlackSender, fake_slack: FakeSlack) -> None:
    new_id = await sender.send(action(ActionKind.POST))

    assert new_id == "1700000100.000001"
    assert fake_slack.calls_to("chat.postMessage")[0].token == BOT_TOKEN


async def test_relay_post_neutralised(sender: SlackSender, fake_slack: FakeSlack) -> None:
    relay = action(ActionKind.POST, "<!channel> lunch?", display_name="Ana", avatar_url=None)

    await sender.send(relay)

    params = fake_slack.calls_to("chat.postMessage")[0].params
    assert params["text"] == "@channel lunch?"
    assert params["username"] == "Ana"
    assert "icon_url" not in params


async def test_parley_post_keeps_app_name(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(action(ActionKind.POST))

    params = fake_slack.calls_to("chat.postMessage")[0].params
    assert "username" not in params
    assert params["unfurl_media"] is False


async def test_thread_before_target(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(
        action(ActionKind.POST, target="1700000000.000009", thread="1700000000.000001")
    )

    params = fake_slack.calls_to("chat.postMessage")[0].params
    assert params["thread_ts"] == "1700000000.000001"


async def test_edit_updates(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(action(ActionKind.EDIT, "<!here> adiós", target="1700000000.000003"))

    params = fake_slack.calls_to("chat.update")[0].params
    assert params["ts"] == "1700000000.000003"
    assert params["text"] == "@here adiós"


async def test_ephemeral_to_user(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(action(ActionKind.EPHEMERAL, user="UANA"))

    params = fake_slack.calls_to("chat.postEphemeral")[0].params
    assert params["user"] == "UANA"
    assert params["channel"] == "C1"


async def test_dm_opens_once(sender: SlackSender, fake_slack: FakeSlack) -> None:
    first = await sender.send(action(ActionKind.DM, user="UANA"))
    await sender.send(action(ActionKind.DM, user="UANA"))

    assert first is not None
    assert len(fake_slack.calls_to("conversations.open")) == 1
    assert [call.params["channel"] for call in fake_slack.calls_to("chat.postMessage")] == [
        "DUANA",
        "DUANA",
    ]


async def test_rate_limit_retried(sender: SlackSender, fake_slack: FakeSlack) -> None:
    fake_slack.rate_limited["chat.postMessage"] = 1

    new_id = await sender.send(action(ActionKind.POST))

    assert new_id is not None
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_failure_logged_not_raised(
    sender: SlackSender, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.failing["chat.postMessage"] = "not_in_channel"

    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.sender"):
        new_id = await sender.send(action(ActionKind.POST))

    assert new_id is None
    assert "slack post in T1/C1 (origin m1) failed: not_in_channel" in caplog.text
    assert BOT_TOKEN not in caplog.text


async def test_token_missing_logged(sender: SlackSender, caplog: pytest.LogCaptureFixture) -> None:
    async def no_token(space: str) -> str | None:
        return None

    sender.api.tokens.bot_token = no_token  # type: ignore[method-assign]

    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.sender"):
        new_id = await sender.send(action(ActionKind.DELETE, target="1700000000.000003"))

    assert new_id is None
    assert "no Slack installation for workspace T1" in caplog.text


def test_max_length(sender: SlackSender) -> None:
    assert sender.max_length("slack") == 4000
