"""Job rows: the single place a task reports state, progress and errors, and the UI reads them.

Huey's own result store is not used for state (reading a result deletes it); every job has a ``jobs``
row whose ``status`` moves pending -> queued -> processing -> completed | failed | canceled.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from media.db import get_row, session_scope, update_row
from media.errors import StudioError
from media.models import ACTIVE_JOB_STATUSES, CostRecord, Job, utcnow

log = logging.getLogger(__name__)


class JobCanceled(Exception):
    """Raised inside a task when its job row was canceled; the task stops and cleans up."""


class JobNotFound(StudioError, LookupError):
    """No job row with that id."""


def create_job(job_type: str, input_payload: dict[str, Any] | None = None,
               reference_id: str | None = None) -> Job:
    """Insert a ``pending`` job row and return it."""
    with session_scope() as session:
        job = Job(type=job_type, input_payload=input_payload or {}, reference_id=reference_id)
        session.add(job)
    return job


def get_job(job_id: str) -> Job:
    """The job row; raises :class:`JobNotFound`."""
    return get_row(Job, job_id, JobNotFound, "job")


def update_job(job_id: str, **fields: Any) -> Job:
    """Set columns on a job row and return it; raises :class:`JobNotFound`."""
    return update_row(Job, job_id, JobNotFound, "job", **fields)


def mark_queued(job_id: str, task_id: str | None) -> Job:
    """The job's Huey task is enqueued."""
    return update_job(job_id, status="queued", task_id=task_id, message="waiting for a worker")


def _uncanceled_job(session: Any, job_id: str) -> Job:
    """The row of job ``job_id`` in ``session``; raises :class:`JobNotFound`, or :class:`JobCanceled`
    when it was canceled (a cancel is never overwritten by a later write of the task)."""
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(f"no job with id {job_id}")
    if job.status == "canceled":
        raise JobCanceled(job_id)
    return job


def start_job(job_id: str, worker: str | None = None) -> Job:
    """Mark a job ``processing``; raises :class:`JobCanceled` if it was canceled while queued.

    ``worker`` (``host:pid``, :func:`media.lease.worker_id`) is recorded as its owner with a first
    heartbeat (the job boundary then keeps it fresh); without one the job has no lease and the next
    sweep or start-up takes it for interrupted.
    """
    with session_scope() as session:
        job = _uncanceled_job(session, job_id)
        job.status = "processing"
        job.started_at = utcnow()
        job.attempts += 1
        job.error_message = None
        job.message = "started"
        job.worker = worker
        job.heartbeat_at = utcnow() if worker else None
        session.add(job)
        return job


def beat(job_id: str, worker: str) -> bool:
    """Refresh the heartbeat of job ``job_id`` run by ``worker``; False when the job is no longer this
    worker's to run (re-queued by a sweep, ended, deleted): the worker should then stop it."""
    with session_scope() as session:
        result = session.execute(
            update(Job).where(col(Job.id) == job_id, col(Job.worker) == worker,
                              col(Job.status) == "processing").values(heartbeat_at=utcnow()))
        return result.rowcount == 1


def claim_interrupted(job: Job, message: str) -> bool:
    """Take a ``processing`` job whose worker is gone, as read in ``job``: set it ``pending`` (no owner)
    with ``message``, only if its row still holds the same worker, heartbeat and attempt (a
    compare-and-set: of several sweeps at once exactly one wins). True when this caller won."""
    with session_scope() as session:
        heartbeat = col(Job.heartbeat_at)
        result = session.execute(
            update(Job).where(col(Job.id) == job.id, col(Job.status) == "processing",
                              col(Job.attempts) == job.attempts,
                              col(Job.worker).is_(None) if job.worker is None else col(Job.worker) == job.worker,
                              heartbeat.is_(None) if job.heartbeat_at is None else heartbeat == job.heartbeat_at)
            .values(status="pending", worker=None, heartbeat_at=None, message=message))
        return result.rowcount == 1


