"""A fake Slack on 127.0.0.1: the Web API methods Parley calls, response URLs, file upload
URLs and a Socket Mode WebSocket, so the real slack_sdk and Bolt can talk to it.

Every Web API call is recorded with its parameters (query string, form and JSON body
merged) and the token it carried. Posted messages get increasing `ts` values.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from tests.local_server import StopsOnExit, serve_on_loopback

TEAM = "T1"
BOT_ID = "B1"
BOT_USER = "UBOT"

USERS: dict[str, dict[str, Any]] = {
    "UMOD": {
        "id": "UMOD",
        "name": "mod",
        "is_admin": True,
        "locale": "en-US",
        "profile": {"display_name": "Mod", "image_72": "https://avatars.example/mod.png"},
    },
    "UANA": {
        "id": "UANA",
        "name": "ana",
        "locale": "es-ES",
        "profile": {
            "display_name": "",
            "real_name": "Ana García",
            "image_72": "https://avatars.example/ana.png",
        },
    },
    "UBEN": {
        "id": "UBEN",
        "name": "ben",
        "locale": "fr-FR",
        "profile": {"display_name": "Ben", "image_72": "https://avatars.example/ben.png"},
    },
}


@dataclass
class UploadedFile:
    """A file uploaded in Slack's three steps. files.getUploadURLExternal sets `file_id`,
    `file_name` and `length`, the POST to the upload URL sets `data`, and
    files.completeUploadExternal sets `title` and `channel` (None until then)."""

    file_id: str
    file_name: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class ApiCall:
    """One Web API request: method name, its parameters and the token it was made with."""

    method: str
    params: dict[str, Any]
    token: str | None


class FakeSlack(StopsOnExit):
    """Slack's Web API, response URLs and Socket Mode, in one local server.

    Switches: `rate_limited[method]` rejects that many calls with 429 and Retry-After: 0.
    `failing[method]` fails every call with that Slack error code. A `respond_status`
    other than 200 makes response URLs reject posts with that status, and an
    `upload_status` other than 200 makes upload URLs reject the bytes with that status.

    Data: `token_teams` maps a token to the team auth.test reports (default TEAM).
    `grants` maps an OAuth code to its oauth.v2.access result, and `refreshes` maps a
    refresh token to its result, usable once. `channels` contains conversations.info
    results (default: a public channel).

    Records: `calls` (every Web API call), `responses` (bodies posted to a response URL,
    with the URL's name under "_name"), `uploads` (files by id, in the order their upload
    URLs were issued), `socket_acks` (envelopes acknowledged over the WebSocket).
    """

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.responses: list[dict[str, Any]] = []
        self.users = {user_id: dict(user) for user_id, user in USERS.items()}
        self.channels: dict[str, dict[str, Any]] = {}
        self.rate_limited: dict[str, int] = {}
        self.failing: dict[str, str] = {}
        self.token_teams: dict[str, str] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.refreshes: dict[str, dict[str, Any]] = {}
        self.respond_status = 200
        self.upload_status = 200
        self.uploads: dict[str, UploadedFile] = {}
        self._file_ids = itertools.count(1)
        self.socket_acks: list[dict[str, Any]] = []
        self.acked = asyncio.Condition()
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1 and return the base URL."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._websocket)
        self._runner, port = await serve_on_loopback(app, shutdown_timeout=0.5)
        self.base_url = f"http://127.0.0.1:{port}/"
        return self.base_url

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    @property
    def api_url(self) -> str:
        return self.base_url + "api/"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}respond/{name}"

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    # Web API.

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(dict(await request.post()))
        token = params.pop("token", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ")
        self.calls.append(ApiCall(method, params, token))

        if self.rate_limited.get(method, 0) > 0:
            self.rate_limited[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
            )
        if method in self.failing:
            return web.json_response({"ok": False, "error": self.failing[method]})
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        # A method's result may set "ok": False itself, with an error code.
        return web.json_response({"ok": True, **answer(params, token)})

    def _next_ts(self) -> str:
        return f"1700000100.{next(self._ts):06d}"

    def _auth_test(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        team = self.token_teams.get(token or "", TEAM)
        return {
            "url": "https://fake.slack.example/",
            "team": "Fake",
            "user": "parley",
            "team_id": team,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"channel": params["channel"], "ts": self._next_ts()}

    def _chat_update(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"channel": params["channel"], "ts": params["ts"], "text": params.get("text")}

    def _chat_delete(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"channel": params["channel"], "ts": params["ts"]}

    def _chat_postEphemeral(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"message_ts": self._next_ts()}

    def _users_info(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        user = self.users.get(params["user"])
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"user": user}

    def _conversations_info(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = params["channel"]
        default = {"id": channel, "is_private": False, "is_archived": False}
        return {"channel": self.channels.get(channel, default)}

    def _conversations_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"channel": {"id": f"D{params['users']}"}}

    def _views_publish(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"view": {"id": "V1", **params["view"]}}

    def _oauth_v2_access(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if params.get("grant_type") == "refresh_token":
            # Slack revokes a refresh token once it is used.
            answer = self.refreshes.pop(params["refresh_token"], None)
            return answer or {"ok": False, "error": "invalid_refresh_token"}
        return self.grants[params["code"]]

    def _files_getUploadURLExternal(
        self, params: dict[str, Any], token: str | None
    ) -> dict[str, Any]:
        file_id = f"F{next(self._file_ids)}"
        self.uploads[file_id] = UploadedFile(file_id, params["filename"], int(params["length"]))
        return {"upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(
        self, params: dict[str, Any], token: str | None
    ) -> dict[str, Any]:
        # slack_sdk sends `files` as JSON text: [{"id": "F1", "title": "..."}].
        completed = []
        for item in json.loads(params["files"]):
            uploaded = self.uploads.get(item["id"])
            if uploaded is None or uploaded.data is None:
                return {"ok": False, "error": "file_not_found"}
            uploaded.title = item.get("title", uploaded.file_name)
            uploaded.channel = params.get("channel_id")
            completed.append(
                {"id": uploaded.file_id, "name": uploaded.file_name, "title": uploaded.title}
            )
        return {"files": completed}

    def _apps_connections_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"url": self.base_url.replace("http://", "ws://") + "socket"}

    # Response URLs.

    async def _respond(self, request: web.Request) -> web.Response:
        if self.respond_status != 200:
            return web.Response(status=self.respond_status, text="expired_url")
        body = await request.json()
        self.responses.append({"_name": request.match_info["name"], **body})
        return web.Response(text="ok")

    # Upload URLs, issued by files.getUploadURLExternal.

    async def _upload(self, request: web.Request) -> web.Response:
        uploaded = self.uploads.get(request.match_info["file_id"])
        if uploaded is None:
            return web.Response(status=404, text="unknown upload URL")
        if self.upload_status != 200:
            return web.Response(status=self.upload_status, text="upload rejected")
        uploaded.data = await request.read()
        return web.Response(text=f"OK - {len(uploaded.data)}")

    # Socket Mode.

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._socket_ready.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                async with self.acked:
                    self.socket_acks.append(json.loads(message.data))
                    self.acked.notify_all()
        return socket

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send one Socket Mode envelope once the app has connected."""
        await asyncio.wait_for(self._socket_ready.wait(), timeout=5)
        assert self._socket is not None
        await self._socket.send_json(envelope)

    async def wait_for_acks(self, count: int, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """Wait until `count` envelopes were acknowledged; return the acknowledgements."""
        async with self.acked:
            await asyncio.wait_for(
                self.acked.wait_for(lambda: len(self.socket_acks) >= count), timeout=timeout_s
            )
        return list(self.socket_acks)
