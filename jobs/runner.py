"""The job boundary: runs a task's work against its ``jobs`` row and turns every outcome into state.

A task body calls :func:`run_job`; whatever the work raises ends as a failed job with its message,
:class:`~media.job_store.JobCanceled` ends as canceled, and nothing propagates to Huey (no Huey retry
is wanted: a retry is a new, visible job attempt the creator starts). When the catalog refuses the final
write (full disk, read-only file), the outcome is kept and :func:`sweep_outcomes` writes it later.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from huey.api import TaskWrapper
from tenacity import Retrying, retry_if_not_exception_type, stop_after_attempt, wait_exponential

from media import costs, job_store
from media.db import catalog_problem
from media.errors import StudioError
from media.ffmpeg_run import stop_check
from media.job_store import JobCanceled, JobNotFound
from media.models import ACTIVE_JOB_STATUSES, utcnow
from media.settings import get_settings
from media.store import readable_os_error

log = logging.getLogger(__name__)


UserFacingError = StudioError
"""Old name of :class:`media.errors.StudioError`, kept for the job modules that raise it."""


def describe_error(exc: BaseException) -> str:
    """One line for the job row: the message of a known error, or type and message otherwise."""
    if isinstance(exc, UserFacingError):
        return str(exc)
    problem = catalog_problem(exc)
    if problem is not None:
        return str(problem)
    if isinstance(exc, OSError) and exc.strerror:  # never the server's absolute path: the file's name
        return readable_os_error(exc)
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, (ValueError, FileNotFoundError, LookupError, RuntimeError, TimeoutError)):
        return text
    return f"{exc.__class__.__name__}: {text}"


FINAL_WRITE_ATTEMPTS = 4
"""Tries of a job's final write (its status row, then the caller's own rows) before it is kept for the sweep."""
FINAL_WRITE_WAIT_S = (0.25, 2.0)
"""First and longest wait between those tries, seconds (exponential backoff)."""
OUTCOMES_FOLDER = "outcomes"
"""Folder under the data folder where an outcome the catalog refused is kept as ``<job_id>.json``."""

EndHandler = Callable[[str, str, str | None, dict[str, Any]], None]
_END_HANDLERS: dict[str, EndHandler] = {}


def register_end_handler(job_type: str, handler: EndHandler) -> None:
    """Let :func:`sweep_outcomes` update the rows of a ``job_type`` job whose outcome was kept on disk
    (after a restart its ``on_failure``/``on_cancel`` closures are gone): ``handler(job_id, status,
    message, input_payload)``."""
    _END_HANDLERS[job_type] = handler


@dataclass
class Outcome:
    """How a job ended, kept until the catalog accepts it (see :func:`run_job`)."""

    job_id: str
    status: str  # completed | failed | canceled
    message: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    on_end: Callable[[], None] | None = None  # the caller's own rows (in-process only)
    on_cancel: Callable[[], None] | None = None  # if the row turns out canceled at completion
    row_written: bool = False
    ended_at: str = field(default_factory=lambda: utcnow().isoformat())


_PENDING: dict[str, Outcome] = {}
_PENDING_LOCK = threading.Lock()


def run_job(job_id: str, work: Callable[[], dict[str, Any] | None],
            on_failure: Callable[[str], None] | None = None,
            on_cancel: Callable[[], None] | None = None) -> str:
    """Run ``work`` for job ``job_id`` and record the outcome on its row; never raises.

    Returns the final status (``completed``, ``failed`` or ``canceled``). ``work`` returns the output
    payload. ``on_failure(message)`` and ``on_cancel()`` let the caller update its own rows. The final
    writes are tried :data:`FINAL_WRITE_ATTEMPTS` times; when the catalog still refuses them (full disk,
    read-only file) the outcome is kept (in memory and, if the disk allows, in
    ``<data_dir>/outcomes/<job_id>.json``) and :func:`sweep_outcomes` (periodic, and at start-up) writes it
    later, so no job is left ``processing``. A paid job's spend reservation is settled or released.
    """
    outcome = _execute(job_id, work)
    outcome.on_cancel = on_cancel
    if outcome.status == "failed" and on_failure:
        message = outcome.message or ""
        outcome.on_end = lambda: on_failure(message)
    elif outcome.status == "canceled" and on_cancel:
        outcome.on_end = on_cancel
    if _write_outcome(outcome, FINAL_WRITE_ATTEMPTS):
        costs.end_job_reservation(job_id, outcome.status)  # a paid job's held estimate: settled or released
    else:
        _keep(outcome)  # the sweep writes it, and ends the reservation, once the catalog accepts writes
    return outcome.status


def _stop_if_canceled(job_id: str) -> None:
    """The FFmpeg stop check of a running job: raises JobCanceled once its row is canceled."""
    try:
        canceled = job_store.get_job(job_id).status == "canceled"
    except Exception:  # noqa: BLE001 - an unreadable catalog is no reason to kill the render
        return
    if canceled:
        raise JobCanceled(job_id)


def _execute(job_id: str, work: Callable[[], dict[str, Any] | None]) -> Outcome:
    try:
        job_store.start_job(job_id)
        with stop_check(functools.partial(_stop_if_canceled, job_id)):  # Cancel stops FFmpeg too
            output = work() or {}
        return Outcome(job_id, "completed", output=output)
    except JobCanceled:
        return Outcome(job_id, "canceled")
    except Exception as exc:  # the job boundary: every error ends up on the row
        message = describe_error(exc)
        log.warning("job %s failed: %s", job_id, message, exc_info=not isinstance(exc, UserFacingError))
        return Outcome(job_id, "failed", message)


def _write_outcome(outcome: Outcome, attempts: int) -> bool:
    """Write the job row (then the caller's rows); True when everything is written or moot."""
    retrying = Retrying(stop=stop_after_attempt(attempts), reraise=True,
                        wait=wait_exponential(multiplier=FINAL_WRITE_WAIT_S[0], max=FINAL_WRITE_WAIT_S[1]),
                        retry=retry_if_not_exception_type((JobNotFound, JobCanceled)))
    try:
        if not outcome.row_written:
            try:
                retrying(_write_row, outcome)
            except JobCanceled:  # canceled after the work's last check: it ends canceled, not completed
                outcome.status, outcome.output, outcome.on_end = "canceled", {}, outcome.on_cancel
            outcome.row_written = True
        if outcome.on_end is not None:
            retrying(outcome.on_end)
            outcome.on_end = None
    except JobNotFound:
        return True  # the job was deleted meanwhile: nothing to end
    except Exception as exc:  # noqa: BLE001 - the job boundary never raises; the outcome is kept instead
        log.error("job %s ended %s but the catalog refused the final write (%s); kept for the sweep",
                  outcome.job_id, outcome.status, describe_error(exc))
        return False
    return True


def _write_row(outcome: Outcome) -> None:
    if outcome.status == "completed":
        job_store.complete_job(outcome.job_id, outcome.output)
    elif outcome.status == "failed":
        job_store.fail_job(outcome.job_id, outcome.message or "failed")
    else:
        job_store.cancel_job(outcome.job_id)


def _outcome_file(job_id: str) -> Path:
    return get_settings().data_dir / OUTCOMES_FOLDER / f"{job_id}.json"


def _keep(outcome: Outcome) -> None:
    with _PENDING_LOCK:
        _PENDING[outcome.job_id] = outcome
    path = _outcome_file(outcome.job_id)
    try:  # best effort: a full disk may refuse this too; the in-memory copy still serves the sweep
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".outcome-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"job_id": outcome.job_id, "status": outcome.status, "message": outcome.message,
                       "output": outcome.output, "ended_at": outcome.ended_at,
                       "row_written": outcome.row_written}, handle)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("could not keep the outcome of job %s on disk either: %s", outcome.job_id, exc)


