"""Drive the real Bolt app with signed Slack requests, as Slack's servers would send them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.adapters.slack.app import SlackBot
from tests.adapters.slack.fake_slack import BOT_USER, TEAM, ApiCall, FakeSlack

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


def signature(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Sign a request body as Slack does: HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str, content_type: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    when = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": str(when),
        "x-slack-signature": signature(body, when, secret),
    }


def envelope(event: dict[str, Any], *, event_id: str, team: str = TEAM) -> dict[str, Any]:
    """Wrap an event in an Events API envelope, as delivered to the app."""
    return {
        "token": "unused-verification-token",
        "team_id": team,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": team, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}
        ],
    }


class SlackDriver:
    """Sends events, commands and shortcuts into one Bolt app as one workspace."""

    def __init__(self, bot: SlackBot, fake: FakeSlack, *, team: str = TEAM) -> None:
        self.bot = bot
        self.fake = fake
        self.team = team
        self._event_ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._triggers = itertools.count(1)

    async def dispatch(self, body: str, headers: dict[str, str]) -> BoltResponse:
        return await self.bot.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry: int = 0,
        reason: str | None = None,
    ) -> BoltResponse:
        """Deliver one event; `retry` and `reason` set Slack's retry headers."""
        event_id = event_id or f"Ev{next(self._event_ids):04d}"
        body = json.dumps(envelope(event, event_id=event_id, team=self.team))
        headers = signed_headers(body, "application/json")
        if retry:
            headers["x-slack-retry-num"] = str(retry)
            headers["x-slack-retry-reason"] = reason or "http_error"
        return await self.dispatch(body, headers)

    def new_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    async def say(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        event_id: str | None = None,
    ) -> str:
        """Post a user message; returns its ts."""
        ts = ts or self.new_ts()
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.team,
            "channel_type": "channel",
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        response = await self.event(event, event_id=event_id)
        assert response.status == 200, response.body
        return ts

    async def edit(
        self, channel: str, user: str, ts: str, text: str, previous: str
    ) -> BoltResponse:
        return await self.event(
            {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": channel,
                "ts": self.new_ts(),
                "message": {"type": "message", "user": user, "text": text, "ts": ts},
                "previous_message": {"type": "message", "user": user, "text": previous, "ts": ts},
            }
        )

    async def delete(self, channel: str, ts: str, previous: str) -> BoltResponse:
        return await self.event(
            {
                "type": "message",
                "subtype": "message_deleted",
                "hidden": True,
                "channel": channel,
                "ts": self.new_ts(),
                "deleted_ts": ts,
                "previous_message": {"type": "message", "text": previous, "ts": ts},
            }
        )

    async def react(self, channel: str, user: str, ts: str, reaction: str) -> BoltResponse:
        return await self.event(
            {
                "type": "reaction_added",
                "user": user,
                "reaction": reaction,
                "item": {"type": "message", "channel": channel, "ts": ts},
                "event_ts": self.new_ts(),
            }
        )

    async def command(self, channel: str, user: str, text: str) -> BoltResponse:
        """Run ``/parley text``; its private replies land in fake.responses as "command-N"."""
        number = next(self._triggers)
        fields = {
            "token": "unused-verification-token",
            "team_id": self.team,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": channel.lower(),
            "user_id": user,
            "user_name": user.lower(),
            "command": "/parley",
            "text": text,
            "api_app_id": "A1",
            "response_url": self.fake.response_url(f"command-{number}"),
            "trigger_id": f"trigger-{number}",
        }
        body = urlencode(fields)
        return await self.dispatch(body, signed_headers(body, "application/x-www-form-urlencoded"))

    async def shortcut(self, channel: str, user: str, message: dict[str, Any]) -> BoltResponse:
        """Use the "Translate" shortcut on `message`; replies land as "shortcut-N"."""
        number = next(self._triggers)
        payload = {
            "type": "message_action",
            "token": "unused-verification-token",
            "action_ts": str(time.time()),
            "team": {"id": self.team, "domain": "fake"},
            "user": {"id": user, "name": user.lower(), "team_id": self.team},
            "channel": {"id": channel, "name": channel.lower()},
            "callback_id": "translate_message",
            "trigger_id": f"trigger-{number}",
            "message_ts": message["ts"],
            "message": message,
            "response_url": self.fake.response_url(f"shortcut-{number}"),
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.dispatch(body, signed_headers(body, "application/x-www-form-urlencoded"))

    # Reading what the app did.

    def posts(self, channel: str | None = None) -> list[ApiCall]:
        return [
            call
            for call in self.fake.calls_to("chat.postMessage")
            if channel in (None, call.params["channel"])
        ]

    def replies(self, prefix: str) -> list[str]:
        """Texts posted to response URLs whose name starts with `prefix`."""
        return [
            str(reply.get("text"))
            for reply in self.fake.responses
            if str(reply["_name"]).startswith(prefix)
        ]
