"""A local stand-in for Discord's HTTP API on 127.0.0.1. It records every request and
serves the endpoints discord.py calls for Parley.

discord.py builds every REST URL, webhooks and interaction callbacks included, from
`discord.http.Route.BASE`; tests point that class attribute at `api_url`.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, web

from tests.adapters.discord import gateway

JSON = dict[str, Any]
DISCORD_EPOCH_MS = 1420070400000
BOT_TOKEN = "fake-bot-token"
# Webhook and interaction routes authenticate with the token in their path instead.
_TOKEN_IN_PATH = re.compile(r"/(webhooks|interactions)/")


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it, `at` seconds on the monotonic clock."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


Handler = Callable[..., Awaitable[Any]]


class FakeDiscord:
    """Discord's REST API for one guild, with enough state to respond consistently.

    Switches: `forbid_webhooks` makes webhook listing and creation return 403.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.messages: dict[int, JSON] = {}
        self.webhooks: dict[int, JSON] = {}
        self.channels: dict[int, JSON] = {
            int(channel["id"]): channel for channel in gateway.guild_channels()
        }
        self.forbid_webhooks = False
        self._counter = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.api_url = ""
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/users/@me"), self._me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._application),
            ("PUT", re.compile(r"/applications/(\d+)/commands"), self._bulk_commands),
            ("GET", re.compile(r"/channels/(\d+)"), self._get_channel),
            ("GET", re.compile(r"/channels/(\d+)/webhooks"), self._list_webhooks),
            ("POST", re.compile(r"/channels/(\d+)/webhooks"), self._create_webhook),
            ("POST", re.compile(r"/channels/(\d+)/messages"), self._create_message),
            ("PATCH", re.compile(r"/channels/(\d+)/messages/(\d+)"), self._edit_message),
            ("DELETE", re.compile(r"/channels/(\d+)/messages/(\d+)"), self._delete_message),
            ("POST", re.compile(r"/channels/(\d+)/messages/(\d+)/threads"), self._start_thread),
            ("POST", re.compile(r"/webhooks/(\d+)/([^/]+)"), self._execute_webhook),
            ("PATCH", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(\d+)"), self._edit_hooked),
            ("DELETE", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(\d+)"), self._delete_hooked),
            ("POST", re.compile(r"/interactions/(\d+)/([^/]+)/callback"), self._callback),
            ("POST", re.compile(r"/users/@me/channels"), self._open_dm),
        ]

    # server

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.api_url = f"http://127.0.0.1:{port}/api/v10"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await _read_body(request)
        self.requests.append(
            Recorded(request.method, path, dict(request.query), body, time.monotonic())
        )
        authorized = request.headers.get("Authorization") == f"Bot {BOT_TOKEN}"
        if not authorized and _TOKEN_IN_PATH.match(path) is None:
            return _json({"code": 0, "message": "401: Unauthorized"}, 401)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if method == request.method and match is not None:
                try:
                    result = await handler(*match.groups(), body=body, query=request.query)
                except ApiError as error:
                    return _json({"code": error.code, "message": error.message}, error.status)
                if result is None:
                    return web.Response(status=204)
                return _json(result)
        return _json({"code": 0, "message": "404: Not Found"}, 404)

    # queries for tests

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        """Return the recorded requests whose path fully matches the regular expression."""
        compiled = re.compile(pattern)
        return [
            call
            for call in self.requests
            if call.method == method and compiled.fullmatch(call.path) is not None
        ]

    def writes(self) -> list[Recorded]:
        """Return every request that would change something on Discord."""
        return [call for call in self.requests if call.method != "GET"]

    def next_id(self) -> int:
        milliseconds = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (milliseconds << 22) | (next(self._counter) & 0x3FFFFF)

    # handlers

    async def _me(self, **_: Any) -> JSON:
        return gateway.bot_user()

    async def _application(self, **_: Any) -> JSON:
        return {
            "id": str(gateway.APPLICATION_ID),
            "name": "Parley",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": gateway.user(gateway.OWNER_ID, "owner"),
            "verify_key": "0" * 64,
            "team": None,
            # GATEWAY_MESSAGE_CONTENT_LIMITED: the portal switch is on.
            "flags": 1 << 19,
        }

    async def _bulk_commands(self, application_id: str, *, body: Any, **_: Any) -> list[JSON]:
        # Discord returns each command as stored; message commands get an empty description.
        return [
            {
                "description": "",
                **command,
                "id": str(self.next_id()),
                "application_id": application_id,
                "version": "1",
            }
            for command in body
        ]

    async def _get_channel(self, channel_id: str, **_: Any) -> JSON:
        channel = self.channels.get(int(channel_id))
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    async def _list_webhooks(self, channel_id: str, **_: Any) -> list[JSON]:
        self._check_webhook_permission()
        return [hook for hook in self.webhooks.values() if hook["channel_id"] == channel_id]

    async def _create_webhook(self, channel_id: str, *, body: Any, **_: Any) -> JSON:
        self._check_webhook_permission()
        webhook_id = self.next_id()
        hook = {
            "id": str(webhook_id),
            "type": 1,
            "guild_id": str(gateway.GUILD_ID),
            "channel_id": channel_id,
            "name": body["name"],
            "avatar": None,
            "token": f"hook-token-{webhook_id}",
            "application_id": str(gateway.APPLICATION_ID),
            "user": gateway.bot_user(),
        }
        self.webhooks[webhook_id] = hook
        return hook

    def _check_webhook_permission(self) -> None:
        if self.forbid_webhooks:
            raise ApiError(403, 50013, "Missing Permissions")

    async def _create_message(self, channel_id: str, *, body: Any, **_: Any) -> JSON:
        return self._store_message(channel_id, body, gateway.bot_user())

    async def _edit_message(self, channel_id: str, message_id: str, *, body: Any, **_: Any) -> JSON:
        message = self._message(message_id)
        message.update(content=body.get("content", message["content"]), edited_timestamp=_now())
        return message

    async def _delete_message(self, channel_id: str, message_id: str, **_: Any) -> None:
        self._message(message_id)
        del self.messages[int(message_id)]

    async def _start_thread(self, channel_id: str, message_id: str, *, body: Any, **_: Any) -> JSON:
        if int(message_id) in self.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        thread = gateway.thread_channel(int(message_id), int(channel_id), body["name"])
        self.channels[int(message_id)] = thread
        return thread

    async def _execute_webhook(
        self, webhook_id: str, token: str, *, body: Any, query: Any
    ) -> JSON | None:
        if int(webhook_id) == gateway.APPLICATION_ID:
            # An interaction followup: the token is the interaction's.
            author = gateway.bot_user()
            channel_id = str(gateway.CHANNEL_IDS["chat-en"])
        else:
            hook = self._webhook(webhook_id, token)
            author = {
                "id": webhook_id,
                "username": body.get("username", hook["name"]),
                "avatar": None,
                "discriminator": "0000",
                "bot": True,
            }
            channel_id = query.get("thread_id", hook["channel_id"])
        message = self._store_message(channel_id, body, author, webhook_id=webhook_id)
        return message if query.get("wait") in ("1", "true", "True") else None

    async def _edit_hooked(
        self, webhook_id: str, token: str, message_id: str, *, body: Any, **_: Any
    ) -> JSON:
        self._webhook(webhook_id, token)
        message = self._message(message_id)
        if message.get("webhook_id") != webhook_id:
            raise ApiError(404, 10008, "Unknown Message")
        message.update(content=body.get("content", message["content"]), edited_timestamp=_now())
        return message

    async def _delete_hooked(self, webhook_id: str, token: str, message_id: str, **_: Any) -> None:
        self._webhook(webhook_id, token)
        message = self._message(message_id)
        if message.get("webhook_id") != webhook_id:
            raise ApiError(404, 10008, "Unknown Message")
        del self.messages[int(message_id)]

    async def _callback(self, interaction_id: str, token: str, *, body: Any, **_: Any) -> JSON:
        flags = (body.get("data") or {}).get("flags", 0)
        return {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": bool(flags & 64),
            },
            "resource": {"type": body["type"]},
        }

    async def _open_dm(self, *, body: Any, **_: Any) -> JSON:
        recipient = body["recipient_id"]
        return {
            "id": str(self.next_id()),
            "type": 1,
            "last_message_id": None,
            "recipients": [gateway.user(int(recipient), "someone")],
        }

    # state helpers

    def _store_message(
        self, channel_id: str, body: Any, author: JSON, *, webhook_id: str | None = None
    ) -> JSON:
        message_id = self.next_id()
        message = gateway.message(
            message_id, int(channel_id), body.get("content", ""), author, guild=False
        )
        message["flags"] = body.get("flags", 0)
        if webhook_id is not None:
            message["webhook_id"] = webhook_id
        reference = body.get("message_reference")
        if reference is not None:
            message["type"] = 19
            message["message_reference"] = reference
        self.messages[message_id] = message
        return message

    def _message(self, message_id: str) -> JSON:
        message = self.messages.get(int(message_id))
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _webhook(self, webhook_id: str, token: str) -> JSON:
        hook = self.webhooks.get(int(webhook_id))
        if hook is None or hook["token"] != token:
            raise ApiError(404, 10015, "Unknown Webhook")
        return hook


