"""Ports: the small interfaces the core needs from engines, job queues and adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from bot.core.actions import Action
from bot.core.errors import EngineError
from bot.core.events import MessageCreated


@dataclass(frozen=True)
class GlossaryTerm:
    """A term and the translation a space wants for it, in one target language."""

    source: str
    target: str


@dataclass(frozen=True)
class EngineRequest:
    """One text to translate into one or more languages.

    `text` has its protected tokens replaced by placeholders such as ``⟦0⟧``, which the
    engine must keep. `context` contains the channel's previous messages, oldest first, to help
    with meaning; it is never translated or billed as output. `glossaries` maps a target
    language to the space's terms for that language. `formality` is "more", "less" or None.
    """

    text: str
    source: str
    targets: tuple[str, ...]
    context: tuple[str, ...] = ()
    glossaries: Mapping[str, tuple[GlossaryTerm, ...]] = field(default_factory=dict)
    formality: str | None = None


@dataclass(frozen=True)
class EngineResult:
    """Translations by target language, with what the provider billed for them.

    A target can fail on its own while the others succeed (an LLM answer that did not
    validate for that language, a pair with no route): it is then missing from
    `translations` and its error is in `failures`.
    """

    translations: Mapping[str, str]
    billed_characters: int = 0
    tokens: int = 0
    failures: Mapping[str, EngineError] = field(default_factory=dict)


class TranslationEngine(Protocol):
    """A machine-translation engine. Language codes are ISO 639-1.

    `translate` raises `EngineError` when the whole request fails: `UnsupportedPairError`
    when there is no route, `EngineUnavailableError` (with `retry_after` seconds, if the
    provider sent one) for timeouts, 5xx, 429 and exhausted quotas. `max_targets` is how many
    target languages one call may carry. `paid` engines count against space budgets.
    `uses_glossary` engines apply glossaries themselves; for the others the pipeline
    protects glossary terms as tokens and substitutes their translations. `third_party`
    engines send text off this deployment's machines; users and channels that opted out
    never reach them.
    """

    name: str
    max_targets: int
    paid: bool
    uses_glossary: bool
    third_party: bool

    async def translate(self, request: EngineRequest) -> EngineResult: ...

    async def supports(self, source: str, target: str) -> bool: ...


class JobQueue(Protocol):
    """Hands slow work to background workers. Returns the job id without waiting for it."""

    def enqueue(self, function: str, *args: str, job_id: str) -> str: ...


class Sender(Protocol):
    """Carries out actions on a platform. `send` returns the id of a new message, if any."""

    async def send(self, action: Action) -> str | None: ...

    def max_length(self, platform: str) -> int:
        """Return the longest message text, in characters, the platform accepts."""
        ...


class MessageObserver(Protocol):
    """Something that wants to know about each user message Parley handled in a set-up
    channel, after its copies went out: learning progress, for example.

    `language` is the detected language (None when unknown); `translated` is True when
    Parley posted copies of it in other languages.
    """

    async def message_seen(
        self, event: MessageCreated, language: str | None, translated: bool
    ) -> None: ...


def is_loopback_url(url: str | None) -> bool:
    """Return True for a server on this machine (localhost, 127.0.0.0/8, ::1)."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"
