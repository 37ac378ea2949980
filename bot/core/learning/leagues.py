"""Per-space leaderboards and weekly leagues.

Leaderboards count all XP awarded in a space, all-time and per UTC ISO week. Leagues count
only XP in one of the learner's target languages. A learner joins a league cohort of their
tier in that space with their first such XP of the week. A cohort takes up to
`XpRules.cohort_size` learners, and a new one opens when it is full. Learners who earn no
league XP in a week join no cohort and keep their tier.

After the week ends, `rollover` ranks each cohort by the week's league XP, ties broken by
learner id. The top `movers(n)` of a cohort of n move up a tier and the bottom `movers(n)`
move down, where movers(n) = min(5, n // 3): 5 in cohorts of 15 or more, fewer in smaller
ones, and none in cohorts of 1 or 2. Nobody moves above diamond or below bronze. A rollover
happens once per space and week, however many workers run it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from bot.core.learning.days import Clock, iso_week, previous_week, week_end
from bot.core.learning.keys import LearningKeys
from bot.core.store import Store

log = logging.getLogger(__name__)

TIERS = ("bronze", "silver", "gold", "diamond")
MAX_MOVERS = 5
BOARD_SIZE = 10
# The rollover marker outlives the week's league data (35 days), so a late rerun of an old
# week finds either the marker or no data, and changes nothing either way.
ROLLED_TTL_S = 60 * 24 * 3600


def movers(size: int) -> int:
    """Return how many learners move up, and how many move down, in a cohort of `size`."""
    return min(MAX_MOVERS, size // 3)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class BoardEntry:
    """One line of a leaderboard or cohort table; `rank` starts at 1."""

    rank: int
    learner: str
    name: str
    xp: int


@dataclass(frozen=True)
class Standing:
    """A learner's place in this week's league of a space.

    `cohort` is empty when the learner has not joined one this week. `last_result` is
    "promoted", "demoted" or "stayed" for last week's rollover, or None.
    """

    tier: int
    cohort: tuple[BoardEntry, ...]
    rank: int | None
    movers: int
    last_result: str | None


@dataclass(frozen=True)
class RolloverResult:
    """Outcome of one rollover: learner ids moved up and down, and the cohort count."""

    week: str
    promoted: tuple[str, ...]
    demoted: tuple[str, ...]
    cohorts: int


# Applies a computed rollover once: the marker is set and every new tier written in one
# step, so a second run (or a concurrent one) changes nothing. A week older than the last
# one applied is refused, since its tiers would overwrite newer ones. KEYS: marker, tiers,
# result, last week applied. ARGV: marker TTL, the week, then (learner, new tier, outcome)
# triples. ISO weeks such as 2025-W07 sort as strings.
_APPLY_SCRIPT = """
local last = redis.call('GET', KEYS[4])
if last and last >= ARGV[2] then
  return 0
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
for i = 3, #ARGV, 3 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
end
redis.call('EXPIRE', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[2])
return 1
"""


class Leagues:
    """Reads leaderboards and league standings, and rolls leagues over."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.redis = store.redis
        self.keys = LearningKeys(store)
        self.clock = clock

    def this_week(self) -> str:
        """Return the UTC ISO week that is running now, e.g. ``2025-W07``."""
        return iso_week(self.clock())

    def _period_key(self, platform: str, space: str, period: str) -> str:
        if period not in ("week", "all"):
            raise ValueError(f"invalid leaderboard period {period!r}: expected 'week' or 'all'")
        return self.keys.board(
            platform, space, "all" if period == "all" else iso_week(self.clock())
        )

    async def top(
        self, platform: str, space: str, period: str, limit: int = BOARD_SIZE
    ) -> list[BoardEntry]:
        """Return the leaders of a space's board, `period` "week" (this UTC week) or "all"."""
        raw = await self.redis.zrevrange(
            self._period_key(platform, space, period), 0, limit - 1, withscores=True
        )
        # With withscores=True and decoded responses, redis-py returns (member, score) pairs.
        pairs = cast(list[tuple[bytes | str, float]], raw)
        learners = [(_text(member), int(score)) for member, score in pairs]
        names = await self._names([learner for learner, _ in learners])
        return [
            BoardEntry(rank, learner, names[learner], xp)
            for rank, (learner, xp) in enumerate(learners, start=1)
        ]

    async def rank(self, platform: str, space: str, period: str, learner: str) -> BoardEntry | None:
        """Return the learner's line on a board, or None when they are not on it."""
        key = self._period_key(platform, space, period)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrank(key, learner)
            pipe.zscore(key, learner)
            position, score = await pipe.execute()
        if position is None or score is None:
            return None
        names = await self._names([learner])
        return BoardEntry(int(position) + 1, learner, names[learner], int(score))

    async def tier(self, platform: str, space: str, learner: str) -> int:
        raw = await self.redis.hget(self.keys.tiers(platform, space), learner)
        return 0 if raw is None else int(raw)

    async def standing(self, platform: str, space: str, learner: str) -> Standing:
        """Return the learner's tier, this week's cohort table and last week's outcome."""
        week = iso_week(self.clock())
        last = previous_week(week)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.tiers(platform, space), learner)
            pipe.hget(self.keys.league(platform, space, week, "member"), learner)
            pipe.hget(self.keys.league(platform, space, last, "result"), learner)
            tier_raw, cohort_raw, result_raw = await pipe.execute()
        tier = 0 if tier_raw is None else int(tier_raw)
        last_result = None if result_raw is None else _text(result_raw).split(":")[0]
        if cohort_raw is None:
            return Standing(tier, (), None, 0, last_result)

        cohort = _text(cohort_raw)
        ranked = await self._cohort_ranking(platform, space, week, cohort)
        names = await self._names([member for member, _ in ranked])
        table = tuple(
            BoardEntry(rank, member, names[member], xp)
            for rank, (member, xp) in enumerate(ranked, start=1)
        )
        rank = next((entry.rank for entry in table if entry.learner == learner), None)
        # The tier of this week's cohort is what the rollover will use.
        return Standing(int(cohort.split(".")[0]), table, rank, movers(len(table)), last_result)

    async def _cohort_ranking(
        self, platform: str, space: str, week: str, cohort: str
    ) -> list[tuple[str, int]]:
        # NOTE: reads the whole week's membership of the space, which is fine for the
        # hundreds of learners a space has but grows with them.
        cohorts = await self._cohorts(platform, space, week)
        return cohorts.get(cohort, [])

    async def _cohorts(
        self, platform: str, space: str, week: str
    ) -> dict[str, list[tuple[str, int]]]:
        """Return cohort id → [(learner, week league XP)], best first, ties by learner id."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.league(platform, space, week, "member"))
            pipe.zrange(self.keys.league(platform, space, week, "xp"), 0, -1, withscores=True)
            members_raw, xp_raw = await pipe.execute()
        xp = {_text(member): int(score) for member, score in xp_raw}
        cohorts: dict[str, list[tuple[str, int]]] = {}
        for member, cohort in members_raw.items():
            learner = _text(member)
            cohorts.setdefault(_text(cohort), []).append((learner, xp.get(learner, 0)))
        for ranked in cohorts.values():
            ranked.sort(key=lambda entry: (-entry[1], entry[0]))
        return cohorts

    async def _names(self, learners: list[str]) -> dict[str, str]:
        """Return learner → display name, falling back to the user part of the id."""
        if not learners:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for learner in learners:
                pipe.hget(self.keys.learner(learner, "profile"), "name")
            raw = await pipe.execute()
        return {
            learner: _text(name) if name else learner.split(":", 1)[-1]
            for learner, name in zip(learners, raw, strict=True)
        }

    async def rollover(self, platform: str, space: str, week: str) -> RolloverResult | None:
        """Move learners between tiers after `week` by the rule in this module's docstring.

        Returns what changed, or None when this space's week was already rolled over.
        Raises ValueError for a malformed week or one that has not ended yet.
        """
        if self.clock() < week_end(week):
            raise ValueError(f"week {week} has not ended yet; it ends at {week_end(week):.0f}")
        # Reading and ranking happen outside the script; every run computes the same
        # outcome from the closed week's data, and only the first one applies it.
        cohorts = await self._cohorts(platform, space, week)
        promoted: list[str] = []
        demoted: list[str] = []
        changes: list[str] = []
        for cohort, ranked in sorted(cohorts.items()):
            tier = int(cohort.split(".")[0])
            count = movers(len(ranked))
            for position, (learner, _xp) in enumerate(ranked):
                if position < count and tier < len(TIERS) - 1:
                    outcome, new_tier = "promoted", tier + 1
                    promoted.append(learner)
                elif position >= len(ranked) - count and tier > 0:
                    outcome, new_tier = "demoted", tier - 1
                    demoted.append(learner)
                else:
                    outcome, new_tier = "stayed", tier
                changes += [learner, str(new_tier), f"{outcome}:{new_tier}"]

        applied = await self.redis.eval(
            _APPLY_SCRIPT,
            4,
            self.keys.league(platform, space, week, "rolled"),
            self.keys.tiers(platform, space),
            self.keys.league(platform, space, week, "result"),
            self.keys.tiers(platform, space) + ":last-week",
            str(ROLLED_TTL_S),
            week,
            *changes,
        )
        if not applied:
            log.info(
                "league %s:%s week %s: already rolled over, or a later week was",
                platform,
                space,
                week,
            )
            return None
        log.info(
            "league %s:%s week %s rolled over: %d cohorts, %d promoted, %d demoted",
            platform,
            space,
            week,
            len(cohorts),
            len(promoted),
            len(demoted),
        )
        return RolloverResult(week, tuple(promoted), tuple(demoted), len(cohorts))

    async def spaces_to_roll(self, week: str) -> list[tuple[str, str]]:
        """Return (platform, space) of every space that had league XP in `week`."""
        members = await self.redis.smembers(self.keys.league_spaces(week))
        pairs = (_text(member).split(":", 1) for member in members)
        return sorted((platform, space) for platform, space in pairs)
