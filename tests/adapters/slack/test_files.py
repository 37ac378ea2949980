"""SlackSender uploads a reply's attachment to the recipient's DM, against the fake Web API."""

from __future__ import annotations

import logging

import pytest

from bot.adapters.slack.app import SlackBot
from bot.adapters.slack.sender import SlackSender
from bot.core.actions import Action, ActionKind, Attachment
from tests.adapters.slack.driver import BOT_TOKEN
from tests.adapters.slack.fake_slack import FakeSlack

CSV = Attachment("parley-cards.csv", b"front,back\nhola,hello\n", "text/csv")
UPLOAD_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")


def reply(
    kind: ActionKind = ActionKind.EPHEMERAL,
    attachment: Attachment | None = CSV,
    user: str | None = "UANA",
) -> Action:
    return Action(kind, "slack", "T1", "C1", "Exported 1 card", user=user, attachment=attachment)


@pytest.fixture
def sender(slack: SlackBot) -> SlackSender:
    return slack.slack_sender


async def test_ephemeral_file_goes_to_dm(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(reply())

    ephemeral = fake_slack.calls_to("chat.postEphemeral")
    assert [call.params["text"] for call in ephemeral] == ["Exported 1 card"]
    assert fake_slack.calls_to("conversations.open")[0].params["users"] == "UANA"
    [uploaded] = fake_slack.uploads.values()
    assert uploaded.data == CSV.data
    assert uploaded.file_name == "parley-cards.csv"
    assert uploaded.length == len(CSV.data)
    assert uploaded.channel == "DUANA"
    assert uploaded.title == "parley-cards.csv"
    for method in UPLOAD_METHODS:
        assert [call.token for call in fake_slack.calls_to(method)] == [BOT_TOKEN]


async def test_text_sent_before_upload(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(reply())

    methods = [call.method for call in fake_slack.calls]
    assert methods.index("chat.postEphemeral") < methods.index("files.getUploadURLExternal")
    assert methods[-1] == "files.completeUploadExternal"


async def test_dm_opened_once(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(reply())
    await sender.send(reply(ActionKind.DM))

    assert len(fake_slack.calls_to("conversations.open")) == 1
    assert [call.params["channel"] for call in fake_slack.calls_to("chat.postMessage")] == ["DUANA"]
    assert [uploaded.channel for uploaded in fake_slack.uploads.values()] == ["DUANA", "DUANA"]


async def test_upload_error_keeps_text(
    sender: SlackSender, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.failing["files.completeUploadExternal"] = "not_allowed_token_type"

    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.sender"):
        await sender.send(reply())

    assert len(fake_slack.calls_to("chat.postEphemeral")) == 1
    assert [uploaded.channel for uploaded in fake_slack.uploads.values()] == [None]
    assert (
        "slack upload of parley-cards.csv (22 bytes) to the DM of UANA in T1 (origin None) "
        "failed: not_allowed_token_type" in caplog.text
    )
    assert BOT_TOKEN not in caplog.text


async def test_rejected_bytes_logged(
    sender: SlackSender, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.upload_status = 500

    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack.sender"):
        new_id = await sender.send(reply(ActionKind.DM))

    assert new_id == "1700000100.000001"
    assert fake_slack.calls_to("files.completeUploadExternal") == []
    assert "SlackRequestError: Failed to upload a file (status: 500" in caplog.text


async def test_no_attachment_no_upload(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.send(reply(attachment=None))

    assert len(fake_slack.calls_to("chat.postEphemeral")) == 1
    assert fake_slack.calls_to("conversations.open") == []
    for method in UPLOAD_METHODS:
        assert fake_slack.calls_to(method) == []
    assert fake_slack.uploads == {}


async def test_no_recipient_no_upload(sender: SlackSender, fake_slack: FakeSlack) -> None:
    await sender.upload_attachment(reply(user=None))

    assert fake_slack.calls == []
