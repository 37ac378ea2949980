"""The HTTP endpoint: request signatures, URL verification and the health check, over a
real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.slack.app import SlackBot
from bot.adapters.slack.run import build_web_app
from tests.adapters.slack.driver import envelope, signed_headers

EVENT = {
    "type": "message",
    "channel": "C1",
    "user": "UBEN",
    "text": "We will bring sandwiches and something to drink for everyone.",
    "ts": "1700000000.000001",
}


@pytest_asyncio.fixture
async def http(slack: SlackBot) -> AsyncIterator[TestClient[object, object]]:
    async with TestClient(TestServer(build_web_app(slack.app), host="127.0.0.1")) as client:
        yield client


def event_body() -> str:
    return json.dumps(envelope(EVENT, event_id="EvHttp"))


async def test_signed_event_accepted(http: TestClient[object, object]) -> None:
    body = event_body()

    response = await http.post(
        "/slack/events", data=body, headers=signed_headers(body, "application/json")
    )

    assert response.status == 200


async def test_bad_signature_rejected(http: TestClient[object, object]) -> None:
    body = event_body()
    headers = signed_headers(body, "application/json", secret="someone-else's-secret")

    response = await http.post("/slack/events", data=body, headers=headers)

    assert response.status == 401


async def test_stale_timestamp_rejected(http: TestClient[object, object]) -> None:
    body = event_body()
    # Bolt rejects requests signed more than 5 minutes ago, against replays.
    headers = signed_headers(body, "application/json", timestamp=int(time.time()) - 600)

    response = await http.post("/slack/events", data=body, headers=headers)

    assert response.status == 401


async def test_unsigned_request_rejected(http: TestClient[object, object]) -> None:
    response = await http.post(
        "/slack/events", data=event_body(), headers={"content-type": "application/json"}
    )

    assert response.status == 401


async def test_url_verification_answered(http: TestClient[object, object]) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "unused"})

    response = await http.post(
        "/slack/events", data=body, headers=signed_headers(body, "application/json")
    )

    assert response.status == 200
    assert (await response.json())["challenge"] == "abc123"


async def test_health_check(http: TestClient[object, object]) -> None:
    response = await http.get("/healthz")

    assert response.status == 200
    assert await response.text() == "ok"