def report_progress(job_id: str, progress: float, message: str | None = None) -> None:
    """Write progress (0-100, clamped) and an optional step message.

    Raises :class:`JobCanceled` when the row was canceled meanwhile, so long work stops promptly, and
    :class:`JobNotFound`. A progress write the catalog refuses (full disk, read-only file) is logged and
    skipped: progress is advisory, and the work's own result decides the job's outcome.
    """
    try:
        _write_progress(job_id, progress, message)
    except (JobCanceled, JobNotFound):
        raise
    except (SQLAlchemyError, OSError) as exc:
        log.warning("progress of job %s not saved: %s", job_id, exc)


def _write_progress(job_id: str, progress: float, message: str | None) -> None:
    with session_scope() as session:
        job = _uncanceled_job(session, job_id)
        job.progress = int(max(0, min(100, progress)))
        if message is not None:
            job.message = message
        session.add(job)


def check_canceled(job_id: str) -> None:
    """Raise :class:`JobCanceled` if the job row is canceled."""
    if get_job(job_id).status == "canceled":
        raise JobCanceled(job_id)


def complete_job(job_id: str, output_payload: dict[str, Any] | None = None, message: str = "done") -> Job:
    """Mark a job ``completed`` with progress 100.

    Raises :class:`JobCanceled` (row unchanged) when it was canceled meanwhile: a cancel is never
    overwritten by a late completion. Raises :class:`JobNotFound`.
    """
    with session_scope() as session:
        job = _uncanceled_job(session, job_id)
        job.status, job.progress, job.message = "completed", 100, message
        job.output_payload, job.completed_at = output_payload or {}, utcnow()
        session.add(job)
        return job


def fail_job(job_id: str, error: str) -> Job:
    """Mark a job ``failed`` with a message a creator can act on."""
    return update_job(job_id, status="failed", error_message=error, message="failed",
                      completed_at=utcnow())


def cancel_job(job_id: str) -> Job:
    """Mark an active job ``canceled`` (its task stops at its next progress report).

    A job already finished is returned unchanged.
    """
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise JobNotFound(f"no job with id {job_id}")
        if job.status in ACTIVE_JOB_STATUSES:
            job.status = "canceled"
            job.message = "canceled"
            job.completed_at = utcnow()
            session.add(job)
        return job


def list_jobs(statuses: tuple[str, ...] | None = None, job_type: str | None = None,
              limit: int = 100) -> list[Job]:
    """Jobs newest first, optionally filtered by status and type."""
    with session_scope() as session:
        query = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
        if statuses:
            query = query.where(col(Job.status).in_(statuses))
        if job_type:
            query = query.where(Job.type == job_type)
        return list(session.exec(query))


def record_cost(job_id: str | None, job_type: str, amount_cents: int, description: str) -> CostRecord:
    """Insert a ``cost_records`` row and add the amount to the job's ``cost_cents``."""
    with session_scope() as session:
        record = CostRecord(job_id=job_id, job_type=job_type, amount_cents=int(amount_cents),
                            description=description)
        session.add(record)
        if job_id:
            job = session.get(Job, job_id)
            if job is not None:
                job.cost_cents += int(amount_cents)
                session.add(job)
        return record


def spend_since(since: datetime) -> int:
    """Total cents recorded since ``since`` (UTC)."""
    with session_scope() as session:
        rows = session.exec(select(CostRecord.amount_cents).where(CostRecord.created_at >= since))
        return int(sum(rows))


def set_task_ids(task_ids: dict[str, str]) -> None:
    """Record the Huey task id of many jobs in one transaction (``{job_id: task_id}``, for revoke)."""
    if not task_ids:
        return
    with session_scope() as session:
        ids = list(task_ids)
        for i in range(0, len(ids), 500):
            for job in session.exec(select(Job).where(col(Job.id).in_(ids[i:i + 500]))):
                job.task_id = task_ids[job.id]
                session.add(job)
