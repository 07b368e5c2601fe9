"""One fal request that ends as one video file, for the Animate and Lip-sync jobs.

Submit (or, after a restart, re-attach to the stored ``external_request_id``), follow fal's queue into the
job's progress (upload 0-10 %, queue 10-15 %, processing 15-88 %, download 88-100 %), download the
``video`` result and check it plays. Canceling the job cancels the fal request (``JobCanceled`` from the
progress write); a failed or timed-out request forgets its id, so a retry submits again; any other failure
(a malformed result, a download error) keeps it, so a retry re-attaches and only fetches the result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobs import fal
from jobs.providers import Provider
from media import job_store
from media.probe import MediaError, MediaInfo, probe


class _Progress:
    def __init__(self, job_id: str, label: str) -> None:
        self.job_id, self.label, self.status = job_id, label, None

    def __call__(self, update: fal.QueueUpdate) -> None:
        if update.status != self.status:
            self.status = update.status
            job_store.update_job(self.job_id, external_status=update.status)
        if update.status == "IN_QUEUE":
            job_store.report_progress(self.job_id, 12, f"waiting in fal's queue (position {update.position})")
        elif update.status == "IN_PROGRESS":
            text = update.new_logs[-1][:200] if update.new_logs else f"{self.label} running on fal"
            job_store.report_progress(self.job_id, 15 + 73 * (update.fraction or 0.0), text)
        else:
            job_store.report_progress(self.job_id, 88, f"{self.label} finished on fal")


def run_request(job_id: str, provider: Provider, uploads: Callable[[Any], dict[str, str]],
                options: dict[str, Any], dest: Path) -> tuple[Path, MediaInfo, str]:
    """Run ``provider``'s request for job ``job_id`` and download its video to ``dest``.

    ``uploads(client)`` uploads the inputs and returns their URLs by role (``image``, ``video``,
    ``audio``); it is not called when re-attaching. Returns (dest, probed facts, fal request id).
    Raises :class:`jobs.fal.FalError` (missing key, HTTP error, failed/malformed result, timeout, an
    unplayable file); ``JobCanceled`` when the job is canceled (the fal request is canceled too).
    """
    client = fal.get_client()
    job = job_store.get_job(job_id)
    if job.external_request_id:
        job_store.report_progress(job_id, 10, f"re-attached to fal request {job.external_request_id}")
        handle = fal.attach(client, provider.endpoint, job.external_request_id)
    else:
        urls = uploads(client)
        job_store.report_progress(job_id, 10, f"submitting to {provider.label}")
        handle = fal.submit(client, provider.endpoint, provider.arguments(urls, options))
        job_store.update_job(job_id, external_request_id=handle.request_id, external_status="IN_QUEUE")
    try:
        result = fal.follow(handle, _Progress(job_id, provider.label), endpoint=provider.endpoint)
    except (fal.FalRequestFailed, fal.FalTimeout):
        job_store.update_job(job_id, external_request_id=None)
        raise
    url = fal.result_url(result, "video", provider.endpoint)
    job_store.report_progress(job_id, 90, "downloading the video")
    fal.download(url, dest)
    try:
        info = probe(dest)
    except MediaError as exc:
        dest.unlink(missing_ok=True)
        raise fal.FalError(f"{provider.endpoint} returned a file that is not a playable video: {exc}") from exc
    if not info.has_video:
        dest.unlink(missing_ok=True)
        raise fal.FalError(f"{provider.endpoint} returned a file with no video stream")
    return dest, info, handle.request_id
