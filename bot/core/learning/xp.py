"""XP, daily goals and streaks, each award applied by one Lua script.

Message XP goes to a learner who writes in one of their target languages. A message earns
nothing when any of these holds:

- its author is a bot or a webhook relay;
- it has fewer than `XpRules.min_letters` letters outside mentions, links, code and emoji,
  or fewer than `XpRules.min_distinct_letters` different letters;
- the learner sent the same text within `XpRules.shown_window_s` seconds;
- its detected language is unknown or is not one of the learner's targets;
- its text, normalized, equals a text that Parley showed in that channel or to that user
  in the last `XpRules.shown_window_s` seconds: a copy of someone else's message, a
  translation posted for a flag reaction, or a /translate reply. Pasting Parley's own
  translation back is not practice. Texts reach that record through `ShownTexts.note`,
  which `ShownTextRecorder` calls for every action it sends;
- the learner earned message XP in the same channel less than `XpRules.cooldown_s` ago;
- the learner already earned the day's cap of message XP (`XpRules.caps`).

Whether Parley posted copies of a message (`translated`) does not matter: XP rewards
writing in a target language, whoever reads it.

Streaks count the learner's own days (see `days.local_day`). Practising on the day after
the last practice adds one. Whether a practice falls on the next day is decided by
comparing the time of the last practice with the start of today and of yesterday in the
learner's current time zone, so both moments are placed in the same zone. After a move
from New York to Tokyo, a practice at 23:30 New York time counts for the Tokyo day that
contains that moment (13:30 the next day), and practice on the following Tokyo day
continues the streak. A move still shifts day boundaries by the change in UTC offset, so
it can turn a gap of about a day into a missed day or the reverse.

Missed days are covered by freezes, one per missed day, when the learner has enough of
them. Frozen days keep the streak alive without adding to it. A gap longer than the
freezes held resets the streak to 1 and leaves the freezes unused. A learner earns one
freeze each time the streak reaches a multiple of `XpRules.freeze_every` days, holding at
most `XpRules.max_freezes`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bot.core.actions import Action, ActionKind
from bot.core.detect import count_letters, strip_non_language
from bot.core.events import MessageCreated
from bot.core.learning.days import (
    Clock,
    iso_week,
    local_day,
    recent_day_starts,
    zone_or_utc,
)
from bot.core.learning.keys import LearningKeys
from bot.core.learning.profile import Profiles
from bot.core.ports import Sender
from bot.core.store import Store

log = logging.getLogger(__name__)

KINDS = ("message", "challenge", "game", "review", "tutoring")
_KIND = re.compile(r"^[a-z][a-z_]{0,31}$")


# How long after message XP a learner's time zone and day start stay fixed, in seconds.
EARNED_RECENTLY_S = 24 * 3600


@dataclass(frozen=True)
class XpRules:
    """Amounts and anti-gaming limits. Times are in seconds and caps in XP per learner day."""

    message_xp: int = 3
    min_letters: int = 12
    # "aaaaaaaaaaaa" is no practice: a message needs this many different letters.
    min_distinct_letters: int = 5
    cooldown_s: int = 30
    caps: Mapping[str, int] = field(default_factory=lambda: {"message": 60, "review": 50})
    shown_window_s: int = 600
    freeze_every: int = 7
    max_freezes: int = 2
    cohort_size: int = 30
    # The idempotency record of an award outlives any redelivery of the same event.
    awarded_ttl_s: int = 14 * 24 * 3600
    # Week boards and league weeks are read until the week after next has begun.
    week_ttl_s: int = 35 * 24 * 3600


@dataclass(frozen=True)
class AwardResult:
    """Outcome of one award.

    `status` is "ok", "duplicate" (the event id was seen before), "cooldown" or "capped".
    `granted` is the XP added, which a cap can make smaller than the amount asked.
    `learner` is the learner credited, which differs from the one asked for when that
    learner was merged into another. The counters are as of this award; they are zero
    for anything but "ok".
    """

    status: str
    learner: str
    granted: int = 0
    total: int = 0
    today: int = 0
    streak: int = 0
    freezes: int = 0
    league: bool = False


@dataclass(frozen=True)
class XpSummary:
    """A learner's XP now: totals, today's progress and the current streak.

    `streak` is 0 once the streak is broken, before the next practice resets it.
    `freezes` are those left after covering the days missed since the last practice.
    """

    total: int
    today: int
    goal: int
    streak: int
    best: int
    freezes: int
    practiced_today: bool


# One award. Redis runs a script without interleaving other commands, so concurrent awards
# of one event id see each other's marker. KEYS and ARGV are listed in XpLedger._run_award.
# Returns
# {'duplicate', 0}, {'moved', learner}, {'cooldown', 0}, {'capped', 0}, or
# {'ok', granted, total, today, streak, freezes, league (1 or 0)}.
AWARD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'duplicate', 0}
end
local moved = redis.call('GET', KEYS[2])
if moved then
  return {'moved', moved}
end

local learner = ARGV[1]
local amount = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cap = tonumber(ARGV[5])
local cooldown = tonumber(ARGV[7])

if cooldown > 0 then
  local last = redis.call('GET', KEYS[9])
  if last and now - tonumber(last) < cooldown then
    redis.call('SET', KEYS[1], 'cooldown', 'EX', ARGV[13])
    return {'cooldown', 0}
  end
end
if cap > 0 then
  local used = tonumber(redis.call('HGET', KEYS[8], ARGV[6]) or '0')
  amount = math.min(amount, cap - used)
  if amount <= 0 then
    redis.call('SET', KEYS[1], 'capped', 'EX', ARGV[13])
    return {'capped', 0}
  end
  redis.call('HINCRBY', KEYS[8], ARGV[6], amount)
  redis.call('EXPIRE', KEYS[8], 172800)
end
if cooldown > 0 then
  redis.call('SET', KEYS[9], ARGV[3], 'EX', ARGV[14])
end
redis.call('SET', KEYS[1], amount, 'EX', ARGV[13])
local total = redis.call('HINCRBY', KEYS[3], 'total', amount)
local today_xp = redis.call('HINCRBY', KEYS[4], ARGV[4], amount)

-- Streak. ARGV[16..] are the start times of today, yesterday and earlier days.
local streak = redis.call('HMGET', KEYS[5], 'last_ts', 'day', 'current', 'best', 'freezes')
local last_ts = tonumber(streak[1] or '-1')
local day = tonumber(streak[2] or '0')
local current = tonumber(streak[3] or '0')
local best = tonumber(streak[4] or '0')
local freezes = tonumber(streak[5] or '0')
local every = tonumber(ARGV[11])
local max_freezes = tonumber(ARGV[12])
local grew = false
if last_ts < 0 then
  day = tonumber(ARGV[4])
  current = 1
  grew = true
elseif last_ts < tonumber(ARGV[16]) then
  local missed = nil
  for k = 17, #ARGV do
    if last_ts >= tonumber(ARGV[k]) then
      missed = k - 17
      break
    end
  end
  if missed ~= nil and missed <= freezes then
    for i = 1, missed do
      redis.call('SADD', KEYS[7], day + i)
    end
    freezes = freezes - missed
    day = day + missed + 1
    current = current + 1
  else
    -- A fresh start keeps a gap after the old run, so a later merge cannot join the two.
    day = math.max(tonumber(ARGV[4]), day + 2)
    current = 1
  end
  grew = true
end
if grew then
  redis.call('SADD', KEYS[6], day)
  if current % every == 0 and freezes < max_freezes then
    freezes = freezes + 1
  end
end
best = math.max(best, current)
redis.call('HSET', KEYS[5], 'last_ts', tostring(math.max(last_ts, now)), 'day', day,
  'current', current, 'best', best, 'freezes', freezes)

-- Leaderboards, and the league when the XP is in one of the learner's target languages.
local league = 0
if ARGV[9] ~= '' then
  redis.call('ZINCRBY', KEYS[12], amount, learner)
  redis.call('ZINCRBY', KEYS[13], amount, learner)
  redis.call('EXPIRE', KEYS[13], ARGV[15])
  redis.call('SADD', KEYS[11], ARGV[9])
  if ARGV[8] ~= '' and redis.call('HEXISTS', KEYS[10], ARGV[8]) == 1 then
    if redis.call('HEXISTS', KEYS[15], learner) == 0 then
      local tier = redis.call('HGET', KEYS[17], learner) or '0'
      local open = redis.call('HGET', KEYS[16], 'open:' .. tier)
      local size = open and tonumber(redis.call('HGET', KEYS[16], open) or '0')
      if (not open) or size >= tonumber(ARGV[10]) then
        open = tier .. '.' .. redis.call('HINCRBY', KEYS[16], 'seq:' .. tier, 1)
        redis.call('HSET', KEYS[16], 'open:' .. tier, open)
      end
      redis.call('HINCRBY', KEYS[16], open, 1)
      redis.call('HSET', KEYS[15], learner, open)
    end
    redis.call('ZINCRBY', KEYS[14], amount, learner)
    redis.call('SADD', KEYS[18], ARGV[9])
    for k = 14, 16 do
      redis.call('EXPIRE', KEYS[k], ARGV[15])
    end
    redis.call('EXPIRE', KEYS[18], ARGV[15])
    league = 1
  end
end
return {'ok', amount, total, today_xp, current, freezes, league}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class XpLedger:
    """Awards XP and reads XP, goals and streaks. Safe to call from several processes."""

    def __init__(self, store: Store, profiles: Profiles, clock: Clock, rules: XpRules) -> None:
        self.store = store
        self.redis = store.redis
        self.profiles = profiles
        self.keys = LearningKeys(store)
        self.clock = clock
        self.rules = rules

    async def award(
        self,
        learner: str,
        kind: str,
        amount: int,
        event_id: str,
        *,
        space: tuple[str, str] | None = None,
        language: str | None = None,
        cooldown_channel: str | None = None,
    ) -> AwardResult:
        """Add `amount` XP of `kind` for `event_id`, once per event id, and update the day,
        the streak and, when `space` (platform, space) is given, its leaderboards.

        The XP also counts for the space's league when `language` is one of the learner's
        targets. `cooldown_channel` (a channel key) applies the message cooldown there.
        Kinds with a cap in `XpRules.caps` stop at that many XP per learner day. An event
        id awards at most once, whatever the learner, for `XpRules.awarded_ttl_s`. A
        refused award (cooldown, cap) also uses the event id up. Raises ValueError for an
        amount below 1, a malformed kind or an empty event id.
        """
        if amount < 1:
            raise ValueError(f"XP amount must be at least 1, got {amount}")
        if not _KIND.match(kind):
            raise ValueError(f"invalid XP kind {kind!r}: expected lowercase letters such as 'game'")
        if not event_id:
            raise ValueError("event_id must not be empty")

        # An award to a learner that was merged meanwhile follows the marker to the kept
        # learner. Three tries allow two hops, for a merge that races another merge.
        for _ in range(3):
            raw = await self._run_award(
                learner, kind, amount, event_id, space, language, cooldown_channel
            )
            status = _text(raw[0])
            if status == "moved":
                learner = _text(raw[1])
                continue
            if status != "ok":
                return AwardResult(status, learner)
            granted, total, today, streak, freezes, league = (int(value) for value in raw[1:7])
            log.debug("xp: %s +%d %s for %s (total %d)", learner, granted, kind, event_id, total)
            return AwardResult("ok", learner, granted, total, today, streak, freezes, bool(league))
        raise RuntimeError(f"learner {learner!r} is part of a merge loop")

    async def _run_award(
        self,
        learner: str,
        kind: str,
        amount: int,
        event_id: str,
        space: tuple[str, str] | None,
        language: str | None,
        cooldown_channel: str | None,
    ) -> list[bytes | str]:
        rules = self.rules
        zone_name, day_start, _goal = await self.profiles.clock_settings(learner)
        zone = zone_or_utc(zone_name)
        now = self.clock()
        today = local_day(now, zone, day_start)
        starts = recent_day_starts(now, zone, day_start, rules.max_freezes + 2)
        week = iso_week(now)
        keys = self.keys
        unused = keys.unused()
        space_member = f"{space[0]}:{space[1]}" if space else ""
        cooldown_s = rules.cooldown_s if cooldown_channel else 0

        def space_key(build: str) -> str:
            if space is None:
                return unused
            platform, space_id = space
            if build == "all":
                return keys.board(platform, space_id, "all")
            if build == "week":
                return keys.board(platform, space_id, week)
            if build == "tiers":
                return keys.tiers(platform, space_id)
            return keys.league(platform, space_id, week, build)

        script_keys = [
            keys.awarded(event_id),
            keys.learner(learner, "merged"),
            keys.learner(learner, "xp"),
            keys.learner(learner, "days"),
            keys.learner(learner, "streak"),
            keys.learner(learner, "practice"),
            keys.learner(learner, "frozen"),
            keys.learner(learner, "capped", str(today)),
            keys.learner(learner, "cooldown", cooldown_channel) if cooldown_channel else unused,
            keys.learner(learner, "targets"),
            keys.learner(learner, "spaces"),
            space_key("all"),
            space_key("week"),
            space_key("xp"),
            space_key("member"),
            space_key("cohorts"),
            space_key("tiers"),
            keys.league_spaces(week) if space else unused,
        ]
        arguments = [
            learner,
            str(amount),
            repr(now),
            str(today),
            str(rules.caps.get(kind, 0)),
            kind,
            str(cooldown_s),
            language or "",
            space_member,
            str(rules.cohort_size),
            str(rules.freeze_every),
            str(rules.max_freezes),
            str(rules.awarded_ttl_s),
            str(max(1, 2 * cooldown_s)),
            str(rules.week_ttl_s),
            *(repr(start) for start in starts),
        ]
        result: list[bytes | str] = await self.redis.eval(
            AWARD_SCRIPT, len(script_keys), *script_keys, *arguments
        )
        return result

    async def summary(self, learner: str) -> XpSummary:
        """Return the learner's XP totals, today's XP against the goal, and the streak."""
        zone_name, day_start, goal = await self.profiles.clock_settings(learner)
        zone = zone_or_utc(zone_name)
        now = self.clock()
        today = local_day(now, zone, day_start)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.learner(learner, "xp"), "total")
            pipe.hget(self.keys.learner(learner, "days"), str(today))
            pipe.hmget(
                self.keys.learner(learner, "streak"), ["last_ts", "current", "best", "freezes"]
            )
            total, today_xp, streak = await pipe.execute()
        last_ts, current, best, freezes = (
            None if value is None else float(_text(value)) for value in streak
        )
        summary = XpSummary(
            total=int(total or 0),
            today=int(today_xp or 0),
            goal=goal,
            streak=0,
            best=int(best or 0),
            freezes=int(freezes or 0),
            practiced_today=False,
        )
        if last_ts is None:
            return summary

        held = int(freezes or 0)
        starts = recent_day_starts(now, zone, day_start, held + 2)
        if last_ts >= starts[0]:
            return replace(summary, streak=int(current or 0), practiced_today=True)
        # starts[k] begins the day k days ago; practising today after a last practice on
        # that day misses k - 1 days.
        for days_ago, start in enumerate(starts[1:], start=1):
            if last_ts >= start:
                missed = days_ago - 1
                return replace(summary, streak=int(current or 0), freezes=held - missed)
        return summary


def fingerprint(text: str) -> str | None:
    """Return a digest of the words of `text`, ignoring case, punctuation, links and
    mentions; None when no word is left."""
    words = re.findall(r"\w+", strip_non_language(text).casefold())
    if not words:
        return None
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:20]


class ShownTexts:
    """Short-lived record of texts Parley showed in a channel or to one user.

    Entries are sorted-set members scored by the time they were shown, so the window
    follows the injected clock; Redis TTLs only reclaim memory.
    """

    def __init__(self, store: Store, clock: Clock, window_s: int) -> None:
        self.redis = store.redis
        self.keys = LearningKeys(store)
        self.clock = clock
        self.window_s = window_s

    async def note(
        self, platform: str, space: str, channel: str | None, user: str | None, text: str
    ) -> None:
        """Record `text` as shown in a channel (everyone there saw it) or to one user."""
        digest = fingerprint(text)
        if digest is None:
            return
        if channel is not None:
            key = self.keys.shown_in_channel(platform, space, channel)
        elif user is not None:
            key = self.keys.shown_to_user(platform, user)
        else:
            raise ValueError("a shown text needs a channel or a user")
        now = self.clock()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {digest: now})
            pipe.zremrangebyscore(key, "-inf", now - self.window_s)
            pipe.expire(key, math.ceil(self.window_s * 2))
            await pipe.execute()

    async def seen(self, platform: str, space: str, channel: str, user: str, text: str) -> bool:
        """Return True when `text` was shown in that channel or to that user within the
        window."""
        digest = fingerprint(text)
        if digest is None:
            return False
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(self.keys.shown_in_channel(platform, space, channel), digest)
            pipe.zscore(self.keys.shown_to_user(platform, user), digest)
            scores = await pipe.execute()
        oldest = self.clock() - self.window_s
        return any(score is not None and float(score) >= oldest for score in scores)

    async def note_action(self, action: Action) -> None:
        """Record what an outgoing action shows: posted and edited copies or translations
        in their channel, private replies and DMs for their recipient."""
        if action.kind in (ActionKind.POST, ActionKind.EDIT) and action.origin is not None:
            await self.note(action.platform, action.space, action.channel, None, action.text)
        elif action.kind in (ActionKind.EPHEMERAL, ActionKind.DM) and action.user is not None:
            await self.note(action.platform, action.space, None, action.user, action.text)


class ShownTextRecorder:
    """A Sender that passes each action on, then records the text it showed.

    Wrap an adapter's sender with it so that pasting back a copy or a /translate reply
    earns no XP. Recording errors are logged and never fail the send.
    """

    def __init__(self, sender: Sender, shown: ShownTexts) -> None:
        self.sender = sender
        self.shown = shown

    async def send(self, action: Action) -> str | None:
        message_id = await self.sender.send(action)
        try:
            await self.shown.note_action(action)
        except Exception:
            log.exception(
                "recording a shown text failed (platform %s, channel %s)",
                action.platform,
                action.channel,
            )
        return message_id

    def max_length(self, platform: str) -> int:
        return self.sender.max_length(platform)


class XpObserver:
    """The MessageObserver that awards message XP under the rules in this module's
    docstring."""

    def __init__(
        self, ledger: XpLedger, profiles: Profiles, shown: ShownTexts, rules: XpRules
    ) -> None:
        self.ledger = ledger
        self.profiles = profiles
        self.shown = shown
        self.rules = rules

    async def message_seen(
        self, event: MessageCreated, language: str | None, translated: bool
    ) -> None:
        """Award message XP when the message qualifies.

        Logs and swallows every Exception, because the conversation calls observers after
        the copies went out, and an error there would make the platform redeliver the
        message and post the copies again.
        """
        try:
            await self._award(event, language)
        except Exception:
            log.exception(
                "message XP for %s on %s (event %s) failed",
                event.author.id,
                event.place.key(),
                event.event_id,
            )

    async def _award(self, event: MessageCreated, language: str | None) -> AwardResult | None:
        if event.author.is_bot or event.is_webhook or language is None:
            return None
        letters = strip_non_language(event.text)
        if count_letters(letters) < self.rules.min_letters:
            return None
        distinct = {char.casefold() for char in letters if char.isalpha()}
        if len(distinct) < self.rules.min_distinct_letters:
            return None
        place = event.place
        learner = await self.profiles.learner_for(place.platform, event.author.id)
        if language not in await self.profiles.target_languages(learner):
            return None
        if await self.shown.seen(
            place.platform, place.space, place.channel, event.author.id, event.text
        ):
            log.info(
                "message XP: %s on %s repeats a text Parley showed; no XP",
                event.message_id,
                place.key(),
            )
            return None
        await self.profiles.remember_account(
            learner, place.platform, event.author.id, event.author.name
        )
        # The learner's own text counts as shown to them, so sending it again earns nothing.
        await self.shown.note(place.platform, place.space, None, event.author.id, event.text)
        result = await self.ledger.award(
            learner,
            "message",
            self.rules.message_xp,
            f"message:{place.platform}:{place.space}:{place.channel}:{event.message_id}",
            space=(place.platform, place.space),
            language=language,
            cooldown_channel=place.key(),
        )
        if result.granted:
            # Profiles refuse a time-zone change for a day after message XP, so that a hop
            # to another zone cannot open a second daily cap.
            await self.ledger.store.redis.set(
                self.ledger.store.key("learner", result.learner, "earned-recently"),
                "1",
                ex=EARNED_RECENTLY_S,
            )
        return result
