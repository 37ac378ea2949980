"""Slack events through the real Bolt app into the real core, and the calls Slack gets back."""

from __future__ import annotations

import logging

import pytest

from tests.adapters.slack.driver import SlackDriver
from tests.adapters.slack.fake_slack import FakeSlack

SPANISH = "Mañana vamos a la playa con toda la familia si hace buen tiempo."
ENGLISH = "We will bring sandwiches and something to drink for everyone."
ENGLISH_EDITED = "We will bring pizza and something cold to drink for everyone."


async def link_channels(driver: SlackDriver) -> None:
    await driver.command("C1", "UMOD", "link create <#C1|chat-en>:en <#C2|chat-es>:es")


async def test_linked_relay_as_author(driver: SlackDriver) -> None:
    await link_channels(driver)

    await driver.say("C2", "UANA", SPANISH)

    posts = driver.posts("C1")
    assert len(posts) == 1
    params = posts[0].params
    assert params["text"] == f"[en] {SPANISH}"
    assert params["username"] == "Ana García"
    assert params["icon_url"] == "https://avatars.example/ana.png"
    assert params["unfurl_links"] is False
    assert params["link_names"] is False
    assert "thread_ts" not in params


async def test_link_reply_in_caller_language(driver: SlackDriver) -> None:
    await driver.command("C1", "UMOD", "link create <#C1|chat-en>:en <#C2|chat-es>:es")

    assert driver.replies("command-1") == [
        "Linked: #C1:en #C2:es. Each message will be relayed to the other channels in their "
        "language."
    ]


async def test_linked_thread_reply_follows_copy(driver: SlackDriver) -> None:
    await link_channels(driver)
    parent = await driver.say("C2", "UANA", SPANISH)
    parent_copy = driver.posts("C1")[0]

    await driver.say(
        "C2", "UBEN", "¿Quién trae las bebidas para la playa mañana?", thread_ts=parent
    )

    reply = driver.posts("C1")[1]
    assert reply.params["thread_ts"] != parent
    assert reply.params["thread_ts"] == copy_ts(driver.fake, parent_copy.params["text"])


def copy_ts(fake: FakeSlack, text: str) -> str:
    """Return the ts the fake gave the post with `text` (posts are numbered in order)."""
    posts = fake.calls_to("chat.postMessage")
    index = [call.params["text"] for call in posts].index(text)
    return f"1700000100.{index + 1:06d}"


async def test_multilingual_copy_in_thread(driver: SlackDriver) -> None:
    await driver.command("C3", "UMOD", "channel languages en es")

    ts = await driver.say("C3", "UBEN", ENGLISH)

    posts = driver.posts("C3")
    assert [post.params["text"] for post in posts] == [f"[es] {ENGLISH}"]
    assert posts[0].params["thread_ts"] == ts
    assert "username" not in posts[0].params


async def test_multilingual_reply_inside_thread(driver: SlackDriver) -> None:
    await driver.command("C3", "UMOD", "channel languages en es")
    parent = await driver.say("C3", "UBEN", ENGLISH)

    await driver.say("C3", "UANA", SPANISH, thread_ts=parent)

    reply_copy = driver.posts("C3")[1]
    assert reply_copy.params["text"] == f"[en] {SPANISH}"
    assert reply_copy.params["thread_ts"] == parent


async def test_edit_updates_copy(driver: SlackDriver) -> None:
    await link_channels(driver)
    ts = await driver.say("C1", "UBEN", ENGLISH)

    await driver.edit("C1", "UBEN", ts, ENGLISH_EDITED, previous=ENGLISH)

    updates = driver.fake.calls_to("chat.update")
    assert len(updates) == 1
    assert updates[0].params["channel"] == "C2"
    assert updates[0].params["ts"] == copy_ts(driver.fake, f"[es] {ENGLISH}")
    assert updates[0].params["text"] == f"[es] {ENGLISH_EDITED}"


async def test_unchanged_edit_ignored(driver: SlackDriver) -> None:
    await link_channels(driver)
    ts = await driver.say("C1", "UBEN", ENGLISH)
    calls_before = len(driver.fake.calls)

    # A link preview arriving: Slack reports message_changed with the same text.
    response = await driver.edit("C1", "UBEN", ts, ENGLISH, previous=ENGLISH)

    assert response.status == 200
    assert driver.fake.calls_to("chat.update") == []
    assert len(driver.fake.calls) == calls_before


