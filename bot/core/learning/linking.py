"""Account linking: one person's accounts on Discord and Slack become one learner.

`profile link` on one platform returns a one-time code; `profile link <code>` on the other
platform merges the two learners. The learner of the account that asked for the code is
kept, and the other one is merged into it:

- profile fields the kept learner has not set are taken from the other one;
- target languages are the union, and a language both study keeps the higher estimate;
- XP totals and the XP of each day are summed;
- streak days and frozen days are the union, and the streak is counted again over that
  union as the run of consecutive days ending at the latest one, counting practised days.
  The best streak is the higher one (or the new run), and freezes are summed up to the
  maximum;
- leaderboard and league scores of this week and last week are summed in every space, and
  the higher league tier is kept;
- every account of the merged learner now maps to the kept one, and the merged learner
  leaves a marker so that awards still addressed to it go to the kept one.

NOTE: each day's XP cap and channel cooldowns are not merged, so on the day of linking a
learner can earn up to one extra day's cap of message XP.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable

from bot.core.errors import UserError
from bot.core.learning.days import Clock, iso_week, previous_week
from bot.core.learning.keys import LearningKeys
from bot.core.learning.profile import Profiles
from bot.core.learning.xp import XpRules
from bot.core.store import Store

log = logging.getLogger(__name__)

LINK_CODE_TTL_S = 600
LINK_CODE_LENGTH = 8
# No 0/O or 1/I, which are easy to mistype when copying a code by hand.
LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Wrong codes an account may enter per LINK_CODE_TTL_S before it must wait. With 32^8
# possible codes, guessing one in time is hopeless anyway, so the limit mainly stops floods.
MAX_LINK_FAILURES = 5
MERGED_MARKER_TTL_S = 30 * 24 * 3600

# Called with (kept learner, merged learner) after a merge, for data other modules keep
# under the learner (flashcards, for example).
MergeHook = Callable[[str, str], Awaitable[None]]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# Merges the learner-level data of one learner (B) into another (A) at once, so no award
# lands in between. KEYS[20..] are the account-map keys of B's accounts, ARGV[5..] the
# accounts themselves; the script returns 'retry' when B's account set changed meanwhile.
_MERGE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 'merged'
end
local accounts = #KEYS - 19
if redis.call('SCARD', KEYS[8]) ~= accounts then
  return 'retry'
end
for i = 1, accounts do
  if redis.call('SISMEMBER', KEYS[8], ARGV[4 + i]) == 0 then
    return 'retry'
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])

local profile = redis.call('HGETALL', KEYS[4])
for i = 1, #profile, 2 do
  redis.call('HSETNX', KEYS[3], profile[i], profile[i + 1])
end
local targets = redis.call('HGETALL', KEYS[6])
for i = 1, #targets, 2 do
  local language, theirs = targets[i], targets[i + 1]
  local mine = redis.call('HGET', KEYS[5], language)
  if (not mine) or (mine == '' and theirs ~= '')
      or (mine ~= '' and theirs ~= '' and tonumber(theirs) > tonumber(mine)) then
    redis.call('HSET', KEYS[5], language, theirs)
  end
end
for i = 1, accounts do
  redis.call('SET', KEYS[19 + i], ARGV[1])
  redis.call('SADD', KEYS[7], ARGV[4 + i])
end

local total = tonumber(redis.call('HGET', KEYS[10], 'total') or '0')
if total > 0 then
  redis.call('HINCRBY', KEYS[9], 'total', total)
end
local days = redis.call('HGETALL', KEYS[12])
for i = 1, #days, 2 do
  redis.call('HINCRBY', KEYS[11], days[i], days[i + 1])
end

redis.call('SUNIONSTORE', KEYS[15], KEYS[15], KEYS[16])
redis.call('SUNIONSTORE', KEYS[17], KEYS[17], KEYS[18])
local practiced = {}
local latest = nil
for _, member in ipairs(redis.call('SMEMBERS', KEYS[15])) do
  local day = tonumber(member)
  practiced[day] = true
  if latest == nil or day > latest then
    latest = day
  end
end
if latest ~= nil then
  local frozen = {}
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[17])) do
    frozen[tonumber(member)] = true
  end
  local current = 0
  local day = latest
  while practiced[day] or frozen[day] do
    if practiced[day] then
      current = current + 1
    end
    day = day - 1
  end
  local a = redis.call('HMGET', KEYS[13], 'last_ts', 'best', 'freezes')
  local b = redis.call('HMGET', KEYS[14], 'last_ts', 'best', 'freezes')
  local last_ts = math.max(tonumber(a[1] or '-1'), tonumber(b[1] or '-1'))
  local best = math.max(tonumber(a[2] or '0'), tonumber(b[2] or '0'), current)
  local freezes = math.min(tonumber(ARGV[3]), tonumber(a[3] or '0') + tonumber(b[3] or '0'))
  redis.call('HSET', KEYS[13], 'last_ts', tostring(last_ts), 'day', latest,
    'current', current, 'best', best, 'freezes', freezes)
end

redis.call('DEL', KEYS[4], KEYS[6], KEYS[8], KEYS[10], KEYS[12], KEYS[14], KEYS[16], KEYS[18],
  KEYS[19])
return 'ok'
"""

