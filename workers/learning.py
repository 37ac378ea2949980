"""RQ jobs for learner progress: the weekly league rollover and its schedule.

The schedule uses RQ's scheduler (`Queue.enqueue_at`), which runs inside every worker
started with the scheduler on, as `parley worker` is. At the end of each UTC week,
`roll_over_week` enqueues `rollover_leagues` for every space that had league XP that week
and schedules itself for the end of the next week. `schedule_league_rollovers`, called at
worker start, sets that chain going and catches up on a week that ended while no worker
ran. Job ids are fixed per week and space, and `Leagues.rollover` applies a week once, so
several workers calling these at once still roll each space over once a week.

rq 2.12 also has `rq.cron`, but its CronScheduler is a separate long-running process
(`rq cron`) that Parley does not start, so the chain above needs no extra process.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import logging
import time
from datetime import UTC, datetime

import redis
import redis.asyncio as aioredis
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot.core import i18n
from bot.core.actions import Action, ActionKind
from bot.core.learning.days import iso_week, next_week, previous_week, week_end
from bot.core.learning.leagues import Leagues
from bot.core.store import Store
from config.settings import load_settings

log = logging.getLogger(__name__)

ROLLOVER_JOB = "workers.learning.rollover_leagues"
WEEK_JOB = "workers.learning.roll_over_week"
# Seconds after the week's end before its rollover runs, so that awards read from the clock
# just before midnight have landed.
ROLLOVER_DELAY_S = 60
RETRY_INTERVALS = [5, 30, 120]
# Learners named in the weekly recap post.
RECAP_SIZE = 5
_PENDING = (JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED)

_state: tuple[Store, asyncio.AbstractEventLoop] | None = None


def learning_store() -> tuple[Store, asyncio.AbstractEventLoop]:
    """Return this process's Store and the event loop its client is bound to, built once
    from the settings (REDIS_URL and PARLEY_KEY_PREFIX)."""
    global _state
    if _state is None:
        settings = load_settings()
        if settings.redis_url is None:
            raise RuntimeError("REDIS_URL is not set; league jobs need the bot's Redis")
        loop = asyncio.new_event_loop()
        client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
        store = Store(
            client,
            settings.key_prefix,
            message_ttl_s=settings.message_ttl_s,
            event_ttl_s=settings.event_ttl_s,
            cache_ttl_s=settings.cache_ttl_s,
        )
        _state = (store, loop)
        atexit.register(_close)
    return _state


def _close() -> None:
    global _state
    if _state is None:
        return
    store, loop = _state
    _state = None
    loop.run_until_complete(store.redis.aclose())
    loop.close()


def rollover_leagues(space_platform: str, space: str, week: str) -> str:
    """Roll one space's leagues over after `week` (``2025-W07``).

    Returns "rolled", or "already" when an earlier or concurrent run did it. Raises
    ValueError for a malformed week or one that has not ended.
    """
    store, loop = learning_store()
    leagues = Leagues(store, time.time)
    result = loop.run_until_complete(leagues.rollover(space_platform, space, week))
    if result is None:
        return "already"
    loop.run_until_complete(post_recap(store, space_platform, space, week))
    return "rolled"


async def post_recap(store: Store, platform: str, space: str, week: str) -> bool:
    """Post the week's top learners in the space's recap channel, if it chose one.

    Runs once per space and week, after the rollover that only one run applies. Returns
    whether a recap was queued.
    """
    channel = await store.redis.get(store.key("space", platform, space, "recap"))
    if not channel:
        return False
    ended = Leagues(store, lambda: week_end(week) - 1)
    leaders = await ended.top(platform, space, "week", RECAP_SIZE)
    lines = [i18n.t("recap.title", None, week=week)]
    lines.extend(
        i18n.t("recap.line", None, rank=entry.rank, name=entry.name, xp=entry.xp)
        for entry in leaders
    )
    if not leaders:
        lines.append(i18n.t("recap.empty", None))
    action = Action(
        kind=ActionKind.POST,
        platform=platform,
        space=space,
        channel=str(channel),
        text="\n".join(lines),
    )
    payload = {"type": "actions", "actions": [action.to_json()]}
    return await store.push_outbox(platform, f"recap-{platform}-{space}-{week}", payload)


def roll_over_week(week: str) -> str:
    """Enqueue the rollover of every space that had league XP in `week`, then schedule
    this job for the next week. Returns how many spaces it enqueued, as text."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("roll_over_week runs as an RQ job")
    store, loop = learning_store()
    queue = Queue(job.origin, connection=job.connection)
    spaces = loop.run_until_complete(Leagues(store, time.time).spaces_to_roll(week))
    for platform, space in spaces:
        _enqueue_once(
            queue, _space_job_id(store.prefix, week, platform, space), week, platform, space
        )
    schedule_week(queue, store.prefix, next_week(week))
    log.info("league week %s: %d space rollovers enqueued", week, len(spaces))
    return str(len(spaces))


def schedule_league_rollovers(queue: Queue, prefix: str, *, now: float | None = None) -> None:
    """Start the weekly chain; call once at worker start with the worker's queue and the
    deployment's key prefix.

    Enqueues the fan-out of the week that ended last, which does nothing for spaces already
    rolled over, and schedules the fan-out of the running week at its end.
    """
    moment = time.time() if now is None else now
    this_week = iso_week(moment)
    _enqueue_week_now(queue, prefix, previous_week(this_week))
    schedule_week(queue, prefix, this_week)


def schedule_week(queue: Queue, prefix: str, week: str) -> None:
    """Schedule the fan-out of `week` for just after it ends, unless it is already pending."""
    job_id = f"{prefix}-league-week-{week}"
    if _pending(queue.connection, job_id):
        return
    at = datetime.fromtimestamp(week_end(week) + ROLLOVER_DELAY_S, UTC)
    queue.enqueue_at(
        at,
        WEEK_JOB,
        week,
        job_id=job_id,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        result_ttl=14 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
    )
    log.info("league week %s: rollover scheduled for %s", week, at.isoformat())


def _enqueue_week_now(queue: Queue, prefix: str, week: str) -> None:
    job_id = f"{prefix}-league-week-{week}-catch-up"
    if _pending(queue.connection, job_id):
        return
    queue.enqueue(
        WEEK_JOB,
        week,
        job_id=job_id,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        result_ttl=3600,
        failure_ttl=30 * 24 * 3600,
    )


def _enqueue_once(queue: Queue, job_id: str, week: str, platform: str, space: str) -> None:
    if _pending(queue.connection, job_id):
        return
    queue.enqueue(
        ROLLOVER_JOB,
        platform,
        space,
        week,
        job_id=job_id,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        result_ttl=14 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
    )


def _space_job_id(prefix: str, week: str, platform: str, space: str) -> str:
    # RQ job ids allow only letters, digits, - and _, but space ids may contain others.
    digest = hashlib.sha256(f"{platform}:{space}".encode()).hexdigest()[:16]
    return f"{prefix}-league-{week}-{digest}"


def _pending(connection: redis.Redis, job_id: str) -> bool:
    try:
        status = Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return False
    return status in _PENDING
