"""Local days and UTC weeks: how learner time turns into streak days and league weeks.

A learner's day starts at `day_start` o'clock in their time zone, so with day_start 4 a
message at 02:00 still counts for the day before. Days are numbered by
`date.toordinal()` of that local date. League and leaderboard weeks are ISO weeks in UTC
(Monday 00:00 to Monday 00:00), written like ``2025-W07``, so every learner of a space
competes over the same interval.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

# Unix seconds. Tests pass a fixed or stepping clock instead of time.time.
Clock = Callable[[], float]

_WEEK = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_zone(name: str) -> ZoneInfo | None:
    """Return the IANA time zone called `name`, or None when there is none by that name."""
    if name not in _known_zones():
        return None
    return ZoneInfo(name)


def zone_or_utc(name: str | None) -> ZoneInfo:
    """Return the named zone; UTC for a missing or unknown name, as stored profiles may hold."""
    zone = parse_zone(name) if name else None
    return zone if zone is not None else ZoneInfo("UTC")


def local_day(moment: float, zone: ZoneInfo, day_start: int) -> int:
    """Return the number of the learner's day that contains the Unix time `moment`."""
    local = datetime.fromtimestamp(moment, zone)
    # Subtracting from an aware datetime moves the wall clock, which is what a day that
    # starts at day_start o'clock needs.
    return (local - timedelta(hours=day_start)).date().toordinal()


def day_start_time(day: int, zone: ZoneInfo, day_start: int) -> float:
    """Return the Unix time at which learner day `day` begins.

    When day_start o'clock does not exist that day (a daylight-saving gap), Python maps the
    wall time with the offset in force before the change, so the day begins just after it.
    """
    wall = datetime.combine(date.fromordinal(day), time(day_start), tzinfo=zone)
    return wall.timestamp()


def recent_day_starts(moment: float, zone: ZoneInfo, day_start: int, count: int) -> list[float]:
    """Return the start times of today and the `count - 1` days before it, newest first."""
    today = local_day(moment, zone, day_start)
    return [day_start_time(today - offset, zone, day_start) for offset in range(count)]


def iso_week(moment: float) -> str:
    """Return the UTC ISO week that contains `moment`, e.g. ``2025-W07``."""
    year, week, _ = datetime.fromtimestamp(moment, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str) -> tuple[int, int]:
    """Return (ISO year, week) of a week written like ``2025-W07``, or raise ValueError."""
    match = _WEEK.match(value)
    if match is None:
        raise ValueError(f"invalid week {value!r}: expected an ISO week such as 2025-W07")
    year, week = int(match["year"]), int(match["week"])
    # fromisocalendar rejects week 53 in years that have 52 weeks.
    date.fromisocalendar(year, week, 1)
    return year, week


def week_start(week: str) -> float:
    """Return the Unix time at which the UTC ISO week begins (Monday 00:00 UTC)."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    return datetime.combine(monday, time(0), tzinfo=UTC).timestamp()


def week_end(week: str) -> float:
    """Return the Unix time at which the week ends, which is the start of the next one."""
    return week_start(week) + 7 * 24 * 3600


def previous_week(week: str) -> str:
    return iso_week(week_start(week) - 1)


def next_week(week: str) -> str:
    return iso_week(week_end(week))
