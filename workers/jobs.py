"""RQ jobs. Each takes plain ids and strings, is idempotent, and delivers through the outbox."""

from __future__ import annotations

import logging

from rq import get_current_job

from bot.core.store import MessageRef
from bot.runtime import Runtime
from workers.context import worker_runtime

log = logging.getLogger(__name__)


def replan_copies(platform: str, space: str, channel: str, message: str, rev: str) -> str:
    """Re-translate the copies of an edited message and put the plan in the outbox.

    Returns "delivered", or "duplicate" when an earlier run of the same job delivered.
    """
    job = get_current_job()
    job_id = job.id if job is not None else f"direct-{platform}-{message}-{rev}"
    runtime, loop = worker_runtime()
    ref = MessageRef(platform, space, channel, message)
    return loop.run_until_complete(_replan(runtime, job_id, ref, int(rev)))


async def _replan(runtime: Runtime, job_id: str, ref: MessageRef, rev: int) -> str:
    plan = await runtime.parley.replan(ref, rev)
    payload: dict[str, object] = (
        {"type": "skip"} if plan is None else {"type": "plan", "plan": plan.to_json()}
    )
    delivered = await runtime.store.push_outbox(ref.platform, job_id, payload)
    log.info(
        "job %s: plan for %s rev %d %s",
        job_id,
        ref.key(),
        rev,
        "delivered" if delivered else "already delivered",
    )
    return "delivered" if delivered else "duplicate"
