"""The job boundary: runs a task's work against its ``jobs`` row and turns every outcome into state.

A task body calls :func:`run_job`; whatever the work raises ends as a failed job with its message,
:class:`~media.job_store.JobCanceled` ends as canceled, and nothing propagates to Huey (no Huey retry
is wanted: a retry is a new, visible job attempt the creator starts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from huey.api import TaskWrapper

from media import costs, job_store
from media.errors import StudioError
from media.job_store import JobCanceled

log = logging.getLogger(__name__)


UserFacingError = StudioError
"""Old name of :class:`media.errors.StudioError`, kept for the job modules that raise it."""


def describe_error(exc: BaseException) -> str:
    """One line for the job row: the message of a known error, or type and message otherwise."""
    if isinstance(exc, UserFacingError):
        return str(exc)
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, (ValueError, FileNotFoundError, LookupError, RuntimeError, TimeoutError)):
        return text
    return f"{exc.__class__.__name__}: {text}"


def run_job(job_id: str, work: Callable[[], dict[str, Any] | None],
            on_failure: Callable[[str], None] | None = None,
            on_cancel: Callable[[], None] | None = None) -> str:
    """Run ``work`` for job ``job_id`` and record the outcome on its row.

    Returns the final status (``completed``, ``failed`` or ``canceled``). ``work`` returns the output
    payload. ``on_failure(message)`` and ``on_cancel()`` let the caller update its own rows.
    """
    status = _run(job_id, work, on_failure, on_cancel)
    costs.end_job_reservation(job_id, status)  # a paid job's held estimate: settled or released
    return status


def _run(job_id: str, work: Callable[[], dict[str, Any] | None],
         on_failure: Callable[[str], None] | None, on_cancel: Callable[[], None] | None) -> str:
    try:
        job_store.start_job(job_id)
        output = work() or {}
    except JobCanceled:
        job_store.cancel_job(job_id)
        if on_cancel:
            on_cancel()
        return "canceled"
    except Exception as exc:  # the job boundary: every error ends up on the row
        message = describe_error(exc)
        log.warning("job %s failed: %s", job_id, message, exc_info=not isinstance(exc, UserFacingError))
        job_store.fail_job(job_id, message)
        if on_failure:
            on_failure(message)
        return "failed"
    job_store.complete_job(job_id, output)
    return "completed"


_TASKS: dict[str, TaskWrapper] = {}


def register_task(job_type: str, task: TaskWrapper) -> TaskWrapper:
    """Declare the Huey task that runs jobs of ``job_type`` (used by :func:`retry_job`). Returns ``task``."""
    _TASKS[job_type] = task
    return task


def retry_job(job_id: str) -> str:
    """Run a failed or canceled job again with its stored input; returns the new task id.

    Raises :class:`UserFacingError` for an active or completed job, or a type with no task.
    """
    job = job_store.get_job(job_id)
    if job.status not in ("failed", "canceled"):
        raise UserFacingError(f"only a failed or canceled job can be retried (this one is {job.status})")
    task = _TASKS.get(job.type)
    if task is None:
        raise UserFacingError(f"jobs of type {job.type} cannot be retried")
    costs.reserve_again(job_id)  # a paid job holds its estimate again (SpendLimitExceeded past the limit)
    job_store.update_job(job_id, status="pending", progress=0, error_message=None, completed_at=None,
                         started_at=None, message="retrying")
    return submit(job_id, task)


def submit(job_id: str, task: TaskWrapper, *args: Any, **kwargs: Any) -> str:
    """Mark job ``job_id`` queued and enqueue ``task(job_id, *args, **kwargs)``; returns the task id."""
    job_store.update_job(job_id, status="queued", message="waiting for a worker")
    result = task(job_id, *args, **kwargs)
    task_id = getattr(result, "id", None)
    if task_id:
        job_store.update_job(job_id, task_id=task_id)
    return task_id or ""