async def _read_body(request: web.Request) -> Any:
    """Return a request's JSON body; for a multipart upload, its `payload_json` part with
    the uploaded file names under "_files"."""
    if not request.can_read_body:
        return None
    if not request.content_type.startswith("multipart/"):
        return await request.json()
    body: JSON = {}
    files: list[str] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            body.update(json.loads(await part.text()))
        else:
            files.append(part.filename or "")
            await part.read()
    body["_files"] = files
    return body


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py decodes a body only when Content-Type is exactly "application/json".
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def body_text(call: Recorded) -> str:
    """Return the content of a recorded message request, for readable asserts."""
    return str(call.body.get("content", "")) if isinstance(call.body, dict) else ""


def dumps(calls: list[Recorded]) -> str:
    """Format recorded requests for an assert message."""
    return "\n".join(f"{call.method} {call.path} {json.dumps(call.body)}" for call in calls)


class FakeGateway:
    """A gateway that sends HELLO, records the IDENTIFY payload and then closes with 4014,
    as Discord does when an application requests a privileged intent it has not enabled."""

    def __init__(self) -> None:
        self.identify: JSON | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._session)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _session(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for frame in socket:
            payload = json.loads(frame.data)
            if payload["op"] == 2:
                self.identify = payload["d"]
                await socket.close(code=4014, message=b"Disallowed intent(s).")
        return socket
