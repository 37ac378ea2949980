"""Leaderboards, league cohorts and the weekly rollover, in process and in RQ workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from bot.core.learning import Learning, XpRules
from bot.core.learning.days import week_end
from bot.core.learning.leagues import movers
from bot.core.store import Store
from tests.core.learning.conftest import FakeClock
from workers.learning import schedule_league_rollovers

REPO = Path(__file__).resolve().parents[3]
SPACE = ("discord", "s1")
# The fake clock's default time, 2025-01-15, falls in this UTC ISO week.
WEEK = "2025-W03"
_events = iter(range(1, 1_000_000))


async def earn(learning: Learning, learner: str, xp: int, *, language: str = "es") -> None:
    await learning.profiles.update(learner, {"targets": "es"})
    await learning.award(learner, "game", xp, f"g{next(_events)}", space=SPACE, language=language)


async def silver(learning: Learning, *learners: str) -> None:
    await learning.store.redis.hset(
        learning.leagues.keys.tiers(*SPACE), mapping={learner: "1" for learner in learners}
    )


async def tiers(learning: Learning) -> dict[str, str]:
    raw: dict[str, str] = await learning.store.redis.hgetall(learning.leagues.keys.tiers(*SPACE))
    return raw


def after_week(clock: FakeClock) -> None:
    clock.now = week_end(WEEK) + 60


# Leaderboards.


async def test_week_board_ranks_space_xp(learning: Learning) -> None:
    await earn(learning, "discord:ana", 10)
    await earn(learning, "discord:ben", 30)
    await learning.award("discord:cy", "game", 99, "elsewhere", space=("discord", "s2"))

    board = await learning.leagues.top(*SPACE, "week")

    assert [(entry.rank, entry.learner, entry.xp) for entry in board] == [
        (1, "discord:ben", 30),
        (2, "discord:ana", 10),
    ]


async def test_all_time_board_outlives_week(learning: Learning, clock: FakeClock) -> None:
    await earn(learning, "discord:ana", 10)
    clock.advance(7 * 24 * 3600)
    await earn(learning, "discord:ana", 5)

    week = await learning.leagues.rank(*SPACE, "week", "discord:ana")
    all_time = await learning.leagues.rank(*SPACE, "all", "discord:ana")

    assert week is not None
    assert week.xp == 5
    assert all_time is not None
    assert all_time.xp == 15


# Cohorts.


async def test_league_needs_target_language(learning: Learning) -> None:
    await earn(learning, "discord:ana", 10, language="de")

    standing = await learning.leagues.standing(*SPACE, "discord:ana")

    assert standing.rank is None
    assert (await learning.leagues.rank(*SPACE, "week", "discord:ana")) is not None


async def test_cohorts_split_at_size(store: Store, clock: FakeClock) -> None:
    learning = Learning(store, clock=clock, rules=XpRules(cohort_size=4))
    for number in range(6):
        await earn(learning, f"discord:l{number}", 10 + number)

    first = await learning.leagues.standing(*SPACE, "discord:l0")
    last = await learning.leagues.standing(*SPACE, "discord:l5")

    assert len(first.cohort) == 4
    assert len(last.cohort) == 2
    assert last.rank == 1


@pytest.mark.parametrize(("size", "expected"), [(1, 0), (2, 0), (3, 1), (9, 3), (15, 5), (30, 5)])
def test_movers_by_cohort_size(size: int, expected: int) -> None:
    assert movers(size) == expected


# Rollover.


async def test_rollover_moves_top_and_bottom(learning: Learning, clock: FakeClock) -> None:
    learners = [f"discord:l{number:02d}" for number in range(15)]
    await silver(learning, *learners)
    for number, learner in enumerate(learners):
        await earn(learning, learner, 10 * (number + 1))
    after_week(clock)

    result = await learning.leagues.rollover(*SPACE, WEEK)

    assert result is not None
    assert sorted(result.promoted) == learners[10:]
    assert sorted(result.demoted) == learners[:5]
    after = await tiers(learning)
    assert {after[learner] for learner in learners[10:]} == {"2"}
    assert {after[learner] for learner in learners[5:10]} == {"1"}
    assert {after[learner] for learner in learners[:5]} == {"0"}


async def test_rollover_keeps_tier_bounds(learning: Learning, clock: FakeClock) -> None:
    # Three bronze learners: one moves up, and the last cannot move below bronze.
    for number in range(3):
        await earn(learning, f"discord:l{number}", 10 * (number + 1))
    after_week(clock)

    result = await learning.leagues.rollover(*SPACE, WEEK)

    assert result is not None
    assert result.promoted == ("discord:l2",)
    assert result.demoted == ()
    standing = await learning.leagues.standing(*SPACE, "discord:l0")
    assert standing.last_result == "stayed"


async def test_rollover_ties_by_learner_id(learning: Learning, clock: FakeClock) -> None:
    for learner in ("discord:b", "discord:a", "discord:c"):
        await earn(learning, learner, 10)
    after_week(clock)

    result = await learning.leagues.rollover(*SPACE, WEEK)

    assert result is not None
    assert result.promoted == ("discord:a",)


async def test_rollover_applies_once(learning: Learning, clock: FakeClock) -> None:
    for number in range(3):
        await earn(learning, f"discord:l{number}", 10 * (number + 1))
    after_week(clock)

    first = await learning.leagues.rollover(*SPACE, WEEK)
    second = await learning.leagues.rollover(*SPACE, WEEK)

    assert first is not None
    assert second is None
    assert (await tiers(learning))["discord:l2"] == "1"


async def test_concurrent_rollovers_apply_once(learning: Learning, clock: FakeClock) -> None:
    for number in range(3):
        await earn(learning, f"discord:l{number}", 10 * (number + 1))
    after_week(clock)

    results = await asyncio.gather(*(learning.leagues.rollover(*SPACE, WEEK) for _ in range(5)))

    assert sum(result is not None for result in results) == 1
    assert (await tiers(learning))["discord:l2"] == "1"


async def test_rollover_waits_for_week_end(learning: Learning) -> None:
    with pytest.raises(ValueError, match="has not ended"):
        await learning.leagues.rollover(*SPACE, WEEK)


async def test_promoted_learner_joins_higher_cohort(learning: Learning, clock: FakeClock) -> None:
    for number in range(3):
        await earn(learning, f"discord:l{number}", 10 * (number + 1))
    after_week(clock)
    await learning.leagues.rollover(*SPACE, WEEK)

    await earn(learning, "discord:l2", 5)

    standing = await learning.leagues.standing(*SPACE, "discord:l2")
    assert standing.tier == 1
    assert standing.last_result == "promoted"


# Real worker processes.


@pytest.fixture
def queue(sync_redis: redis.Redis, prefix: str) -> Iterator[Queue]:
    queue = Queue(f"{prefix}-queue", connection=sync_redis)
    yield queue
    # Job ids and the queue name both start with the test's prefix.
    keys = list(sync_redis.scan_iter(match=f"rq:*{prefix}*", count=500))
    if keys:
        sync_redis.delete(*keys)
    sync_redis.srem("rq:queues", queue.key)


def start_worker(redis_url: str, prefix: str, queue: Queue) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "PARLEY_KEY_PREFIX": prefix,
        "PARLEY_QUEUE": queue.name,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker", "--burst"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen[str]) -> None:
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr[-2000:]


async def test_two_workers_roll_over_once(
    learning: Learning, queue: Queue, redis_url: str, prefix: str
) -> None:
    for number in range(6):
        await earn(learning, f"discord:l{number}", 10 * (number + 1))
    jobs = [
        queue.enqueue(
            "workers.learning.rollover_leagues", *SPACE, WEEK, job_id=f"{prefix}-roll-{n}"
        )
        for n in range(2)
    ]

    workers = [start_worker(redis_url, prefix, queue) for _ in range(2)]
    for worker in workers:
        finish(worker)

    results = sorted(Job.fetch(job.id, connection=queue.connection).return_value() for job in jobs)
    assert results == ["already", "rolled"]
    after = await tiers(learning)
    assert after == {
        "discord:l4": "1",
        "discord:l5": "1",
        **{f"discord:l{n}": "0" for n in range(4)},
    }


async def test_schedule_is_idempotent(queue: Queue, prefix: str) -> None:
    now = datetime(2025, 1, 15, 12, tzinfo=UTC).timestamp()

    schedule_league_rollovers(queue, prefix, now=now)
    schedule_league_rollovers(queue, prefix, now=now)

    scheduled = ScheduledJobRegistry(queue=queue)
    assert scheduled.get_job_ids() == [f"{prefix}-league-week-{WEEK}"]
    at = scheduled.get_scheduled_time(f"{prefix}-league-week-{WEEK}")
    assert at.timestamp() == week_end(WEEK) + 60
    assert queue.job_ids == [f"{prefix}-league-week-2025-W02-catch-up"]


async def test_worker_start_catches_up(
    learning: Learning, queue: Queue, redis_url: str, prefix: str
) -> None:
    for number in range(3):
        await earn(learning, f"discord:l{number}", 10 * (number + 1))
    # A worker starting in the week after WEEK enqueues WEEK's rollovers at once.
    schedule_league_rollovers(queue, prefix, now=week_end(WEEK) + 3600)

    finish(start_worker(redis_url, prefix, queue))

    assert (await tiers(learning))["discord:l2"] == "1"