# Moves B's scores in one space to A. Safe to run twice: B's entries are gone after the
# first run. KEYS: board all, board this week, board last week, tiers, A's spaces, then
# (xp, member, cohorts) of this week's league and of last week's. ARGV: A, B, space.
_FOLD_SCRIPT = """
local function move(key)
  local score = redis.call('ZSCORE', key, ARGV[2])
  if score then
    redis.call('ZINCRBY', key, score, ARGV[1])
    redis.call('ZREM', key, ARGV[2])
  end
end
local function league(xp, member, cohorts)
  local cohort = redis.call('HGET', member, ARGV[2])
  if not cohort then
    return
  end
  move(xp)
  redis.call('HDEL', member, ARGV[2])
  if redis.call('HEXISTS', member, ARGV[1]) == 1 then
    redis.call('HINCRBY', cohorts, cohort, -1)
  else
    redis.call('HSET', member, ARGV[1], cohort)
  end
end
move(KEYS[1])
move(KEYS[2])
move(KEYS[3])
league(KEYS[6], KEYS[7], KEYS[8])
league(KEYS[9], KEYS[10], KEYS[11])
local theirs = redis.call('HGET', KEYS[4], ARGV[2])
if theirs then
  local mine = redis.call('HGET', KEYS[4], ARGV[1])
  if (not mine) or tonumber(theirs) > tonumber(mine) then
    redis.call('HSET', KEYS[4], ARGV[1], theirs)
  end
  redis.call('HDEL', KEYS[4], ARGV[2])
end
redis.call('SADD', KEYS[5], ARGV[3])
return 1
"""


