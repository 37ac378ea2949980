"""RQ job that sends review reminders: every hour, each opted-in learner whose local hour is
their reminder hour and who has due cards gets one direct message a day.

The job reschedules itself for the next hour with a fixed job id per hour, so several
workers keep one chain. `Reviews.due_reminders` marks each learner once per local date,
so a run repeated in the same hour sends nothing twice.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from rq import Queue, Retry, get_current_job

from bot.core.actions import Action, ActionKind
from bot.core.learning.review import Reviews, reminder_text
from workers.learning import _pending, learning_store

log = logging.getLogger(__name__)

REMINDER_JOB = "workers.reminders.send_review_reminders"
HOUR_S = 3600


def send_review_reminders(hour: str) -> str:
    """Queue a direct message for every learner due a reminder now; returns how many.

    `hour` (seconds since the epoch, as text) names the run, for its job id.
    """
    job = get_current_job()
    store, loop = learning_store()
    due = loop.run_until_complete(Reviews(store).due_reminders(datetime.now(UTC)))
    for learner, count in due:
        platform, _, user = learner.partition(":")
        action = Action(
            kind=ActionKind.DM,
            platform=platform,
            space="",
            channel="",
            text=reminder_text(count, None),
            user=user,
        )
        payload = {"type": "actions", "actions": [action.to_json()]}
        loop.run_until_complete(store.push_outbox(platform, f"reminder-{hour}-{learner}", payload))
    if job is not None:
        schedule_reminders(
            Queue(job.origin, connection=job.connection), store.prefix, after=int(hour)
        )
    log.info("reminders at %s: %d learners reminded", hour, len(due))
    return str(len(due))


def schedule_reminders(queue: Queue, prefix: str, *, after: int | None = None) -> None:
    """Schedule the next hourly run unless it is already pending; call at worker start."""
    # From now at the earliest: a worker that was down for hours resumes at the next hour
    # instead of running every missed hour in a row.
    start = max(int(time.time()), after or 0)
    next_hour = (start // HOUR_S + 1) * HOUR_S
    job_id = f"{prefix}-reminders-{next_hour}"
    if _pending(queue.connection, job_id):
        return
    queue.enqueue_at(
        datetime.fromtimestamp(next_hour, UTC),
        REMINDER_JOB,
        str(next_hour),
        job_id=job_id,
        retry=Retry(max=2, interval=[30, 120]),
        result_ttl=HOUR_S,
        failure_ttl=7 * 24 * 3600,
    )
