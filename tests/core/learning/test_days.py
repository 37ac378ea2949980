"""Learner days across daylight-saving changes, and UTC ISO weeks."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from bot.core.learning.days import (
    day_start_time,
    iso_week,
    local_day,
    next_week,
    parse_week,
    parse_zone,
    previous_week,
    week_end,
    week_start,
)

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("day", "day_start"),
    [
        (date(2025, 3, 9), 2),  # 02:00 does not exist that day in New York
        (date(2025, 11, 2), 1),  # 01:00 happens twice that day in New York
        (date(2025, 6, 1), 0),
    ],
)
def test_day_boundary_across_dst(day: date, day_start: int) -> None:
    start = day_start_time(day.toordinal(), NEW_YORK, day_start)

    assert local_day(start, NEW_YORK, day_start) == day.toordinal()
    assert local_day(start - 1, NEW_YORK, day_start) == day.toordinal() - 1


def test_unknown_zone_rejected() -> None:
    assert parse_zone("Mars/Olympus") is None
    assert parse_zone("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")


def test_week_neighbours_cross_years() -> None:
    assert previous_week("2025-W01") == "2024-W52"
    assert next_week("2026-W53") == "2027-W01"


def test_week_bounds_are_mondays() -> None:
    assert iso_week(week_start("2025-W03")) == "2025-W03"
    assert iso_week(week_end("2025-W03") - 1) == "2025-W03"
    assert iso_week(week_end("2025-W03")) == "2025-W04"


@pytest.mark.parametrize("value", ["2025-7", "2025-W7", "2025-W54", "2025-W53"])
def test_malformed_week_rejected(value: str) -> None:
    with pytest.raises(ValueError):
        parse_week(value)
