"""The hourly review-reminder job, run by a real RQ worker process, delivering a DM through
the outbox."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import redis
from rq import Queue

from bot.adapters.console.sender import RecordingSender
from bot.core.actions import ActionKind
from bot.core.conversation import Parley
from bot.core.learning.review import Reviews
from bot.core.store import Store
from bot.jobs import OutboxDrainer

REPO = Path(__file__).resolve().parents[1]


async def test_due_card_reminded_once(
    parley: Parley, store: Store, redis_url: str, prefix: str
) -> None:
    reviews = Reviews(store)
    await reviews.save_card("discord:u-ben", "la playa", "the beach", "es")
    await reviews.set_reminders("discord:u-ben", datetime.now(UTC).hour)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(f"{prefix}-queue", connection=connection)
    for run in ("1", "2"):
        queue.enqueue("workers.reminders.send_review_reminders", run, job_id=f"{prefix}-r{run}")
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "PARLEY_KEY_PREFIX": prefix,
        "PARLEY_QUEUE": queue.name,
    }

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--burst"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
    )
    sender = RecordingSender()
    drainer = OutboxDrainer(store, parley, "discord", sender, consumer="test")
    await drainer.drain_once(block_ms=100)
    queue.delete(delete_jobs=True)
    connection.close()

    assert result.returncode == 0, result.stderr[-2000:]
    assert [action.kind for action in sender.sent] == [ActionKind.DM]
    assert sender.sent[0].user == "u-ben"
    assert "1" in sender.sent[0].text
