"""Jobs tab: active and recent jobs with progress and errors; cancel and retry."""

from __future__ import annotations

import gradio as gr

from jobs.runner import retry_job
from media import job_store, validate
from media.errors import StudioError
from media.models import ALL_JOB_STATUSES, Job
from studio.common import api, notice, short_id

TITLE = "Jobs"


def job_dict(job: Job) -> dict:
    """Plain view of a job row: id, type, status, progress, message, error, result_ids, cost and times."""
    return {
        "job_id": job.id, "type": job.type, "status": job.status, "progress": job.progress,
        "message": job.message, "error": job.error_message,
        "result_ids": list(job.output_payload.get("result_ids", [])), "output": job.output_payload,
        "external_request_id": job.external_request_id, "external_status": job.external_status,
        "cost_cents": job.cost_cents, "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "completed_at": job.completed_at.isoformat() if job.completed_at else None,
    }


# ---- API functions ------------------------------------------------------------------------------------

def job_status(job_id: str) -> dict:
    """``{status, progress, error, result_ids, message, type, ...}`` of one job."""
    return job_dict(job_store.get_job(job_id))  # errors: studio.common.api maps them (user_errors)


def list_jobs(status: str = "", limit: int = 50) -> list[dict]:
    """Jobs newest first; ``status`` filters (e.g. ``processing``), ``active`` = pending/queued/processing."""
    status = validate.text(status, "status")
    if status and status != "active":
        validate.one_of(status, "status", ("active", *ALL_JOB_STATUSES))
    limit = validate.whole_number(limit, "limit", 1, validate.JOB_LIST_MAX)
    statuses = ("pending", "queued", "processing") if status == "active" else ((status,) if status else None)
    return [job_dict(j) for j in job_store.list_jobs(statuses, limit=limit)]


def cancel_job(job_id: str) -> dict:
    """Cancel an active job (its task stops at its next progress report); returns the job."""
    return job_dict(job_store.cancel_job(job_id))


def retry_job_api(job_id: str) -> dict:
    """Run a failed or canceled job again with the same input; returns the job."""
    retry_job(job_id)
    return job_dict(job_store.get_job(job_id))


# ---- UI -----------------------------------------------------------------------------------------------

def _rows(show: str):
    statuses = ("pending", "queued", "processing") if show == "active" else None
    return [[j.id, j.type, j.status, f"{j.progress}%", j.message, j.error_message or "",
             f"{j.created_at:%m-%d %H:%M:%S}"] for j in job_store.list_jobs(statuses, limit=200)]


def _act(action, job_id: str, show: str):
    job_id = (job_id or "").strip()
    if not job_id:
        return notice("click a job row first", False), _rows(show)
    try:
        action(job_id)
    except StudioError as exc:
        return notice(str(exc), False), _rows(show)
    return notice(f"job {short_id(job_id)}: done"), _rows(show)


def build() -> None:
    """Lay out the jobs view and register job_status, list_jobs, cancel_job, retry_job."""
    show = gr.Radio(["active", "recent"], value="recent", label="Show")
    table = gr.Dataframe(headers=["id", "type", "status", "progress", "step", "error", "created (UTC)"],
                         interactive=False, wrap=True, max_height=500)
    with gr.Row():
        job_id = gr.Textbox(label="Job id (click a row)")
        cancel_btn = gr.Button("Cancel", variant="stop")
        retry_btn = gr.Button("Retry")
    msg = gr.Markdown()

    def pick(evt: gr.SelectData, data):
        return data.iloc[evt.index[0], 0]

    table.select(pick, table, job_id, api_visibility="private")
    show.change(_rows, show, table, api_visibility="private")
    gr.Timer(2.0).tick(_rows, show, table, api_visibility="private")
    cancel_btn.click(lambda i, s: _act(job_store.cancel_job, i, s), [job_id, show], [msg, table],
                     api_visibility="private")
    retry_btn.click(lambda i, s: _act(retry_job, i, s), [job_id, show], [msg, table], api_visibility="private")
    api(job_status, "job_status")
    api(list_jobs, "list_jobs")
    api(cancel_job, "cancel_job")
    api(retry_job_api, "retry_job")
