"""A fake LibreTranslate server on 127.0.0.1, with switches for the failures engines must handle."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from aiohttp import web

from tests.local_server import StopsOnExit, serve_on_loopback

# Languages in the shape of LibreTranslate's GET /languages. German has no route to Spanish
# or French, so tests can ask for a listed language with no pair.
DEFAULT_LANGUAGES: list[dict[str, Any]] = [
    {"code": "en", "name": "English", "targets": ["de", "es", "fr"]},
    {"code": "es", "name": "Spanish", "targets": ["en", "fr"]},
    {"code": "fr", "name": "French", "targets": ["en", "es"]},
    {"code": "de", "name": "German", "targets": ["en"]},
]

# The source language the fake reports for "auto". It detects nothing.
DETECTED_LANGUAGE = "en"


class FakeLibreTranslate(StopsOnExit):
    """An aiohttp server that serves POST /translate and GET /languages like LibreTranslate.

    /translate takes a JSON or form body whose `q` is a string or a list of strings, and
    returns each text as "[<target>] <text>", so placeholders such as ``⟦0⟧`` survive. Errors
    use LibreTranslate's status codes and messages: 400 for a missing field, an unknown
    language or a missing pair, and, when `api_key` is set, 400 for a request without a key
    and 403 for a wrong one. `languages` is the /languages body; an entry without "targets"
    pairs with every other listed language, as on servers from before that field.

    Switches apply to both endpoints, in this order. `latency_s` waits before responding.
    `rate_limited` (seconds, or None) returns 429 with that Retry-After. `banned` returns
    LibreTranslate's 403 for clients banned for exceeding rate limits. `server_error` returns
    500, and `malformed` returns 200 with truncated JSON. `calls` and `languages_calls`
    count requests to /translate and /languages, and `last_body` is the last /translate body.
    """

    def __init__(
        self, *, api_key: str | None = None, languages: list[dict[str, Any]] | None = None
    ) -> None:
        self.api_key = api_key
        self.languages = copy.deepcopy(DEFAULT_LANGUAGES if languages is None else languages)
        self.latency_s = 0.0
        self.rate_limited: float | None = None
        self.banned = False
        self.server_error = False
        self.malformed = False
        self.calls = 0
        self.languages_calls = 0
        self.last_body: dict[str, Any] | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """URL of the running server, such as http://127.0.0.1:41234."""
        if self._base_url is None:
            raise RuntimeError("FakeLibreTranslate is not running. Call start() first.")
        return self._base_url

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1 and return the base URL."""
        app = web.Application()
        app.router.add_post("/translate", self._translate)
        app.router.add_get("/languages", self._languages)
        self._runner, port = await serve_on_loopback(app)
        self._base_url = f"http://127.0.0.1:{port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop listening. Does nothing when the server is not running."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._base_url = None

    async def __aenter__(self) -> FakeLibreTranslate:
        await self.start()
        return self

    async def _languages(self, request: web.Request) -> web.Response:
        self.languages_calls += 1
        switched = await self._switched_response()
        if switched is not None:
            return switched
        return web.json_response(self.languages)

    async def _translate(self, request: web.Request) -> web.Response:
        self.calls += 1
        try:
            body = await _read_body(request)
        except ValueError:
            return _error(400, "Invalid JSON format")
        self.last_body = body

        switched = await self._switched_response()
        if switched is not None:
            return switched
        key_error = self._check_api_key(body.get("api_key"))
        if key_error is not None:
            return key_error

        q = body.get("q")
        source = body.get("source")
        target = body.get("target")
        text_format = body.get("format") or "text"
        for name, value in (("q", q), ("source", source), ("target", target)):
            if not value:
                return _error(400, f"Invalid request: missing {name} parameter")
        if text_format not in ("text", "html"):
            return _error(400, f"{text_format} format is not supported")
        if not _is_text_or_texts(q):
            return _error(400, "Invalid request: q must be a string or a list of strings")

        detected = source == "auto"
        if detected:
            source = DETECTED_LANGUAGE
        pair_error = self._check_pair(str(source), str(target))
        if pair_error is not None:
            return pair_error

        translated: str | list[str]
        if isinstance(q, list):
            translated = [f"[{target}] {text}" for text in q]
        else:
            translated = f"[{target}] {q}"
        answer: dict[str, Any] = {"translatedText": translated}
        if detected:
            answer["detectedLanguage"] = {"confidence": 90.0, "language": DETECTED_LANGUAGE}
        return web.json_response(answer)

    async def _switched_response(self) -> web.Response | None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self.rate_limited is not None:
            response = _error(429, "Slowdown: 1 per 1 minute")
            response.headers["Retry-After"] = f"{self.rate_limited:g}"
            return response
        if self.banned:
            return _error(403, "Too many request limits violations")
        if self.server_error:
            return _error(500, "Cannot translate text: fake server error")
        if self.malformed:
            return web.Response(
                status=200, text='{"translatedText": "[es] cut sh', content_type="application/json"
            )
        return None

    def _check_api_key(self, request_key: object) -> web.Response | None:
        if self.api_key is None:
            return None
        if not request_key:
            return _error(400, "Please contact the server operator to get an API key")
        if request_key != self.api_key:
            return _error(403, "Invalid API key")
        return None

    def _check_pair(self, source: str, target: str) -> web.Response | None:
        entries = {entry["code"]: entry for entry in self.languages}
        for code in (source, target):
            if code not in entries:
                return _error(400, f"{code} is not supported")

        targets = entries[source].get("targets")
        paired = target != source if targets is None else target in targets
        if not paired:
            return _error(
                400,
                f"{entries[target]['name']} ({target}) is not available as a target language "
                f"from {entries[source]['name']} ({source})",
            )
        return None


async def _read_body(request: web.Request) -> dict[str, Any]:
    """Return the JSON or form body as a dict. A repeated form field `q` becomes a list."""
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body is not an object")
        return body

    form = await request.post()
    fields: dict[str, Any] = {name: str(value) for name, value in form.items()}
    texts = [str(value) for value in form.getall("q", [])]
    if len(texts) > 1:
        fields["q"] = texts
    return fields


def _is_text_or_texts(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
