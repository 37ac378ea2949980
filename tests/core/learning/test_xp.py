"""XP awards: idempotency, anti-gaming rules, daily goals, streaks, freezes and time zones."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime

import pytest

from bot.adapters.console.sender import RecordingSender
from bot.core.actions import Action, ActionKind
from bot.core.events import Author, MessageCreated, Place
from bot.core.learning import Learning, XpRules
from bot.core.store import Store
from tests.core.learning.conftest import FakeClock

ANA = "discord:u-ana"
SPANISH = "Hoy practiqué español con mis amigos del club"
_ids = itertools.count(1)


# Words that make each default message text different: sending the same text twice
# earns XP once.
_ENDINGS = ("hoy", "mañana", "luego", "pronto", "después", "siempre", "temprano", "tarde")


def message(
    text: str | None = None, *, user: str = "u-ana", channel: str = "c1", bot: bool = False
) -> MessageCreated:
    number = next(_ids)
    if text is None:
        text = f"{SPANISH} {_ENDINGS[number % len(_ENDINGS)]} {_ENDINGS[number // 8 % 8]}"
    return MessageCreated(
        f"e{number}",
        Place("discord", "s1", channel),
        Author(user, user.removeprefix("u-").title(), is_bot=bot),
        f"m{number}",
        text,
    )


async def learner_of_spanish(learning: Learning, learner: str = ANA) -> None:
    await learning.profiles.update(learner, {"targets": "es"})


async def total_xp(learning: Learning, learner: str = ANA) -> int:
    return (await learning.xp.summary(learner)).total


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Idempotency.


async def test_duplicate_event_awards_once(learning: Learning) -> None:
    first = await learning.award(ANA, "game", 10, "game-1")
    second = await learning.award(ANA, "game", 10, "game-1")

    assert first.status == "ok"
    assert second.status == "duplicate"
    assert await total_xp(learning) == 10


async def test_concurrent_awards_once(learning: Learning) -> None:
    results = await asyncio.gather(
        *(learning.award(ANA, "challenge", 5, "challenge-7") for _ in range(20))
    )

    statuses = [result.status for result in results]
    assert statuses.count("ok") == 1
    assert statuses.count("duplicate") == 19
    assert await total_xp(learning) == 5


async def test_award_rejects_bad_amount(learning: Learning) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await learning.award(ANA, "game", 0, "game-2")


# Anti-gaming rules for messages.


async def test_target_message_earns_xp(learning: Learning) -> None:
    await learner_of_spanish(learning)

    await learning.observer.message_seen(message(), "es", True)

    assert await total_xp(learning) == learning.rules.message_xp


async def test_non_target_language_no_xp(learning: Learning) -> None:
    await learner_of_spanish(learning)

    await learning.observer.message_seen(message("I practised Spanish with my friends"), "en", True)
    await learning.observer.message_seen(message(), None, False)

    assert await total_xp(learning) == 0


async def test_untranslated_message_still_earns(learning: Learning) -> None:
    await learner_of_spanish(learning)

    await learning.observer.message_seen(message(), "es", False)

    assert await total_xp(learning) == learning.rules.message_xp


async def test_short_message_no_xp(learning: Learning) -> None:
    await learner_of_spanish(learning)

    await learning.observer.message_seen(
        message("¡Hola a todos! 😀 https://example.com"), "es", True
    )

    assert await total_xp(learning) == 0


async def test_bot_message_no_xp(learning: Learning) -> None:
    await learner_of_spanish(learning)

    await learning.observer.message_seen(message(bot=True), "es", True)

    assert await total_xp(learning) == 0


async def test_cooldown_per_channel(learning: Learning, clock: FakeClock) -> None:
    await learner_of_spanish(learning)
    xp = learning.rules.message_xp

    await learning.observer.message_seen(message(channel="c1"), "es", True)
    clock.advance(10)
    await learning.observer.message_seen(message(channel="c1"), "es", True)
    assert await total_xp(learning) == xp

    await learning.observer.message_seen(message(channel="c2"), "es", True)
    assert await total_xp(learning) == 2 * xp

    clock.advance(learning.rules.cooldown_s)
    await learning.observer.message_seen(message(channel="c1"), "es", True)
    assert await total_xp(learning) == 3 * xp


async def test_daily_cap_stops_message_xp(store: Store, clock: FakeClock) -> None:
    learning = Learning(store, clock=clock, rules=XpRules(message_xp=3, caps={"message": 10}))
    await learner_of_spanish(learning)

    for _ in range(5):
        await learning.observer.message_seen(message(), "es", True)
        clock.advance(31)

    # 3 + 3 + 3, then 1 more to reach the cap of 10, then nothing.
    assert await total_xp(learning) == 10


async def test_daily_cap_resets_next_day(store: Store, clock: FakeClock) -> None:
    learning = Learning(store, clock=clock, rules=XpRules(message_xp=3, caps={"message": 3}))
    await learner_of_spanish(learning)
    await learning.observer.message_seen(message(), "es", True)
    clock.advance(60)
    await learning.observer.message_seen(message(), "es", True)
    assert await total_xp(learning) == 3

    clock.advance(24 * 3600)
    await learning.observer.message_seen(message(), "es", True)

    assert await total_xp(learning) == 6


async def test_cap_spares_other_kinds(store: Store, clock: FakeClock) -> None:
    learning = Learning(store, clock=clock, rules=XpRules(message_xp=3, caps={"message": 3}))
    await learner_of_spanish(learning)
    await learning.observer.message_seen(message(), "es", True)

    result = await learning.award(ANA, "review", 20, "review-1")

    assert result.granted == 20


async def test_pasted_copy_no_xp(learning: Learning) -> None:
    await learner_of_spanish(learning)
    copy = "¿Alguien quiere practicar conversación esta tarde?"
    await learning.shown.note("discord", "s1", "c1", None, copy)

    await learning.observer.message_seen(
        message("¿alguien quiere practicar CONVERSACIÓN esta tarde"), "es", True
    )

    assert await total_xp(learning) == 0


async def test_requested_translation_no_xp(learning: Learning) -> None:
    await learner_of_spanish(learning)
    await learning.shown.note("discord", "s1", None, "u-ana", SPANISH)

    await learning.observer.message_seen(message(SPANISH, channel="c9"), "es", True)

    assert await total_xp(learning) == 0


async def test_shown_text_expires(learning: Learning, clock: FakeClock) -> None:
    await learner_of_spanish(learning)
    await learning.shown.note("discord", "s1", "c1", None, SPANISH)

    clock.advance(learning.rules.shown_window_s + 1)
    await learning.observer.message_seen(message(SPANISH), "es", True)

    assert await total_xp(learning) == learning.rules.message_xp


async def test_recorder_notes_copies(learning: Learning) -> None:
    await learner_of_spanish(learning)
    sender = learning.recorder(RecordingSender())
    copy = Action(ActionKind.POST, "discord", "s1", "c1", SPANISH, origin="m0", language="es")

    await sender.send(copy)
    await learning.observer.message_seen(message(SPANISH), "es", True)

    assert await total_xp(learning) == 0


async def test_recorder_notes_private_replies(learning: Learning) -> None:
    reply = Action(ActionKind.EPHEMERAL, "discord", "s1", "c1", SPANISH, user="u-ana")

    await learning.recorder(RecordingSender()).send(reply)

    assert await learning.shown.seen("discord", "s1", "c5", "u-ana", SPANISH)


# Daily goal and day boundaries.


async def test_goal_counts_today(learning: Learning) -> None:
    await learning.profiles.update(ANA, {"goal": "12"})
    await learning.award(ANA, "game", 12, "game-1")

    summary = await learning.xp.summary(ANA)

    assert summary.today == 12
    assert summary.goal == 12


async def test_day_start_hour_respected(learning: Learning, clock: FakeClock) -> None:
    await learning.profiles.update(ANA, {"timezone": "UTC", "day_start": "4"})
    clock.set(at("2025-01-15T10:00:00+00:00"))
    await learning.award(ANA, "game", 5, "g1")

    # 03:00 the next morning is still the learner's 15 January.
    clock.set(at("2025-01-16T03:00:00+00:00"))
    late = await learning.award(ANA, "game", 5, "g2")
    assert late.streak == 1
    assert late.today == 10

    clock.set(at("2025-01-16T05:00:00+00:00"))
    next_day = await learning.award(ANA, "game", 5, "g3")
    assert next_day.streak == 2
    assert next_day.today == 5


# Streaks across time zones.


async def test_streak_survives_eastward_move(learning: Learning, clock: FakeClock) -> None:
    await learning.profiles.update(ANA, {"timezone": "America/New_York"})
    clock.set(at("2025-01-14T23:30:00-05:00"))
    await learning.award(ANA, "game", 5, "g1")
    await learning.profiles.update(ANA, {"timezone": "Asia/Tokyo"})

    # 23:30 in New York was 13:30 on 15 January in Tokyo, so 20:00 that evening in Tokyo
    # is the same day for the streak, although it is the next New York date.
    clock.set(at("2025-01-15T20:00:00+09:00"))
    same_day = await learning.award(ANA, "game", 5, "g2")
    assert same_day.streak == 1

    clock.set(at("2025-01-16T09:00:00+09:00"))
    next_day = await learning.award(ANA, "game", 5, "g3")
    assert next_day.streak == 2


async def test_streak_survives_westward_move(learning: Learning, clock: FakeClock) -> None:
    await learning.profiles.update(ANA, {"timezone": "Asia/Tokyo"})
    clock.set(at("2025-01-15T08:00:00+09:00"))
    await learning.award(ANA, "game", 5, "g1")
    await learning.profiles.update(ANA, {"timezone": "America/New_York"})

    # 08:00 in Tokyo was 18:00 on 14 January in New York, so 15 January there is the next
    # day, although it has the same date the learner practised on in Tokyo.
    clock.set(at("2025-01-15T20:00:00-05:00"))
    result = await learning.award(ANA, "game", 5, "g2")

    assert result.streak == 2


async def test_missed_day_breaks_streak(learning: Learning, clock: FakeClock) -> None:
    await learning.award(ANA, "game", 5, "g1")
    clock.advance(2 * 24 * 3600)

    assert (await learning.xp.summary(ANA)).streak == 0
    result = await learning.award(ANA, "game", 5, "g2")
    assert result.streak == 1


# Freezes.


async def practise_days(learning: Learning, clock: FakeClock, days: int, tag: str) -> None:
    for day in range(days):
        await learning.award(ANA, "game", 5, f"{tag}-{day}")
        clock.advance(24 * 3600)


async def test_freeze_earned_after_week(learning: Learning, clock: FakeClock) -> None:
    await practise_days(learning, clock, 6, "a")
    assert (await learning.xp.summary(ANA)).freezes == 0

    result = await learning.award(ANA, "game", 5, "a-6")

    assert result.streak == 7
    assert result.freezes == 1


async def test_freezes_capped_at_two(learning: Learning, clock: FakeClock) -> None:
    await practise_days(learning, clock, 21, "a")

    summary = await learning.xp.summary(ANA)

    assert summary.streak == 21
    assert summary.freezes == 2


async def test_freeze_covers_missed_day(learning: Learning, clock: FakeClock) -> None:
    await practise_days(learning, clock, 7, "a")
    clock.advance(24 * 3600)  # the eighth day passes without practice

    pending = await learning.xp.summary(ANA)
    assert pending.streak == 7
    assert pending.freezes == 0

    result = await learning.award(ANA, "game", 5, "b")
    assert result.streak == 8
    assert result.freezes == 0


async def test_gap_beyond_freezes_resets(learning: Learning, clock: FakeClock) -> None:
    await practise_days(learning, clock, 7, "a")
    clock.advance(2 * 24 * 3600)  # two days missed, one freeze held

    assert (await learning.xp.summary(ANA)).streak == 0
    result = await learning.award(ANA, "game", 5, "b")
    assert result.streak == 1
    assert result.freezes == 1


async def test_best_streak_kept(learning: Learning, clock: FakeClock) -> None:
    await practise_days(learning, clock, 3, "a")
    clock.advance(3 * 24 * 3600)
    await learning.award(ANA, "game", 5, "b")

    summary = await learning.xp.summary(ANA)

    assert summary.streak == 1
    assert summary.best == 3


async def test_observer_survives_redis_error(learning: Learning) -> None:
    await learner_of_spanish(learning)
    await learning.store.redis.set(learning.xp.keys.learner(ANA, "xp"), "not a hash")

    # The award fails inside Redis on the wrong key type. The observer logs it and returns.
    await learning.observer.message_seen(message(), "es", True)

    assert await learning.store.redis.get(learning.xp.keys.learner(ANA, "xp")) == "not a hash"