def pending_outcomes() -> list[str]:
    """Ids of jobs whose outcome this process still has to write (the catalog refused it so far)."""
    with _PENDING_LOCK:
        return sorted(_PENDING)


def _saved_outcomes() -> list[Outcome]:
    folder = get_settings().data_dir / OUTCOMES_FOLDER
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found.append(Outcome(data["job_id"], data["status"], data.get("message"), data.get("output") or {},
                                 row_written=bool(data.get("row_written")),
                                 ended_at=data.get("ended_at") or ""))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("unreadable kept outcome %s: %s", path.name, exc)
    return found


def _started_after(started_at: datetime | None, ended_at: str) -> bool:
    try:
        ended = datetime.fromisoformat(ended_at).replace(tzinfo=None)
    except ValueError:
        return False
    return started_at is not None and started_at.replace(tzinfo=None) > ended


def sweep_outcomes() -> int:
    """Write every kept outcome the catalog now accepts (this process's and those on disk); returns how
    many jobs were ended. Run by a periodic task and at start-up (``jobs.recovery``); never raises."""
    with _PENDING_LOCK:
        candidates = dict(_PENDING)
    for saved in _saved_outcomes():
        if saved.job_id not in candidates:
            try:
                job = job_store.get_job(saved.job_id)
            except JobNotFound:
                _outcome_file(saved.job_id).unlink(missing_ok=True)
                continue
            except Exception as exc:  # noqa: BLE001 - the catalog cannot even be read: try again next time
                log.warning("kept outcome of job %s not applied yet: %s", saved.job_id, exc)
                continue
            if job.status not in ACTIVE_JOB_STATUSES or _started_after(job.started_at, saved.ended_at):
                _outcome_file(saved.job_id).unlink(missing_ok=True)  # ended meanwhile, or a newer attempt
                continue
            handler = _END_HANDLERS.get(job.type)
            if handler is not None and saved.status != "completed":
                saved.on_end = functools.partial(handler, saved.job_id, saved.status, saved.message,
                                                 job.input_payload)
            candidates[saved.job_id] = saved
    ended = 0
    for job_id, outcome in candidates.items():
        if _write_outcome(outcome, 1):
            ended += 1
            with _PENDING_LOCK:
                _PENDING.pop(job_id, None)
            try:
                _outcome_file(job_id).unlink(missing_ok=True)
            except OSError:
                pass
            costs.end_job_reservation(job_id, outcome.status)
            log.info("job %s ended %s by the outcome sweep", job_id, outcome.status)
    return ended


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


