"""Start-up recovery: jobs left ``processing`` (or ``queued`` with a lost queue) by a killed process.

A task module may register a handler for its job type (``register_recovery``) that re-queues or
re-attaches the job (a fal training re-attaches to its ``external_request_id``) and returns True.
Without a handler, or when the handler returns False, the job is marked failed with the reason, and
the store's scratch space is emptied (``media.store.clean_scratch``), so nothing half-written reaches
the library. Outcomes the catalog refused before the restart are written first, with their reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from huey import crontab

from jobs.queue import huey
from jobs.runner import sweep_outcomes
from media import job_store, store
from media.models import Job

log = logging.getLogger(__name__)

RecoveryHandler = Callable[[Job], bool]
_HANDLERS: dict[str, RecoveryHandler] = {}

INTERRUPTED_MESSAGE = "interrupted: the studio stopped while this job was running; press Retry to run it again"


def register_recovery(job_type: str, handler: RecoveryHandler) -> None:
    """Use ``handler(job) -> bool`` for interrupted jobs of ``job_type`` (True = re-queued)."""
    _HANDLERS[job_type] = handler


def recover_interrupted_jobs(include_queued: bool = False) -> int:
    """Handle every job left ``processing`` (and ``queued``/``pending`` when ``include_queued``).

    Call once at start-up, before the consumer starts. Returns how many jobs were handled.
    """
    import jobs.tasks  # noqa: F401  (task modules register their handlers on import)

    sweep_outcomes()  # outcomes the catalog refused before the restart end their jobs with their reason
    statuses = ("processing", "queued", "pending") if include_queued else ("processing",)
    interrupted = job_store.list_jobs(statuses=statuses, limit=10_000)
    for job in interrupted:
        handler = _HANDLERS.get(job.type)
        requeued = False
        if handler is not None:
            try:
                requeued = handler(job)
            except Exception as exc:  # noqa: BLE001 - a broken handler must not stop the studio from starting
                log.warning("recovery of job %s failed: %s", job.id, exc)
        if not requeued:
            try:
                job_store.fail_job(job.id, INTERRUPTED_MESSAGE)
            except Exception as exc:  # noqa: BLE001 - a read-only catalog must not stop the studio starting
                log.warning("could not mark interrupted job %s failed: %s", job.id, exc)
    store.clean_scratch()
    return len(interrupted)


@huey.periodic_task(crontab(minute="*"))
def sweep_outcomes_task() -> int:
    """Every minute: end the jobs whose outcome the catalog refused (full disk, read-only file) once it
    accepts writes again (``jobs.runner.sweep_outcomes``); returns how many were ended."""
    return sweep_outcomes()
