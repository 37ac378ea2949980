"""LibreTranslate engine: a client for the HTTP API of a LibreTranslate server."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp

from bot.core.errors import EngineError, EngineUnavailableError, UnsupportedPairError
from bot.core.ports import EngineRequest, EngineResult, is_loopback_url
from bot.providers.per_target import translate_per_target

logger = logging.getLogger(__name__)

API_KEY_VARIABLE: Final = "LIBRETRANSLATE_API_KEY"
# The source language code that makes the server detect the language itself.
AUTO_SOURCE: Final = "auto"

_EXCERPT_CHARS = 200
_REDACTED = "[redacted]"
# LibreTranslate localizes its error texts by Accept-Language, and the patterns below match
# the English ones.
_HEADERS: Final = {"Accept-Language": "en"}

# LibreTranslate's /translate (libretranslate/app.py) rejects a language the server lacks with
# a 400 "<code> is not supported", and a missing pair with a 400 "... is not available as a
# target language from ...". The lookbehind skips "<name> format is not supported", which is
# a request error.
_UNSUPPORTED_PAIR = re.compile(
    r"(?<!format) is not supported|not available as a target language", re.IGNORECASE
)
# A server that requires a key rejects a wrong one with 403 "Invalid API key", and a request
# without one with 400 "Please contact the server operator to get an API key" (or "Visit <url>
# to get an API key").
_API_KEY_MESSAGE = re.compile(r"\bapi key\b", re.IGNORECASE)
# LibreTranslate returns 403 "Too many request limits violations" while it bans a client that
# kept exceeding its rate limit. The ban ends on its own, unlike a key problem.
_FLOOD_BAN = re.compile(r"too many request", re.IGNORECASE)


@dataclass(frozen=True)
class _HttpReply:
    status: int
    body: str
    retry_after: str | None


class LibreTranslateEngine:
    """Translation engine backed by a LibreTranslate server, self-hosted or libretranslate.com."""

    name = "libretranslate"
    # Each target is its own POST /translate, and the targets of one request run concurrently.
    max_targets = 8
    paid = False
    uses_glossary = False
    # A self-hosted server on this machine keeps text here; any other is a third party.
    third_party = True

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Create an engine for the server at `base_url`, allowing `timeout_s` seconds a request.

        `api_key` is sent in every /translate body when given. A `session` passed in stays open
        on `close()`. Without one, the engine creates its own on first use and closes it.
        """
        self._base_url = base_url.rstrip("/")
        self.third_party = not is_loopback_url(base_url)
        self._api_key = api_key or None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self._owns_session = session is None
        # Language code to its target codes, or to None when the server did not list them.
        self._catalog: dict[str, frozenset[str] | None] | None = None
        self._catalog_lock = asyncio.Lock()

    async def translate(self, request: EngineRequest) -> EngineResult:
        """Translate the request into each target with one concurrent POST /translate per target.

        A target that fails on its own is reported in `failures`. When every target failed and
        at least one failure is not an `UnsupportedPairError`, raises the `EngineUnavailableError`
        with the longest `retry_after` if there is one, and otherwise the first failure.
        LibreTranslate has no context, formality or glossary support, so those are ignored.
        """
        result = await translate_per_target(request, self.translate_text)
        if result.blocking and not result.translations:
            raise _whole_request_error(result.blocking)
        return EngineResult(result.translations, failures=result.failures)

    async def translate_text(self, text: str, source: str, target: str) -> str:
        """Translate `text` from `source` ("auto" or empty to detect) to `target`.

        Placeholders such as ``⟦0⟧`` are sent as they are, in plain-text format. Returns `text`
        unchanged without a request when the languages are equal or the text is blank.
        Raises `UnsupportedPairError` when the server has no such pair, `EngineUnavailableError`
        for timeouts, connection failures, 429 and 5xx, and `EngineError` otherwise.
        """
        if source == target or not text.strip():
            return text

        source = source or AUTO_SOURCE
        action = f"LibreTranslate translation {source}-{target}"
        payload: dict[str, str] = {
            "q": text,
            "source": source,
            "target": target,
            # Plain text, because the "html" format parses "<...>" as markup.
            "format": "text",
        }
        if self._api_key is not None:
            payload["api_key"] = self._api_key

        reply = await self._send("/translate", action, payload)
        if reply.status == 400 and _UNSUPPORTED_PAIR.search(self._server_message(reply.body)):
            logger.info(
                "LibreTranslate at %s has no pair %s-%s: %s",
                self._base_url,
                source,
                target,
                self._server_message(reply.body),
            )
            raise UnsupportedPairError(self.name, source, target)

        document = self._json_body(reply, "/translate", action)
        translated = document.get("translatedText") if isinstance(document, dict) else None
        if not isinstance(translated, str):
            raise self._failure(
                f"{action} returned no translatedText string from {self._url('/translate')}: "
                f"{self._excerpt(reply.body)}"
            )
        return translated

    async def supports(self, source: str, target: str) -> bool:
        """Return whether the server lists a pair from `source` to `target`.

        Source "auto" is supported for any listed target. A server whose /languages entries
        lack "targets" (releases before the field existed) pairs every listed language with
        every other. Raises `EngineError` when GET /languages fails.
        """
        if source == target:
            return True
        catalog = await self._load_catalog()
        if source in ("", AUTO_SOURCE):
            return target in catalog
        if source not in catalog or target not in catalog:
            return False
        targets = catalog[source]
        return targets is None or target in targets

    async def close(self) -> None:
        """Close the HTTP session if this engine created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def _load_catalog(self) -> dict[str, frozenset[str] | None]:
        """Fetch GET /languages on first use. A failed fetch is retried on the next call."""
        async with self._catalog_lock:
            if self._catalog is None:
                action = "LibreTranslate language listing"
                reply = await self._send("/languages", action)
                document = self._json_body(reply, "/languages", action)
                try:
                    self._catalog = _parse_languages(document)
                except ValueError as exc:
                    raise self._failure(
                        f"{action} from {self._url('/languages')} is invalid: {exc}"
                    ) from exc
                logger.info(
                    "LibreTranslate server %s lists %d languages",
                    self._base_url,
                    len(self._catalog),
                )
            return self._catalog

    async def _send(
        self, path: str, action: str, payload: dict[str, str] | None = None
    ) -> _HttpReply:
        """POST `payload` as JSON to `path` (GET when None) and return the reply of any status.

        Raises `EngineUnavailableError` when the request times out or cannot connect.
        """
        session = self._client_session()
        url = self._url(path)
        try:
            if payload is None:
                request = session.get(url, headers=_HEADERS, timeout=self._timeout)
            else:
                request = session.post(url, json=payload, headers=_HEADERS, timeout=self._timeout)
            async with request as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                body = (await response.read()).decode("utf-8", errors="replace")
        except TimeoutError:
            raise self._failure(
                f"{action} timed out after {self._timeout.total:g} s at {url}", unavailable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise self._failure(f"{action} failed at {url}: {exc}", unavailable=True) from exc
        return _HttpReply(status, body, retry_after)

    def _json_body(self, reply: _HttpReply, path: str, action: str) -> Any:
        """Return the decoded JSON body of a 200 reply, or raise the error for its status."""
        if reply.status != 200:
            raise self._status_failure(reply, path, action)
        try:
            return json.loads(reply.body)
        except ValueError:
            raise self._failure(
                f"{action} returned invalid JSON from {self._url(path)}: "
                f"{self._excerpt(reply.body)}"
            ) from None

    def _status_failure(self, reply: _HttpReply, path: str, action: str) -> EngineError:
        """Build the error for a reply whose status is not 200."""
        message = self._server_message(reply.body)
        failed = f"{action} failed at {self._url(path)}: HTTP {reply.status}: {message}"

        if reply.status == 429:
            retry_after = _parse_retry_after(reply.retry_after)
            logger.warning("%s (retry after %s s)", failed, retry_after)
            return EngineUnavailableError(failed, retry_after=retry_after)
        if reply.status == 403 and _FLOOD_BAN.search(message):
            return self._failure(
                f"{failed}. The server bans clients that keep exceeding its rate limit, so retry "
                "later",
                unavailable=True,
            )
        if reply.status == 403 or (reply.status == 400 and _API_KEY_MESSAGE.search(message)):
            return self._failure(f"{failed}. {self._api_key_advice()}")
        return self._failure(failed, unavailable=reply.status >= 500)

    def _api_key_advice(self) -> str:
        if self._api_key is None:
            return f"The API key is missing. Set {API_KEY_VARIABLE} to a key for this server"
        return f"The API key is invalid. Check {API_KEY_VARIABLE}"

    def _server_message(self, body: str) -> str:
        """Return the "error" text of a LibreTranslate error body, or an excerpt of the body."""
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("error"), str):
            return self._excerpt(document["error"])
        return self._excerpt(body)

    def _excerpt(self, text: str) -> str:
        """Shorten `text` for a message, with the API key replaced in case a server echoes it."""
        if self._api_key is not None:
            text = text.replace(self._api_key, _REDACTED)
        text = " ".join(text.split())
        if len(text) > _EXCERPT_CHARS:
            return text[:_EXCERPT_CHARS] + "..."
        return text

    def _url(self, path: str) -> str:
        return f"{self._base_url}{path}"

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def _failure(self, message: str, *, unavailable: bool = False) -> EngineError:
        """Log `message` and build the error to raise.

        `unavailable` selects `EngineUnavailableError`, for failures worth trying another engine.
        """
        logger.warning("%s", message)
        return EngineUnavailableError(message) if unavailable else EngineError(message)


def _parse_languages(document: Any) -> dict[str, frozenset[str] | None]:
    """Map each language code of a /languages body to its target codes, or to None if unlisted."""
    if not isinstance(document, list):
        raise ValueError(f"expected a JSON list of languages, got {type(document).__name__}")

    catalog: dict[str, frozenset[str] | None] = {}
    for entry in document:
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            continue
        targets = entry.get("targets")
        if isinstance(targets, list):
            catalog[entry["code"]] = frozenset(code for code in targets if isinstance(code, str))
        else:
            catalog[entry["code"]] = None
    return catalog


def _parse_retry_after(value: str | None) -> float | None:
    """Return the wait in seconds that a Retry-After header requests as seconds or an HTTP date."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _whole_request_error(errors: list[EngineError]) -> EngineError:
    """Pick the error to raise when every target failed, preferring the longest unavailability."""
    unavailable = [error for error in errors if isinstance(error, EngineUnavailableError)]
    if unavailable:
        return max(unavailable, key=lambda error: error.retry_after or 0.0)
    return errors[0]
