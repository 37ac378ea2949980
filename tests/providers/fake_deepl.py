"""A fake DeepL API server on 127.0.0.1 that the real `deepl` SDK can talk to.

It speaks enough of the DeepL v2 HTTP API for the SDK: text translation, the language
lists, usage, and the v2 glossary endpoints. Its "translation" prefixes each text with
the target code ("[DE] hello") and replaces glossary source terms by their target terms.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiohttp import web

from tests.local_server import StopsOnExit, serve_on_loopback

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SOURCE_LANGUAGES: dict[str, str] = {
    "AR": "Arabic",
    "BG": "Bulgarian",
    "CS": "Czech",
    "DA": "Danish",
    "DE": "German",
    "EL": "Greek",
    "EN": "English",
    "ES": "Spanish",
    "FI": "Finnish",
    "FR": "French",
    "HU": "Hungarian",
    "IT": "Italian",
    "JA": "Japanese",
    "KO": "Korean",
    "NB": "Norwegian",
    "NL": "Dutch",
    "PL": "Polish",
    "PT": "Portuguese",
    "RO": "Romanian",
    "RU": "Russian",
    "SV": "Swedish",
    "TR": "Turkish",
    "UK": "Ukrainian",
    "ZH": "Chinese",
}

# Target codes with whether DeepL offers a formality option for them.
TARGET_LANGUAGES: dict[str, tuple[str, bool]] = {
    **{
        code: (name, code in {"DE", "ES", "FR", "IT", "JA", "NL", "PL", "RU"})
        for code, name in SOURCE_LANGUAGES.items()
        if code not in {"EN", "PT"}
    },
    "EN-GB": ("English (British)", False),
    "EN-US": ("English (American)", False),
    "PT-BR": ("Portuguese (Brazilian)", True),
    "PT-PT": ("Portuguese (European)", True),
}

# Languages that glossaries may use on either side. Any two different ones form a pair.
GLOSSARY_LANGUAGES = frozenset({"DE", "EN", "ES", "FR", "IT", "JA", "NL", "PL", "PT", "RU", "ZH"})

MAX_TEXTS = 50
_TAG = re.compile(r"(<[^>]*>)")
# Fields that the API accepts several times in a form body.
_LIST_FIELDS = frozenset({"text", "ignore_tags", "splitting_tags", "non_splitting_tags"})


@dataclass
class Glossary:
    """A stored v2 glossary: one language pair and its entries, source term to target term."""

    glossary_id: str
    name: str
    source_lang: str
    target_lang: str
    entries: dict[str, str]
    creation_time: str

    def info(self) -> dict[str, Any]:
        return {
            "glossary_id": self.glossary_id,
            "name": self.name,
            "ready": True,
            "source_lang": self.source_lang.lower(),
            "target_lang": self.target_lang.lower(),
            "creation_time": self.creation_time,
            "entry_count": len(self.entries),
        }


class FakeDeepL(StopsOnExit):
    """A DeepL API stand-in with switches for failures. Use `start()`/`stop()` or `async with`.

    Switches: `latency_s` delays every response by that many seconds.
    `status_429_retry_after` (seconds, or None for off) returns 429 with a Retry-After
    header, `quota_exceeded` returns 456, `server_error` returns 500, and `malformed`
    returns 200 with a body that is not JSON. These apply to every endpoint except
    GET /v2/usage. A target in
    `formality_unsupported_targets` rejects formality "more" or "less" with 400, as DeepL
    does, while "prefer_more" and "prefer_less" pass. Requests without the header
    "Authorization: DeepL-Auth-Key <auth_key>" get 403.

    Records: `translate_calls` and `texts_seen` count POST /v2/translate requests and
    their texts, `last_form` and `translate_forms` hold their parameters, and
    `glossaries_created` counts glossary creations.
    """

    def __init__(self, auth_key: str = "fake-deepl-key") -> None:
        self.auth_key = auth_key
        self.latency_s = 0.0
        self.status_429_retry_after: int | None = None
        self.quota_exceeded = False
        self.server_error = False
        self.malformed = False
        self.formality_unsupported_targets: set[str] = {
            code for code, (_, formality) in TARGET_LANGUAGES.items() if not formality
        }
        self.translate_calls = 0
        self.texts_seen = 0
        self.last_form: dict[str, Any] = {}
        self.translate_forms: list[dict[str, Any]] = []
        self.glossaries: dict[str, Glossary] = {}
        self.glossaries_created = 0
        self.characters_billed = 0
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1 and return the base URL, such as http://127.0.0.1:4567."""
        app = web.Application(middlewares=[self._check_request])
        app.router.add_post("/v2/translate", self._translate)
        app.router.add_route("*", "/v2/languages", self._languages)
        app.router.add_get("/v2/usage", self._usage)
        app.router.add_get("/v2/glossary-language-pairs", self._glossary_pairs)
        app.router.add_post("/v2/glossaries", self._create_glossary)
        app.router.add_get("/v2/glossaries", self._list_glossaries)
        app.router.add_get("/v2/glossaries/{glossary_id}", self._get_glossary)
        app.router.add_delete("/v2/glossaries/{glossary_id}", self._delete_glossary)
        app.router.add_get("/v2/glossaries/{glossary_id}/entries", self._glossary_entries)

        # A short shutdown timeout, so stop() does not wait long for a slow response.
        self._runner, port = await serve_on_loopback(app, shutdown_timeout=1.0)
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self.base_url = None

    async def __aenter__(self) -> FakeDeepL:
        await self.start()
        return self

    @web.middleware
    async def _check_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Check the key, then apply the latency and failure switches before the handler."""
        if request.headers.get("Authorization") != f"DeepL-Auth-Key {self.auth_key}":
            return _error(403, "Wrong endpoint or authentication key")
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if request.path == "/v2/usage":
            return await handler(request)
        if self.status_429_retry_after is not None:
            response = _error(429, "Too many requests")
            response.headers["Retry-After"] = str(self.status_429_retry_after)
            return response
        if self.quota_exceeded:
            return _error(456, "Quota exceeded")
        if self.server_error:
            return _error(500, "Internal server error")
        if self.malformed:
            return web.Response(text="{translations: [", content_type="application/json")
        return await handler(request)

    async def _translate(self, request: web.Request) -> web.Response:
        form = await _parameters(request)
        self.translate_calls += 1
        self.last_form = form
        self.translate_forms.append(form)

        texts = form.get("text")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts:
            return _error(400, "Parameter 'text' not specified.")
        if len(texts) > MAX_TEXTS:
            return _error(413, "Too many texts in one request.")
        self.texts_seen += len(texts)

        target = str(form.get("target_lang", "")).upper()
        source = str(form["source_lang"]).upper() if form.get("source_lang") else None
        if target not in TARGET_LANGUAGES:
            return _error(400, "Value for 'target_lang' not supported.")
        if source is not None and source not in SOURCE_LANGUAGES:
            return _error(400, "Value for 'source_lang' not supported.")

        formality = form.get("formality")
        if formality not in (None, "default", "more", "less", "prefer_more", "prefer_less"):
            return _error(400, "Value for 'formality' not supported.")
        if formality in ("more", "less") and target in self.formality_unsupported_targets:
            return _error(400, "'formality' is not supported for given 'target_lang'.")

        entries: dict[str, str] = {}
        glossary_id = form.get("glossary_id")
        if glossary_id:
            glossary = self.glossaries.get(str(glossary_id))
            if glossary is None:
                return _error(404, "Glossary not found")
            if source is None:
                return _error(400, "Use of a glossary requires the 'source_lang' parameter.")
            if (glossary.source_lang, glossary.target_lang) != (source, target.split("-")[0]):
                return _error(400, "Glossary does not match the language pair.")
            entries = glossary.entries

        translations = []
        for text in texts:
            billed = len(text)
            self.characters_billed += billed
            translations.append(
                {
                    "detected_source_language": source or "EN",
                    "text": f"[{target}] {_apply_glossary(str(text), entries)}",
                    "billed_characters": billed,
                }
            )
        return web.json_response({"translations": translations})

    async def _languages(self, request: web.Request) -> web.Response:
        # The SDK requests target languages with a GET that carries a form body.
        form = await _parameters(request)
        if form.get("type") == "target":
            return web.json_response(
                [
                    {"language": code, "name": name, "supports_formality": formality}
                    for code, (name, formality) in TARGET_LANGUAGES.items()
                ]
            )
        return web.json_response(
            [{"language": code, "name": name} for code, name in SOURCE_LANGUAGES.items()]
        )

    async def _usage(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"character_count": self.characters_billed, "character_limit": 500_000}
        )

    async def _glossary_pairs(self, request: web.Request) -> web.Response:
        pairs = [
            {"source_lang": source.lower(), "target_lang": target.lower()}
            for source in sorted(GLOSSARY_LANGUAGES)
            for target in sorted(GLOSSARY_LANGUAGES)
            if source != target
        ]
        return web.json_response({"supported_languages": pairs})

    async def _create_glossary(self, request: web.Request) -> web.Response:
        form = await _parameters(request)
        name = str(form.get("name", ""))
        source = str(form.get("source_lang", "")).upper()
        target = str(form.get("target_lang", "")).upper()
        if not name:
            return _error(400, "Parameter 'name' not specified.")
        if source == target or not {source, target} <= GLOSSARY_LANGUAGES:
            return _error(400, "Unsupported glossary source and target language pair.")
        if form.get("entries_format", "tsv") != "tsv":
            return _error(400, "This fake accepts only TSV glossary entries.")
        entries = _parse_tsv(str(form.get("entries", "")))
        if not entries:
            return _error(400, "Invalid glossary entries provided.")

        glossary = Glossary(
            glossary_id=str(uuid.uuid4()),
            name=name,
            source_lang=source,
            target_lang=target,
            entries=entries,
            creation_time=datetime.now(UTC).isoformat(timespec="microseconds"),
        )
        self.glossaries[glossary.glossary_id] = glossary
        self.glossaries_created += 1
        return web.json_response(glossary.info(), status=201)

    async def _list_glossaries(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"glossaries": [glossary.info() for glossary in self.glossaries.values()]}
        )

    async def _get_glossary(self, request: web.Request) -> web.Response:
        glossary = self.glossaries.get(request.match_info["glossary_id"])
        if glossary is None:
            return _error(404, "Glossary not found")
        return web.json_response(glossary.info())

    async def _delete_glossary(self, request: web.Request) -> web.Response:
        if self.glossaries.pop(request.match_info["glossary_id"], None) is None:
            return _error(404, "Glossary not found")
        return web.Response(status=204)

    async def _glossary_entries(self, request: web.Request) -> web.Response:
        glossary = self.glossaries.get(request.match_info["glossary_id"])
        if glossary is None:
            return _error(404, "Glossary not found")
        tsv = "\n".join(f"{source}\t{target}" for source, target in glossary.entries.items())
        return web.Response(text=tsv, content_type="text/tab-separated-values")


async def _parameters(request: web.Request) -> dict[str, Any]:
    """Read parameters from the query string and a JSON or form body, in any HTTP method.

    Form fields given several times, and `text` always, become lists.
    """
    pairs = list(request.query.items())
    body = await request.read()
    if body and request.content_type == "application/json":
        loaded = json.loads(body)
        return {**dict(pairs), **loaded} if isinstance(loaded, dict) else dict(pairs)
    if body:
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)

    form: dict[str, Any] = {}
    for key, value in pairs:
        if key in _LIST_FIELDS:
            form.setdefault(key, []).append(value)
        else:
            form[key] = value
    return form


def _apply_glossary(text: str, entries: dict[str, str]) -> str:
    """Replace glossary source terms by target terms in the text between XML tags."""
    if not entries:
        return text
    pieces = _TAG.split(text)
    for index, piece in enumerate(pieces):
        if piece.startswith("<"):
            continue
        for source, target in entries.items():
            piece = piece.replace(escape(source), escape(target))
        pieces[index] = piece
    return "".join(pieces)


def _parse_tsv(tsv: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in tsv.splitlines():
        source, separator, target = line.partition("\t")
        if separator and source.strip() and target.strip():
            entries[source.strip()] = target.strip()
    return entries


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)
