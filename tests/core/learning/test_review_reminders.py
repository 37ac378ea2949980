"""Due-card reminders: selection by each learner's local hour, once per local day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.errors import UserError
from bot.core.learning.review import Reviews, reminder_text
from bot.core.store import Store

# 00:00 UTC is 09:00 in Tokyo; 13:00 UTC is 09:00 in New York in July (EDT, UTC-4).
MIDNIGHT_UTC = datetime(2025, 7, 1, 0, 0, tzinfo=UTC)
ONE_PM_UTC = datetime(2025, 7, 1, 13, 0, tzinfo=UTC)
NINE_AM_UTC = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def reviews(store: Store) -> Reviews:
    return Reviews(store, clock=lambda: datetime(2025, 6, 30, tzinfo=UTC))


async def _learner(reviews: Reviews, store: Store, learner: str, zone: str | None) -> None:
    if zone is not None:
        await store.redis.hset(store.key("learner", learner, "profile"), "timezone", zone)
    await reviews.save_card(learner, f"palabra {learner}", "word", "es")
    await reviews.set_reminders(learner, 9)


async def test_selects_learner_at_local_hour(reviews: Reviews, store: Store) -> None:
    await _learner(reviews, store, "tokyo", "Asia/Tokyo")
    await _learner(reviews, store, "new-york", "America/New_York")
    await _learner(reviews, store, "utc", None)

    assert await reviews.due_reminders(MIDNIGHT_UTC) == [("tokyo", 1)]
    assert await reviews.due_reminders(ONE_PM_UTC) == [("new-york", 1)]
    assert await reviews.due_reminders(NINE_AM_UTC) == [("utc", 1)]


async def test_unknown_zone_counts_as_utc(reviews: Reviews, store: Store) -> None:
    await _learner(reviews, store, "nowhere", "Mars/Olympus_Mons")

    assert await reviews.due_reminders(NINE_AM_UTC) == [("nowhere", 1)]


async def test_one_reminder_per_local_day(reviews: Reviews, store: Store) -> None:
    await _learner(reviews, store, "utc", None)

    first = await reviews.due_reminders(NINE_AM_UTC)
    later_same_hour = await reviews.due_reminders(NINE_AM_UTC.replace(minute=40))
    next_day = await reviews.due_reminders(NINE_AM_UTC.replace(day=2))

    assert first == [("utc", 1)]
    assert later_same_hour == []
    assert next_day == [("utc", 1)]


async def test_no_due_cards_no_reminder(reviews: Reviews, store: Store) -> None:
    await reviews.set_reminders("idle", 9)

    assert await reviews.due_reminders(NINE_AM_UTC) == []


async def test_reminders_off_not_selected(reviews: Reviews, store: Store) -> None:
    await _learner(reviews, store, "utc", None)

    await reviews.set_reminders("utc", None)

    assert await reviews.due_reminders(NINE_AM_UTC) == []


async def test_counts_only_cards_due_by_now(reviews: Reviews, store: Store) -> None:
    await _learner(reviews, store, "utc", None)
    card = (await reviews.cards("utc"))[0]
    await store.redis.zadd(
        store.key("learner", "utc", "due"), {str(card.id): NINE_AM_UTC.timestamp() + 3600}
    )

    assert await reviews.due_reminders(NINE_AM_UTC) == []


async def test_many_learners_batched(reviews: Reviews, store: Store) -> None:
    for index in range(620):
        learner = f"l{index:03d}"
        await store.redis.zadd(store.key("learner", learner, "due"), {"1": 0})
        await reviews.set_reminders(learner, 9)

    selected = await reviews.due_reminders(NINE_AM_UTC)

    assert len(selected) == 620


async def test_hour_out_of_range_rejected(reviews: Reviews) -> None:
    with pytest.raises(UserError) as caught:
        await reviews.set_reminders("utc", 24)
    assert caught.value.key == "error.hour"


def test_reminder_text_localized() -> None:
    assert "3" in reminder_text(3, "es")
    assert "/review" in reminder_text(3, "ja")
