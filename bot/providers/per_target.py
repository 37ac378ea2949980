"""Shared step of engines that make one HTTP call per target language."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.errors import EngineError, UnsupportedPairError
from bot.core.ports import EngineRequest

TranslateText = Callable[[str, str, str], Awaitable[str]]


@dataclass
class PerTarget:
    """Outcome of translating one request target by target.

    `blocking` lists the failures other than a missing route: when every target failed and
    this is not empty, the engine should raise rather than report an empty result.
    """

    translations: dict[str, str] = field(default_factory=dict)
    failures: dict[str, EngineError] = field(default_factory=dict)

    @property
    def blocking(self) -> list[EngineError]:
        return [
            error for error in self.failures.values() if not isinstance(error, UnsupportedPairError)
        ]


async def translate_per_target(request: EngineRequest, translate_text: TranslateText) -> PerTarget:
    """Call `translate_text(text, source, target)` for every target at once.

    An EngineError fails only its own target; any other exception propagates.
    """
    outcomes = await asyncio.gather(
        *(translate_text(request.text, request.source, target) for target in request.targets),
        return_exceptions=True,
    )
    result = PerTarget()
    for target, outcome in zip(request.targets, outcomes, strict=True):
        if isinstance(outcome, str):
            result.translations[target] = outcome
        elif isinstance(outcome, EngineError):
            result.failures[target] = outcome
        else:
            raise outcome
    return result
