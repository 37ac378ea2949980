"""Ports: the small interfaces the core needs from engines, job queues and adapters."""

from __future__ import annotations

from typing import Protocol

from bot.core.actions import Action


class TranslationEngine(Protocol):
    """A machine-translation engine.

    `translate` receives text whose protected tokens are already replaced by placeholders
    such as ``⟦0⟧`` and must leave those placeholders in place. Raises `EngineError` (or
    `UnsupportedPairError`) when it cannot translate. Language codes are ISO 639-1.
    """

    name: str

    async def translate(self, text: str, source: str, target: str) -> str: ...

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