class QueueUnavailable(StudioError):
    """The job queue refused a job (its storage is full, read-only or unreachable); the job was failed."""


def submit(job_id: str, task: TaskWrapper, *args: Any, **kwargs: Any) -> str:
    """Mark job ``job_id`` queued and enqueue ``task(job_id, *args, **kwargs)``; returns the task id.

    Raises :class:`QueueUnavailable` when the queue's storage refuses the task (full disk, read-only
    file, Redis down); the job is then marked failed with that reason rather than left ``queued`` (or,
    when the catalog refuses that too, the outcome is kept for :func:`sweep_outcomes`).
    """
    try:
        job_store.update_job(job_id, status="queued", message="waiting for a worker")
        result = task(job_id, *args, **kwargs)
    except Exception as exc:
        if getattr(task.huey, "immediate", False) and not isinstance(exc, StudioError):
            raise  # immediate mode ran the task inline: nothing was queued, the error is the task's
        reason = describe_error(exc) if isinstance(exc, StudioError) else str(exc).strip() or exc.__class__.__name__
        message = (f"the job queue could not take this job ({reason}); free some space in the data folder "
                   "(or check the queue's storage) and retry")
        outcome = Outcome(job_id, "failed", message)
        if not _write_outcome(outcome, FINAL_WRITE_ATTEMPTS):  # the catalog may refuse writes too
            _keep(outcome)
        raise QueueUnavailable(message) from exc
    task_id = getattr(result, "id", None)
    if task_id:
        job_store.update_job(job_id, task_id=task_id)
    return task_id or ""