class AccountLinks:
    """Issues and redeems link codes and merges learners."""

    def __init__(self, store: Store, profiles: Profiles, clock: Clock, rules: XpRules) -> None:
        self.redis = store.redis
        self.keys = LearningKeys(store)
        self.profiles = profiles
        self.clock = clock
        self.rules = rules
        self.merge_hooks: list[MergeHook] = []

    async def create_code(self, platform: str, user: str) -> str:
        """Return a new one-time code that links another platform's account to this one."""
        payload = json.dumps(
            {"platform": platform, "user": user, "expires": self.clock() + LINK_CODE_TTL_S}
        )
        while True:
            code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
            # The Redis TTL only reclaims memory; the expiry in the payload follows the clock.
            if await self.redis.set(
                self.keys.link_code(code), payload, nx=True, ex=LINK_CODE_TTL_S
            ):
                return code

    async def redeem(self, platform: str, user: str, code: str, name: str) -> str:
        """Use a code from another platform: merge this account's learner into the learner
        of the account that asked for the code, and return the kept learner id.

        Raises UserError for an unknown, used or expired code, for a code made on the same
        platform, for accounts already linked, and after MAX_LINK_FAILURES wrong codes.
        """
        failures_key = self.keys.link_failures(platform, user)
        failures = await self.redis.get(failures_key)
        if failures is not None and int(failures) >= MAX_LINK_FAILURES:
            raise UserError("learning.error.link_locked", minutes=LINK_CODE_TTL_S // 60)

        code_key = self.keys.link_code(code.strip().upper())
        raw = await self.redis.get(code_key)
        payload = None if raw is None else json.loads(_text(raw))
        if payload is None or float(payload["expires"]) < self.clock():
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(failures_key)
                pipe.expire(failures_key, LINK_CODE_TTL_S)
                await pipe.execute()
            raise UserError("learning.error.link_code")
        if payload["platform"] == platform:
            raise UserError("learning.error.link_same_platform")
        # GETDEL makes the code single-use even when two accounts redeem it at once.
        if await self.redis.getdel(code_key) != raw:
            raise UserError("learning.error.link_code")

        kept = await self.profiles.learner_for(payload["platform"], payload["user"])
        merged = await self.profiles.learner_for(platform, user)
        if kept == merged:
            raise UserError("learning.error.link_already")
        await self.profiles.remember_account(merged, platform, user, name)
        await self.redis.sadd(
            self.keys.learner(kept, "accounts"), f"{payload['platform']}:{payload['user']}"
        )
        await self.merge(kept, merged)
        log.info("learning: linked %s:%s, learner %s merged into %s", platform, user, merged, kept)
        return kept

    async def merge(self, kept: str, merged: str) -> None:
        """Merge learner `merged` into `kept` by the rules in this module's docstring.

        Raises UserError when either learner was already merged into another one.
        """
        for _ in range(5):
            members = await self.redis.smembers(self.keys.learner(merged, "accounts"))
            accounts = sorted(_text(member) for member in members)
            status = _text(await self._merge_core(kept, merged, accounts))
            if status != "retry":
                break
        else:
            raise RuntimeError(f"accounts of learner {merged!r} kept changing during a merge")
        if status == "merged":
            raise UserError("learning.error.link_already")

        # Awards to `merged` stopped at the marker the core merge set, so its spaces no
        # longer change and each space can be folded on its own.
        spaces_key = self.keys.learner(merged, "spaces")
        for member in sorted(_text(item) for item in await self.redis.smembers(spaces_key)):
            platform, space = member.split(":", 1)
            await self._fold_space(kept, merged, platform, space)
        await self.redis.delete(spaces_key)

        for hook in self.merge_hooks:
            try:
                await hook(kept, merged)
            except Exception:
                log.exception("learning: merge hook failed for %s into %s", merged, kept)

    async def _merge_core(self, kept: str, merged: str, accounts: list[str]) -> bytes | str:
        keys = self.keys
        names = ("profile", "targets", "accounts", "xp", "days", "streak", "practice", "frozen")
        script_keys = [keys.learner(merged, "merged"), keys.learner(kept, "merged")]
        for name in names:
            script_keys += [keys.learner(kept, name), keys.learner(merged, name)]
        script_keys.append(keys.learner(merged, "placement"))
        for account in accounts:
            account_platform, account_user = account.split(":", 1)
            script_keys.append(keys.account(account_platform, account_user))
        result: bytes | str = await self.redis.eval(
            _MERGE_SCRIPT,
            len(script_keys),
            *script_keys,
            kept,
            merged,
            str(self.rules.max_freezes),
            str(MERGED_MARKER_TTL_S),
            *accounts,
        )
        return result

    async def _fold_space(self, kept: str, merged: str, platform: str, space: str) -> None:
        keys = self.keys
        this_week = iso_week(self.clock())
        last_week = previous_week(this_week)
        script_keys = [
            keys.board(platform, space, "all"),
            keys.board(platform, space, this_week),
            keys.board(platform, space, last_week),
            keys.tiers(platform, space),
            keys.learner(kept, "spaces"),
        ]
        for week in (this_week, last_week):
            script_keys += [
                keys.league(platform, space, week, part) for part in ("xp", "member", "cohorts")
            ]
        await self.redis.eval(
            _FOLD_SCRIPT, len(script_keys), *script_keys, kept, merged, f"{platform}:{space}"
        )
