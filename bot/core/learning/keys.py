"""Redis key layout of learner progress, in one place so that export and erasure can find it.

A learner id names a person, not an account: ``{platform}:{user}`` of their first account,
or another learner id once accounts are linked. ``{prefix}:learner-of:{platform}:{user}``
maps a linked account to its learner; an account without that key is its own learner.

Per learner, all under ``{prefix}:learner:{learner}``:

- ``:profile`` hash: native, timezone, day_start, style, goal, interests (JSON list), name
- ``:targets`` hash: language → running level estimate (empty while the level is unknown)
- ``:accounts`` set: ``platform:user`` of every account mapped to this learner
- ``:xp`` hash: ``total`` XP
- ``:days`` hash: local day number (``date.toordinal()``) → XP earned that day
- ``:streak`` hash: last_ts, day, current, best, freezes (see `xp.AWARD_SCRIPT`)
- ``:practice`` and ``:frozen`` sets: streak day numbers practised, and bridged by a freeze
- ``:capped:{day}`` hash: kind → XP of capped kinds that day (two-day TTL)
- ``:cooldown:{channel key}`` string: time of the last message XP in that channel (TTL)
- ``:spaces`` set: ``platform:space`` of every space whose boards list this learner
- ``:placement`` string: the running placement test as JSON (one-hour TTL)
- ``:merged`` string: the learner this one was merged into (30-day TTL)

Per space, under ``{prefix}:learn:board:{platform}:{space}`` (``:all``, ``:week:{week}``)
and ``{prefix}:learn:league:{platform}:{space}`` (``:tiers``, ``:{week}:xp``,
``:{week}:member``, ``:{week}:cohorts``, ``:{week}:result``, ``:{week}:rolled``). The
leaderboards and leagues hold learner ids as members, so erasing a learner also means
removing them from the spaces in ``:spaces``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.store import Store


@dataclass(frozen=True)
class LearningKeys:
    """Builds the key names above for one deployment prefix."""

    store: Store

    def learner(self, learner: str, *parts: str) -> str:
        return self.store.key("learner", learner, *parts)

    def learner_pattern(self, learner: str) -> str:
        """Return a SCAN pattern that matches every key of one learner and nothing else.

        That holds because account ids never contain ":" (see `events.check_id`), so no
        learner id extends another one by a segment.
        """
        escaped = "".join(f"[{char}]" if char in "*?[]\\" else char for char in learner)
        return self.store.key("learner", escaped, "*")

    def account(self, platform: str, user: str) -> str:
        return self.store.key("learner-of", platform, user)

    def awarded(self, event_id: str) -> str:
        return self.store.key("learn", "awarded", event_id)

    def link_code(self, code: str) -> str:
        return self.store.key("learn", "linkcode", code)

    def link_failures(self, platform: str, user: str) -> str:
        return self.store.key("user", platform, user, "link-failures")

    def shown_in_channel(self, platform: str, space: str, channel: str) -> str:
        return self.store.key("learn", "shown", platform, space, channel)

    def shown_to_user(self, platform: str, user: str) -> str:
        return self.store.key("user", platform, user, "shown")

    def board(self, platform: str, space: str, period: str) -> str:
        """Return the leaderboard key; `period` is "all" or an ISO week such as 2025-W07."""
        if period == "all":
            return self.store.key("learn", "board", platform, space, "all")
        return self.store.key("learn", "board", platform, space, "week", period)

    def tiers(self, platform: str, space: str) -> str:
        return self.store.key("learn", "league", platform, space, "tiers")

    def league(self, platform: str, space: str, week: str, part: str) -> str:
        return self.store.key("learn", "league", platform, space, week, part)

    def league_spaces(self, week: str) -> str:
        """Return the set of ``platform:space`` that had league XP in `week`."""
        return self.store.key("learn", "league-spaces", week)

    def unused(self) -> str:
        """Return a key no script writes, passed where a script takes a key it will skip."""
        return self.store.key("learn", "unused")