async def test_delete_removes_copy(driver: SlackDriver) -> None:
    await link_channels(driver)
    ts = await driver.say("C1", "UBEN", ENGLISH)

    await driver.delete("C1", ts, previous=ENGLISH)

    deletes = driver.fake.calls_to("chat.delete")
    assert len(deletes) == 1
    assert deletes[0].params["channel"] == "C2"
    assert deletes[0].params["ts"] == copy_ts(driver.fake, f"[es] {ENGLISH}")


async def test_retry_handled_once(driver: SlackDriver) -> None:
    await link_channels(driver)
    await driver.say("C1", "UBEN", ENGLISH, ts="1700000000.000900", event_id="EvRetry")

    event = {
        "type": "message",
        "channel": "C1",
        "user": "UBEN",
        "text": ENGLISH,
        "ts": "1700000000.000900",
    }
    response = await driver.event(event, event_id="EvRetry", retry=1, reason="http_error")

    assert response.status == 200
    assert len(driver.posts("C2")) == 1


async def test_timeout_retry_skipped_early(
    driver: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    await link_channels(driver)
    await driver.say("C1", "UBEN", ENGLISH, ts="1700000000.000901", event_id="EvLate")
    calls_before = len(driver.fake.calls)

    event = {
        "type": "message",
        "channel": "C1",
        "user": "UBEN",
        "text": ENGLISH,
        "ts": "1700000000.000901",
    }
    with caplog.at_level(logging.INFO, logger="bot.adapters.slack.listeners"):
        response = await driver.event(event, event_id="EvLate", retry=1, reason="http_timeout")

    assert response.status == 200
    assert len(driver.fake.calls) == calls_before
    assert "EvLate in T1: retry 1 (http_timeout) skipped" in caplog.text


async def test_timeout_retry_of_lost_delivery(driver: SlackDriver) -> None:
    await link_channels(driver)

    # The first delivery never reached Parley, so the retry is the one that counts.
    event = {
        "type": "message",
        "channel": "C1",
        "user": "UBEN",
        "text": ENGLISH,
        "ts": "1700000000.000902",
    }
    await driver.event(event, event_id="EvLost", retry=1, reason="http_timeout")

    assert [post.params["text"] for post in driver.posts("C2")] == [f"[es] {ENGLISH}"]


async def test_channel_join_ignored(driver: SlackDriver) -> None:
    await link_channels(driver)

    response = await driver.event(
        {
            "type": "message",
            "subtype": "channel_join",
            "channel": "C1",
            "user": "UBEN",
            "text": "<@UBEN> has joined the channel",
            "ts": driver.new_ts(),
        }
    )

    assert response.status == 200
    assert driver.posts() == []


async def test_bot_message_not_relayed(driver: SlackDriver) -> None:
    await link_channels(driver)

    await driver.event(
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B9",
            "username": "deploybot",
            "channel": "C1",
            "text": ENGLISH,
            "ts": driver.new_ts(),
        }
    )

    looked_up = [call.params["user"] for call in driver.fake.calls_to("users.info")]
    assert driver.posts() == []
    assert looked_up == ["UMOD"]


async def test_flag_reaction_translates(driver: SlackDriver) -> None:
    await driver.command("C3", "UMOD", "channel languages en es")
    ts = await driver.say("C3", "UBEN", ENGLISH)

    await driver.react("C3", "UANA", ts, "flag-fr")

    posts = driver.posts("C3")
    assert posts[-1].params["text"] == f"[fr] {ENGLISH}"
    assert posts[-1].params["thread_ts"] == ts


async def test_author_looked_up_once(driver: SlackDriver) -> None:
    await link_channels(driver)

    await driver.say("C1", "UBEN", ENGLISH)
    await driver.say("C1", "UBEN", ENGLISH_EDITED)

    lookups = [call for call in driver.fake.calls_to("users.info") if call.params["user"] == "UBEN"]
    assert len(lookups) == 1
    assert lookups[0].params["include_locale"] in ("1", "true", True)
