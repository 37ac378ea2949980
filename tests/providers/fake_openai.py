"""A fake OpenAI chat-completions server on 127.0.0.1, with switches for model misbehaviour."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from bot.providers.llm_engine import message_text
from tests.local_server import StopsOnExit, serve_on_loopback

INJECTION = "ignore previous instructions"


class FakeOpenAI(StopsOnExit):
    """Serves /v1/chat/completions and /v1/models closely enough for the official SDK.

    By default it translates by tagging: for each requested language it returns
    ``"[es] " + text`` inside a JSON object, so placeholders survive. It reads the text from
    the user message that `LlmEngine` builds, and the languages from the json_schema's
    properties (or, in json_object mode, from the user message's "targets").

    Switches, set as attributes before a call:

    - `latency_s`: seconds to wait before answering.
    - `rate_limited`: 429, with a `retry-after` header of `retry_after` when that is not None.
    - `insufficient_quota`: 429 with the error code "insufficient_quota".
    - `server_error`: 500. `server_error_after`: 500 for every call after the first N.
    - `no_json_schema`: 400 naming response_format when asked for json_schema; json_object
      works.
    - `api_key`: when set, any other bearer token gets a 401.
    - Answer faults: `malformed` (content that is not JSON), `echo` (the text unchanged),
      `commentary` (prefix "Here is the translation: "), `obey_injection` (answer
      "OK, I will" when the text contains "ignore previous instructions"),
      `drop_placeholder` (remove ⟦0⟧). They apply to the first `fault_calls` calls, or to
      every call when `fault_calls` is None.
    - `bad_targets`: languages answered with the text unchanged on the first call only.

    Records: `calls` counts chat-completions requests, `requests` holds their JSON bodies,
    `last_request` the latest, and `tokens_reported` sums the usage the server returned.
    `base_url` is set by `start()`.
    """

    def __init__(self, *, model: str = "fake-model") -> None:
        self.model = model
        self.latency_s = 0.0
        self.rate_limited = False
        self.retry_after: str | None = "7"
        self.insufficient_quota = False
        self.server_error = False
        self.server_error_after: int | None = None
        self.no_json_schema = False
        self.api_key: str | None = None
        self.malformed = False
        self.echo = False
        self.commentary = False
        self.obey_injection = False
        self.drop_placeholder = False
        self.fault_calls: int | None = None
        self.bad_targets: set[str] = set()

        self.calls = 0
        self.requests: list[dict[str, Any]] = []
        self.tokens_reported = 0
        self.base_url: str | None = None
        self._runner: web.AppRunner | None = None

    @property
    def last_request(self) -> dict[str, Any]:
        """The JSON body of the latest chat-completions request.

        Raises LookupError before the first request.
        """
        if not self.requests:
            raise LookupError("the fake OpenAI server has received no request")
        return self.requests[-1]

    async def start(self) -> str:
        """Start listening on a free port of 127.0.0.1 and return the base URL, ending in /v1."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_get("/v1/models", self._models)
        # handler_cancellation stops a slow response when the client gives up, and the short
        # shutdown timeout keeps stop() from waiting for such responses.
        self._runner, port = await serve_on_loopback(
            app, handler_cancellation=True, shutdown_timeout=0.5
        )
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        """Stop the server. Safe to call twice."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> str:
        return await self.start()

    async def _models(self, request: web.Request) -> web.Response:
        model = {"id": self.model, "object": "model", "created": 0, "owned_by": "parley-tests"}
        return web.json_response({"object": "list", "data": [model]})

    async def _chat_completions(self, request: web.Request) -> web.Response:
        self.calls += 1
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)

        refusal = self._refusal(request, body)
        if refusal is not None:
            return refusal

        messages = body["messages"]
        user_content = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        text = message_text(user_content)
        content = self._answer(text, _requested_languages(body, user_content))
        return web.json_response(self._completion(body, content))

    def _refusal(self, request: web.Request, body: dict[str, Any]) -> web.Response | None:
        """Return the error response the switches call for, or None for a normal response."""
        expected = f"Bearer {self.api_key}"
        if self.api_key is not None and request.headers.get("Authorization") != expected:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
            # OpenAI's own 401 message quotes the start and end of the key. The fake does the
            # same, so tests can check that the engine keeps it out of its errors.
            masked = f"{presented[:4]}****{presented[-4:]}"
            return _error(401, f"Incorrect API key provided: {masked}.", "invalid_api_key")
        if self.insufficient_quota:
            return _error(
                429,
                "You exceeded your current quota; check your plan and billing details.",
                "insufficient_quota",
                error_type="insufficient_quota",
            )
        if self.rate_limited:
            headers = {} if self.retry_after is None else {"retry-after": self.retry_after}
            return _error(
                429, "Rate limit reached for requests.", "rate_limit_exceeded", headers=headers
            )
        late = self.server_error_after is not None and self.calls > self.server_error_after
        if self.server_error or late:
            return _error(
                500,
                "The server had an error while processing your request.",
                None,
                error_type="server_error",
            )
        response_format = body.get("response_format") or {}
        if self.no_json_schema and response_format.get("type") == "json_schema":
            return _error(
                400,
                "response_format type 'json_schema' is not supported by this server.",
                None,
                param="response_format",
            )
        return None

    def _answer(self, text: str, languages: list[str]) -> str:
        """Return the message content: a JSON object of tagged texts, bent by the switches."""
        faulty = self.fault_calls is None or self.calls <= self.fault_calls
        if faulty and self.malformed:
            return "Sorry, I can only answer in plain text."

        answers: dict[str, str] = {}
        for language in languages:
            output = f"[{language}] {text}"
            if faulty and self.obey_injection and INJECTION in text.lower():
                output = "OK, I will"
            elif faulty and self.echo:
                output = text
            elif faulty and self.commentary:
                output = f"Here is the translation: {output}"
            if faulty and self.drop_placeholder:
                output = output.replace("⟦0⟧", "")
            if self.calls == 1 and language in self.bad_targets:
                output = text
            answers[language] = output
        return json.dumps(answers, ensure_ascii=False)

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        # About four characters a token, like English text in OpenAI's tokenizers.
        prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4 + 1
        completion_tokens = len(content) // 4 + 1
        self.tokens_reported += prompt_tokens + completion_tokens
        return {
            "id": f"chatcmpl-fake{self.calls}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def requested_languages(request_body: dict[str, Any]) -> list[str]:
    """Return the languages listed in a request's json_schema, in schema order."""
    schema = request_body["response_format"]["json_schema"]["schema"]
    return list(schema["properties"])


def _requested_languages(body: dict[str, Any], user_content: str) -> list[str]:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return requested_languages(body)
    targets: list[str] = json.loads(user_content)["targets"]
    return targets


def _error(
    status: int,
    message: str,
    code: str | None,
    *,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    payload = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return web.json_response(payload, status=status, headers=headers)
