"""The progress chart: PNG output, the screen-reader summary and the Redis adapter."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.learning.chart import (
    ProgressSeries,
    chart_locale,
    load_progress,
    render_png,
    streak_series,
    summary_text,
)
from bot.core.store import Store

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LEARNER = "discord:u-ana"


def _series(level: str | None = "es B1") -> ProgressSeries:
    first = date(2025, 3, 1)
    days = tuple(first + timedelta(days=offset) for offset in range(30))
    xp = tuple((offset * 7) % 40 if offset % 6 else 0 for offset in range(30))
    active = [amount > 0 for amount in xp]
    streak = tuple(streak_series(0, 29, {i for i, on in enumerate(active) if on}, set()))
    reviews = tuple((offset * 3) % 11 for offset in range(30))
    return ProgressSeries(days, xp, streak, reviews, level)


def test_png_has_magic_and_size() -> None:
    png = render_png(_series())

    assert png.startswith(PNG_MAGIC)
    assert len(png) > 5 * 1024


def test_png_in_every_locale_draws_no_missing_glyph() -> None:
    for locale in ("en", "es", "fr", "de", "pt-BR", "ja"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            png = render_png(_series(), locale)
        assert png.startswith(PNG_MAGIC)
        assert [str(item.message) for item in caught] == []


def test_chart_locale_keeps_latin_locales() -> None:
    assert chart_locale("de-DE") == "de"


def test_series_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        ProgressSeries((date(2025, 3, 1),), (1, 2), (1,), (0,))


def test_streak_series_counts_freezes() -> None:
    assert streak_series(1, 6, {1, 2, 4, 6}, {3}) == [1, 2, 2, 3, 0, 1]


def test_summary_states_the_numbers() -> None:
    series = _series()

    text = summary_text(series)

    assert f"you earned {sum(series.xp)} XP" in text
    assert f"on {sum(1 for xp in series.xp if xp)} of those days" in text
    assert f"Your current streak is {series.streak[-1]} days" in text
    assert f"longest streak in this period was {max(series.streak)} days" in text
    assert f"You reviewed {sum(series.reviews)} cards" in text
    assert "Estimated level: es B1." in text


def test_summary_without_xp_or_level() -> None:
    days = tuple(date(2025, 3, 1) + timedelta(days=offset) for offset in range(30))
    series = ProgressSeries(days, (0,) * 30, (0,) * 30, (0,) * 30, None)

    text = summary_text(series, "es")

    assert "No ganaste XP en los últimos 30 días." in text
    assert "Nivel" not in text


async def test_load_progress_reads_ledger_keys(store: Store) -> None:
    # 23:30 UTC on 10 March is 08:30 on 11 March in Tokyo.
    now = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)
    today = date(2025, 3, 11).toordinal()

    def key(*parts: str) -> str:
        return store.key("learner", LEARNER, *parts)

    redis = store.redis
    await redis.hset(key("profile"), mapping={"timezone": "Asia/Tokyo", "day_start": "4"})
    await redis.hset(key("days"), mapping={str(today): "12", str(today - 2): "30"})
    await redis.sadd(key("practice"), today - 40, today - 2, today - 3, today)
    await redis.sadd(key("frozen"), today - 1)
    await redis.hset(key("targets"), mapping={"es": "3.2", "fr": ""})
    # Two reviews on Tokyo's 11 March (day_start 4 puts 03:00 local into 10 March).
    reviews = [
        datetime(2025, 3, 10, 20, 0, tzinfo=UTC),
        datetime(2025, 3, 10, 23, 0, tzinfo=UTC),
        datetime(2025, 3, 10, 18, 0, tzinfo=UTC),
    ]
    for moment in reviews:
        await redis.rpush(key("revlog"), json.dumps([1, 3, int(moment.timestamp()), None]))

    series = await load_progress(store, LEARNER, now)

    assert len(series.days) == 30
    assert series.days[-1] == date(2025, 3, 11)
    assert series.xp[-1] == 12
    assert series.xp[-3] == 30
    assert series.streak[-4:] == (1, 2, 2, 3)
    assert series.reviews[-1] == 2
    assert series.reviews[-2] == 1
    assert series.level == "es B1"


async def test_load_progress_empty_learner(store: Store) -> None:
    series = await load_progress(store, LEARNER, datetime(2025, 3, 10, tzinfo=UTC))

    assert sum(series.xp) == 0
    assert max(series.streak) == 0
    assert series.level is None
    assert render_png(series).startswith(PNG_MAGIC)
