"""Recovery: jobs left ``processing`` by a worker that died, found by their lease (``media.lease``).

A ``processing`` job is taken for interrupted only when its heartbeat is older than the lease (or it
has none, or its worker was a process of this machine that is gone): jobs running on other machines
keep their fresh heartbeat and are never touched, at start-up or by the periodic sweep.

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
from media.lease import is_stale, lease_s, now_utc, pid_is_dead_here
from media.models import Job
from media.settings import get_settings

log = logging.getLogger(__name__)

RecoveryHandler = Callable[[Job], bool]
_HANDLERS: dict[str, RecoveryHandler] = {}

INTERRUPTED_MESSAGE = "interrupted: the studio stopped while this job was running; press Retry to run it again"


def register_recovery(job_type: str, handler: RecoveryHandler) -> None:
    """Use ``handler(job) -> bool`` for interrupted jobs of ``job_type`` (True = re-queued)."""
    _HANDLERS[job_type] = handler


def _dead(job: Job, now, lease: float) -> bool:
    """A ``processing`` job whose worker is gone: heartbeat older than the lease (or none), or its
    worker a process of this machine that no longer exists."""
    return is_stale(job.heartbeat_at, now, lease) or pid_is_dead_here(job.worker)


def _recover(job: Job) -> bool:
    """Re-queue (registered handler) or fail one job already claimed; True when it was re-queued."""
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
    return requeued


def sweep_leases(lease: float | None = None) -> list[str]:
    """Re-queue (or fail, see :func:`register_recovery`) every ``processing`` job whose worker is gone:
    its heartbeat is older than the lease (``lease`` seconds, default ``NOVAI_JOB_LEASE_S``) or absent,
    or its worker is a dead process of this machine. Jobs alive elsewhere are never touched.

    Safe to run on many workers at once: each job is claimed by a compare-and-set on its row
    (:func:`media.job_store.claim_interrupted`), so exactly one sweep re-queues it. Returns the ids of
    the jobs this call took over. Raises what the catalog raises (callers log it)."""
    import jobs.tasks  # noqa: F401  (task modules register their handlers on import)

    now = now_utc()
    lease = lease_s() if lease is None else lease
    taken = []
    for job in job_store.list_jobs(statuses=("processing",), limit=10_000):
        if not _dead(job, now, lease):
            continue
        if not job_store.claim_interrupted(job, "re-queued: its worker stopped answering"):
            continue  # another sweep took it, or it came back to life
        log.warning("job %s (%s) lost its worker %s: re-queued", job.id, job.type, job.worker or "(none)")
        _recover(job)
        taken.append(job.id)
    return taken


def recover_interrupted_jobs(include_queued: bool = False, clean_shared: bool | None = None) -> int:
    """Handle the jobs a stopped process left: every ``processing`` job whose worker is gone (see
    :func:`sweep_leases`; a job whose heartbeat is fresh runs on another worker and is left alone), and
    ``queued``/``pending`` ones too when ``include_queued`` (a queue known to be lost).

    Call once at start-up, before the consumer starts. ``clean_shared``: also empty the media folder's
    scratch (``media.store.clean_scratch``): right for a studio that is the only process using its media
    folder; a farm worker passes False and cleans only its own scratch folder. None (default): True
    unless the media folder is a shared one (``NOVAI_MEDIA_DIR`` set), where other machines' files in
    flight must be left alone. Returns how many jobs were handled.
    """
    import jobs.tasks  # noqa: F401  (task modules register their handlers on import)

    sweep_outcomes()  # outcomes the catalog refused before the restart end their jobs with their reason
    handled = len(sweep_leases())
    if include_queued:
        for job in job_store.list_jobs(statuses=("queued", "pending"), limit=10_000):
            _recover(job)
            handled += 1
    if clean_shared is None:
        clean_shared = get_settings().shared_media_dir is None
    if clean_shared:
        store.clean_scratch()
    else:
        store.clean_own_scratch()
    return handled


@huey.periodic_task(crontab(minute="*"))
def sweep_outcomes_task() -> int:
    """Every minute: end the jobs whose outcome the catalog refused (full disk, read-only file) once it
    accepts writes again (``jobs.runner.sweep_outcomes``); returns how many were ended."""
    return sweep_outcomes()


@huey.periodic_task(crontab(minute="*"))
def sweep_leases_task() -> int:
    """Every minute (on every consumer that runs periodic tasks; the claim makes extra runs harmless):
    re-queue the jobs whose worker died (:func:`sweep_leases`). ``python -m jobs.worker`` also sweeps
    every lease/2 seconds, since Huey's periodic tasks cannot run more often than once a minute."""
    return len(sweep_leases())
