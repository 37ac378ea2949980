"""The RQ side of the job port: enqueue from the bot, run workers, drain the outbox."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import cast

import redis
from rq import Queue, Retry, SimpleWorker

from bot.core.actions import Action
from bot.core.conversation import Parley
from bot.core.ports import Sender
from bot.core.relay import Plan
from bot.core.store import Store

log = logging.getLogger(__name__)

# Seconds between retries of a failed job; RQ needs a worker with the scheduler for these.
RETRY_INTERVALS = [1, 5, 15]
OUTBOX_GROUP = "adapters"
MAINTENANCE_INTERVAL_S = 60


class RqJobQueue:
    """Enqueues jobs on an RQ queue with a sync client; enqueueing takes ~1 ms on loopback."""

    def __init__(self, connection: redis.Redis, queue_name: str, *, job_timeout_s: int) -> None:
        self.queue = Queue(queue_name, connection=connection)
        self.job_timeout_s = job_timeout_s

    def enqueue(self, function: str, *args: str, job_id: str) -> str:
        job = self.queue.enqueue(
            function,
            *args,
            job_id=job_id,
            job_timeout=self.job_timeout_s,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
        return str(job.id)


def run_worker(redis_url: str, queue_name: str, *, key_prefix: str, burst: bool = False) -> bool:
    """Run an RQ worker with the scheduler on until stopped (or the queue is empty, if burst).

    A SimpleWorker runs jobs in its own process, so the translation runtime it builds on the
    first job is reused by later jobs instead of being rebuilt in a fork per job.
    """
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    # RQ re-queues the jobs of a worker that died (kill -9, lost machine) in its
    # maintenance pass, every 600 s by default. Measured, an edit then landed 13.5 minutes
    # after the kill. A shorter pass brings that down to about the worker's heartbeat.
    worker = SimpleWorker(
        [queue], connection=connection, maintenance_interval=MAINTENANCE_INTERVAL_S
    )
    if not burst:
        from workers.learning import schedule_league_rollovers
        from workers.reminders import schedule_reminders

        # Weekly league rollovers and hourly review reminders run as scheduled jobs; each
        # run happens once however many workers schedule it.
        schedule_league_rollovers(queue, key_prefix)
        schedule_reminders(queue, key_prefix)
    log.info("worker %s: listening on queue %s", worker.name, queue_name)
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level="WARNING"))


class OutboxDrainer:
    """Reads job results for one platform from the outbox stream and applies them.

    Several bot processes share the stream through one consumer group, so each result is
    applied by exactly one of them. An entry is acknowledged only after it was applied.
    """

    def __init__(
        self, store: Store, parley: Parley, platform: str, sender: Sender, consumer: str
    ) -> None:
        self.store = store
        self.parley = parley
        self.platform = platform
        self.sender = sender
        self.consumer = consumer
        self.stream = store.outbox_key(platform)
        self.seen_jobs: set[str] = set()
        self._group_ready = False
        self._stopping = asyncio.Event()

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.store.redis.xgroup_create(self.stream, OUTBOX_GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def drain_once(self, block_ms: int = 1000) -> list[Action]:
        """Apply the entries available now, waiting up to `block_ms` for the first one."""
        await self._ensure_group()
        response = await self.store.redis.xreadgroup(
            OUTBOX_GROUP, self.consumer, {self.stream: ">"}, count=50, block=block_ms
        )
        sent: list[Action] = []
        # With RESP2 and decoded responses, XREADGROUP returns [[stream, [(id, fields)]]].
        streams = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], response or [])
        for _stream, entries in streams:
            for entry_id, fields in entries:
                sent.extend(await self._apply(fields))
                await self.store.redis.xack(self.stream, OUTBOX_GROUP, entry_id)
        return sent

    async def _apply(self, fields: dict[str, str]) -> list[Action]:
        job_id = fields.get("job", "?")
        self.seen_jobs.add(job_id)
        payload = json.loads(fields["payload"])
        if payload.get("type") == "actions":
            # Messages a job composed itself, such as review reminders.
            actions = [Action.from_json(item) for item in payload["actions"]]
            for action in actions:
                await self.sender.send(action)
            log.info("outbox %s: job %s sent %d actions", self.platform, job_id, len(actions))
            return actions
        if payload.get("type") != "plan":
            log.info("outbox %s: job %s delivered no plan", self.platform, job_id)
            return []
        plan = Plan.from_json(payload["plan"])
        actions = await self.parley.apply_plan(plan, self.sender)
        log.info("outbox %s: job %s applied, %d actions", self.platform, job_id, len(actions))
        return actions

    async def wait_for(self, job_ids: list[str], timeout_s: float) -> list[Action]:
        """Drain until every job in `job_ids` has delivered; returns the actions applied.

        Raises TimeoutError naming the missing jobs when they do not deliver in time.
        """
        sent: list[Action] = []
        deadline = time.monotonic() + timeout_s
        while not set(job_ids) <= self.seen_jobs:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                missing = sorted(set(job_ids) - self.seen_jobs)
                raise TimeoutError(f"jobs did not deliver within {timeout_s}s: {missing}")
            sent.extend(await self.drain_once(block_ms=max(1, int(min(remaining, 1.0) * 1000))))
        return sent

    async def run(self) -> None:
        """Drain until `stop` is called; for adapters that stay up."""
        while not self._stopping.is_set():
            try:
                await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox %s: draining failed; retrying in 1s", self.platform)
                await asyncio.sleep(1)

    def stop(self) -> None:
        """Make `run` return after its current read (at most one block, 1 s).

        redis-py 8.1 was seen to swallow a task cancel that arrived during a blocking
        XREADGROUP, so adapters stop the loop with this flag rather than rely on cancel.
        """
        self._stopping.set()
