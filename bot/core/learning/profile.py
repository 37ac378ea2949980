"""Learner profiles: languages and CEFR levels, time zone, day start, style, goal, interests.

Levels are kept as a running estimate per target language on a scale from 1.0 to just
under 7.0, where the whole part names the CEFR band: 1 is A1, 2 is A2, up to 6 for C2.
Setting a level by hand or by placement puts the estimate in the middle of its band
(B1 → 3.5). Graded work then nudges it by `GRADE_RATE * (score - PASS_SCORE)`: a score at
the pass mark leaves it where it is, a perfect score adds 0.06 and a score of zero takes
0.14 away. The level shown is the band the estimate is in, so a learner moves up a level
after about nine perfect results in a row from the middle of a band.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.client import Pipeline

from bot.core.errors import UserError
from bot.core.languages import parse_language
from bot.core.learning.days import parse_zone
from bot.core.learning.keys import LearningKeys
from bot.core.store import Store

log = logging.getLogger(__name__)

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
STYLES = ("gentle", "direct", "none")
DEFAULT_STYLE = "gentle"
DEFAULT_GOAL = 30
DEFAULT_DAY_START = 0
DEFAULT_TIMEZONE = "UTC"
MAX_GOAL = 1000
MAX_TARGETS = 5
MAX_INTERESTS = 10
MAX_INTEREST_CHARS = 40

GRADE_RATE = 0.2
PASS_SCORE = 0.7
MIN_ESTIMATE = 1.0
# Just under 7.0, so the top of the scale still reads as C2.
MAX_ESTIMATE = 6.999
# Graded work in a target with no level yet starts from the middle of A1.
UNKNOWN_START = 1.5


def level_of(estimate: float) -> str:
    """Return the CEFR band of an estimate on the 1.0-7.0 scale."""
    index = min(max(int(estimate), 1), len(CEFR_LEVELS)) - 1
    return CEFR_LEVELS[index]


def band_middle(level: str) -> float:
    """Return the estimate that stands for a level given by hand or by placement."""
    return CEFR_LEVELS.index(level) + 1.5


def parse_level(value: str) -> str:
    """Return the CEFR level in `value` (``b1``, ``B1``); raises UserError otherwise."""
    level = value.strip().upper()
    if level not in CEFR_LEVELS:
        raise UserError("learning.error.level", value=value[:10], levels=", ".join(CEFR_LEVELS))
    return level


@dataclass(frozen=True)
class TargetLanguage:
    """A language the learner studies; `estimate` is None until a level is known."""

    language: str
    estimate: float | None

    @property
    def level(self) -> str | None:
        return None if self.estimate is None else level_of(self.estimate)


@dataclass(frozen=True)
class Profile:
    """A learner's languages and settings, with defaults for those never set."""

    learner: str
    native: str | None = None
    targets: tuple[TargetLanguage, ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    day_start: int = DEFAULT_DAY_START
    style: str = DEFAULT_STYLE
    goal: int = DEFAULT_GOAL
    interests: tuple[str, ...] = ()
    name: str | None = None
    accounts: tuple[str, ...] = field(default_factory=tuple)

    def target(self, language: str) -> TargetLanguage | None:
        for target in self.targets:
            if target.language == language:
                return target
        return None


def _text(value: bytes | str) -> str:
    # Parley's clients decode responses; redis-py's types still allow bytes.
    return value.decode() if isinstance(value, bytes) else value


def _fields(mapping: dict[str, str]) -> Mapping[Any, Any]:
    """Pass a str mapping to redis-py, whose hset signature names every value type it takes."""
    return mapping


def parse_estimate(raw: str) -> float | None:
    return float(raw) if raw else None


# Nudges one target's estimate. Returns the new estimate as text, "" when the language is
# not a target, or "moved:<learner>" when the learner was merged into another one.
_GRADE_SCRIPT = """
local moved = redis.call('GET', KEYS[2])
if moved then return 'moved:' .. moved end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw == false then return '' end
local estimate = tonumber(raw) or tonumber(ARGV[6])
estimate = estimate + tonumber(ARGV[3]) * (tonumber(ARGV[2]) - tonumber(ARGV[4]))
estimate = math.max(tonumber(ARGV[5]), math.min(tonumber(ARGV[7]), estimate))
local text = string.format('%.4f', estimate)
redis.call('HSET', KEYS[1], ARGV[1], text)
return text
"""


def _plain(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Profiles:
    """Reads and writes learner profiles and maps platform accounts to learners."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.redis = store.redis
        self.keys = LearningKeys(store)

    async def learner_for(self, platform: str, user: str) -> str:
        """Return the learner id of a platform account: its link, else ``platform:user``."""
        linked = await self.redis.get(self.keys.account(platform, user))
        return _text(linked) if linked else f"{platform}:{user}"

    async def get(self, learner: str) -> Profile:
        """Return the learner's profile, with defaults where nothing is stored."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.learner(learner, "profile"))
            pipe.hgetall(self.keys.learner(learner, "targets"))
            pipe.smembers(self.keys.learner(learner, "accounts"))
            raw_profile, raw_targets, raw_accounts = await pipe.execute()
        fields = {_text(key): _text(value) for key, value in raw_profile.items()}
        targets = tuple(
            TargetLanguage(_text(language), parse_estimate(_text(estimate)))
            for language, estimate in sorted(raw_targets.items())
        )
        accounts = tuple(sorted(_text(account) for account in raw_accounts))
        return Profile(
            learner=learner,
            native=fields.get("native") or None,
            targets=targets,
            timezone=fields.get("timezone") or DEFAULT_TIMEZONE,
            day_start=int(fields.get("day_start") or DEFAULT_DAY_START),
            style=fields.get("style") or DEFAULT_STYLE,
            goal=int(fields.get("goal") or DEFAULT_GOAL),
            interests=tuple(json.loads(fields["interests"])) if fields.get("interests") else (),
            name=fields.get("name") or None,
            accounts=accounts or (learner,),
        )

    async def target_languages(self, learner: str) -> set[str]:
        return {_text(key) for key in await self.redis.hkeys(self.keys.learner(learner, "targets"))}

    async def clock_settings(self, learner: str) -> tuple[str | None, int, int]:
        """Return (time zone name or None, day-start hour, daily goal) in one round trip."""
        raw = await self.redis.hmget(
            self.keys.learner(learner, "profile"), ["timezone", "day_start", "goal"]
        )
        zone, day_start, goal = (None if value is None else _text(value) for value in raw)
        return zone, int(day_start or DEFAULT_DAY_START), int(goal or DEFAULT_GOAL)

    async def remember_account(self, learner: str, platform: str, user: str, name: str) -> None:
        """Record the account and display name a learner was last seen with."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(self.keys.learner(learner, "accounts"), f"{platform}:{user}")
            pipe.hset(self.keys.learner(learner, "profile"), "name", name[:80])
            await pipe.execute()

    async def update(self, learner: str, options: Mapping[str, str]) -> list[str]:
        """Validate and save profile options; return the names of the options changed.

        Options: native (a language code), targets (``es fr:B1``: languages, each with an
        optional CEFR level), timezone (IANA name), day_start (0-23), correction (the
        correction style: gentle|direct|none), goal (XP per day, 1-1000) and interests
        (comma-separated).
        Every value is checked before anything is saved; raises UserError on the first
        invalid one.
        """
        fields: dict[str, str] = {}
        targets: dict[str, str | None] | None = None
        for option, raw in options.items():
            value = raw.strip()
            if option == "native":
                fields["native"] = parse_language(value)
            elif option == "targets":
                targets = parse_targets(value)
            elif option == "timezone":
                zone = parse_zone(value)
                if zone is None:
                    raise UserError("learning.error.timezone", value=value[:60])
                fields["timezone"] = zone.key
            elif option == "day_start":
                fields["day_start"] = str(_parse_int(value, 0, 23, "learning.error.day_start"))
            elif option == "correction":
                if value.lower() not in STYLES:
                    raise UserError(
                        "learning.error.style", value=value[:20], styles=", ".join(STYLES)
                    )
                fields["style"] = value.lower()
            elif option == "goal":
                fields["goal"] = str(_parse_int(value, 1, MAX_GOAL, "learning.error.goal"))
            elif option == "interests":
                fields["interests"] = json.dumps(parse_interests(value), ensure_ascii=False)
            else:
                raise UserError("learning.error.option", option=option[:40])

        if "timezone" in fields or "day_start" in fields:
            await self._allow_clock_change(learner, fields)

        async with self.redis.pipeline(transaction=True) as pipe:
            if fields:
                pipe.hset(self.keys.learner(learner, "profile"), mapping=_fields(fields))
            if targets is not None:
                self._replace_targets(pipe, learner, targets, await self._estimates(learner))
            await pipe.execute()
        changed = list(fields)
        if targets is not None:
            changed.append("targets")
        return changed

    async def _allow_clock_change(self, learner: str, fields: dict[str, str]) -> None:
        """Refuse a change of time zone or day start within a day of earning message XP,
        so that hopping zones cannot open a second learner day, and a second daily XP cap,
        within one real day."""
        key = self.keys.learner(learner, "profile")
        current = await self.redis.hmget(key, ["timezone", "day_start"])
        unchanged = _plain(current[0]) == fields.get("timezone", _plain(current[0])) and _plain(
            current[1]
        ) == fields.get("day_start", _plain(current[1]))
        if unchanged:
            return
        if await self.redis.exists(self.keys.learner(learner, "earned-recently")):
            raise UserError("learning.error.clock_change")

    async def _estimates(self, learner: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys.learner(learner, "targets"))
        return {_text(key): _text(value) for key, value in raw.items()}

    def _replace_targets(
        self,
        pipe: Pipeline,
        learner: str,
        targets: Mapping[str, str | None],
        current: Mapping[str, str],
    ) -> None:
        """Queue the new target set: a level given sets the estimate, and a language kept
        without a level keeps the estimate it had, so renaming the list loses no progress."""
        key = self.keys.learner(learner, "targets")
        values = {
            language: str(band_middle(level)) if level else current.get(language, "")
            for language, level in targets.items()
        }
        pipe.delete(key)
        pipe.hset(key, mapping=_fields(values))

    async def set_level(self, learner: str, language: str, level: str) -> None:
        """Set the level of a language, adding it to the targets when missing."""
        await self.redis.hset(
            self.keys.learner(learner, "targets"), language, str(band_middle(level))
        )

    async def record_graded(self, learner: str, language: str, score: float) -> float | None:
        """Nudge the learner's estimate in `language` after graded work and return it.

        `score` is the fraction of the work done right (0 to 1), for work pitched at the
        learner's current level. The rule is in this module's docstring. Returns None, and
        changes nothing, when `language` is not one of the learner's targets. Raises
        ValueError for a score outside 0..1. Follows a learner that was merged into another.
        """
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be between 0 and 1, got {score}")
        for _ in range(3):
            result = _text(
                await self.redis.eval(
                    _GRADE_SCRIPT,
                    2,
                    self.keys.learner(learner, "targets"),
                    self.keys.learner(learner, "merged"),
                    language,
                    repr(score),
                    repr(GRADE_RATE),
                    repr(PASS_SCORE),
                    repr(MIN_ESTIMATE),
                    repr(UNKNOWN_START),
                    repr(MAX_ESTIMATE),
                )
            )
            if result.startswith("moved:"):
                learner = result.removeprefix("moved:")
                continue
            return float(result) if result else None
        log.warning("graded work for %s in %s: learner merge chain too long", learner, language)
        return None


def parse_targets(value: str) -> dict[str, str | None]:
    """Parse ``es fr:B1 de`` into language → level (None when not given), keeping order."""
    targets: dict[str, str | None] = {}
    for item in value.replace(",", " ").split():
        language, _, level = item.partition(":")
        targets[parse_language(language)] = parse_level(level) if level else None
    if not targets:
        raise UserError("learning.error.no_targets")
    if len(targets) > MAX_TARGETS:
        raise UserError("learning.error.too_many_targets", maximum=MAX_TARGETS)
    return targets


def parse_interests(value: str) -> list[str]:
    """Split comma-separated interests, dropping empty and repeated ones."""
    interests: list[str] = []
    for item in value.split(","):
        interest = " ".join(item.split())
        if not interest or interest.casefold() in (known.casefold() for known in interests):
            continue
        if len(interest) > MAX_INTEREST_CHARS:
            raise UserError(
                "learning.error.interest", value=interest[:20], maximum=MAX_INTEREST_CHARS
            )
        interests.append(interest)
    if len(interests) > MAX_INTERESTS:
        raise UserError("learning.error.too_many_interests", maximum=MAX_INTERESTS)
    return interests


def _parse_int(value: str, low: int, high: int, error_key: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise UserError(error_key, value=value[:20], low=low, high=high) from None
    if not low <= number <= high:
        raise UserError(error_key, value=value[:20], low=low, high=high)
    return number
