"""Learner progress: profiles, placement, XP and streaks, leaderboards and weekly leagues.

`Learning` wires the parts to one Store. The process that handles messages appends
`Learning.observer` to `Parley.observers`, registers the commands with
`register_learning_commands`, and wraps each adapter's sender with `Learning.recorder` so
that texts Parley shows are known to the XP rules.
"""

from __future__ import annotations

import time

from bot.core.learning.commands import register_learning_commands
from bot.core.learning.days import Clock
from bot.core.learning.leagues import Leagues
from bot.core.learning.linking import AccountLinks
from bot.core.learning.placement import PlacementTests
from bot.core.learning.profile import Profiles
from bot.core.learning.xp import (
    AwardResult,
    ShownTextRecorder,
    ShownTexts,
    XpLedger,
    XpObserver,
    XpRules,
)
from bot.core.ports import Sender
from bot.core.store import Store

__all__ = ["Learning", "XpRules", "AwardResult", "register_learning_commands"]


class Learning:
    """The learner-progress parts, sharing one Store, clock and set of XP rules.

    `clock` returns Unix seconds; tests pass their own so that no test reads the wall clock.
    """

    def __init__(
        self, store: Store, *, clock: Clock = time.time, rules: XpRules | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.rules = rules or XpRules()
        self.profiles = Profiles(store)
        self.xp = XpLedger(store, self.profiles, clock, self.rules)
        self.shown = ShownTexts(store, clock, self.rules.shown_window_s)
        self.leagues = Leagues(store, clock)
        self.placement = PlacementTests(store, self.profiles)
        self.links = AccountLinks(store, self.profiles, clock, self.rules)
        self.observer = XpObserver(self.xp, self.profiles, self.shown, self.rules)

    async def learner_for(self, platform: str, user: str) -> str:
        """Return the learner id of a platform account (linked accounts share one)."""
        return await self.profiles.learner_for(platform, user)

    async def award(
        self,
        learner: str,
        kind: str,
        amount: int,
        event_id: str,
        *,
        space: tuple[str, str] | None = None,
        language: str | None = None,
    ) -> AwardResult:
        """Award XP for a challenge, game, review or tutoring session; see `XpLedger.award`.

        Pass `space` (platform, space) for the XP to count on that space's leaderboards,
        and `language` for it to count in the league when it is one of the learner's targets.
        """
        return await self.xp.award(learner, kind, amount, event_id, space=space, language=language)

    async def record_graded(self, learner: str, language: str, score: float) -> float | None:
        """Nudge the learner's level estimate after graded work; see `Profiles.record_graded`."""
        return await self.profiles.record_graded(learner, language, score)

    def recorder(self, sender: Sender) -> ShownTextRecorder:
        """Wrap `sender` so that every text it sends is recorded as shown."""
        return ShownTextRecorder(sender, self.shown)
