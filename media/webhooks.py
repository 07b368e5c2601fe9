"""Batch completion webhooks: when a variant batch finishes, POST a JSON notice to a URL.

The URL is set per batch (``webhook_url`` when the batch is created) or for every batch in Settings
(``NOVAI_BATCH_WEBHOOK_URL``). The body (``application/json``)::

    {"event": "batch.finished", "batch_id": "...", "status": "completed" | "completed_with_errors" |
     "failed" | "canceled", "total": 4, "done": 3, "failed": 1, "canceled": 0, "completed_at": "ISO-8601 UTC"}

Delivery is retried with exponential backoff (tenacity) on connection errors, timeouts, HTTP 429 and 5xx;
any other 4xx is final. Each batch is notified at most once: the row is claimed (pending -> sending) in one
UPDATE before the POST, so two workers finishing the last two variants never send twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import update
from tenacity import RetryError, retry, retry_if_exception, stop_after_attempt, wait_exponential

from media import batches
from media.db import session_scope
from media.errors import InvalidInput
from media.models import BatchWebhook, utcnow
from media.settings import get_settings

log = logging.getLogger(__name__)
FINAL_BATCH_STATUSES = ("completed", "completed_with_errors", "failed", "canceled")
USER_AGENT = "NOVAI-Studio-webhook/1"


class WebhookError(Exception):
    """One failed POST: ``status`` is the HTTP status (None for a connection error or timeout)."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.status, self.retryable = status, retryable


def check_url(url: str) -> str:
    """The URL stripped; raises :class:`media.errors.InvalidInput` unless it is an http(s) URL with a host."""
    url = (url or "").strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"webhook_url must be an http:// or https:// URL, got {url!r}")
    return url


def register(batch_id: str, url: str | None = None) -> str | None:
    """Attach a webhook to a new batch: ``url``, else the Settings URL, else none. Returns the URL used."""
    chosen = (url or "").strip() or get_settings().batch_webhook_url.strip()
    if not chosen:
        return None
    chosen = check_url(chosen)
    with session_scope() as session:
        session.merge(BatchWebhook(batch_id=batch_id, url=chosen))
    return chosen


def get_webhook(batch_id: str) -> BatchWebhook | None:
    """The batch's webhook row, or None when it has none."""
    with session_scope() as session:
        return session.get(BatchWebhook, batch_id)


def payload(batch_id: str) -> dict[str, Any]:
    """The JSON body for a batch (see the module docstring)."""
    status = batches.batch_status(batch_id)
    batch = batches.get_batch(batch_id)
    return {"event": "batch.finished", "batch_id": batch_id, "status": status["status"],
            "total": status["total"], "done": status["done"], "failed": status["failed"],
            "canceled": status["canceled"],
            "completed_at": batch.completed_at.isoformat() if batch.completed_at else None}


def claim_if_finished(batch_id: str) -> BatchWebhook | None:
    """Claim the batch's pending webhook when the batch has finished (pending -> sending, atomically).

    Returns the claimed row, or None (no webhook, batch still running, or already claimed).
    """
    if batches.refresh_batch_status(batch_id).status not in FINAL_BATCH_STATUSES:
        return None
    with session_scope() as session:
        claimed = session.execute(
            update(BatchWebhook).where(BatchWebhook.batch_id == batch_id, BatchWebhook.status == "pending")
            .values(status="sending")).rowcount
        return session.get(BatchWebhook, batch_id) if claimed else None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, WebhookError) and exc.retryable


def _post_once(client: httpx.Client, url: str, body: dict[str, Any], batch_id: str) -> int:
    with session_scope() as session:
        row = session.get(BatchWebhook, batch_id)
        row.attempts += 1
        session.add(row)
    try:
        response = client.post(url, json=body)
    except httpx.HTTPError as exc:  # connection refused, timeout, protocol error
        raise WebhookError(f"{exc.__class__.__name__}: {exc}") from exc
    if response.status_code >= 400:
        retry_it = response.status_code == 429 or response.status_code >= 500
        raise WebhookError(f"HTTP {response.status_code}", response.status_code, retry_it)
    return response.status_code


def deliver(batch_id: str) -> BatchWebhook:
    """POST the batch's notice to its claimed webhook, retrying; records the outcome on the row.

    Tries up to ``webhook_attempts`` times, waiting ``webhook_backoff_s`` seconds doubling each time (at
    most 60 s) on a connection error, a timeout (``webhook_timeout_s``), HTTP 429 or 5xx. Never raises for
    a failed delivery: the row ends ``delivered`` or ``failed`` with ``last_error``.
    """
    settings = get_settings()
    row = get_webhook(batch_id)
    if row is None:
        raise InvalidInput(f"batch {batch_id} has no webhook")
    body = payload(batch_id)
    retrying = retry(
        reraise=False, retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(settings.webhook_attempts),
        wait=wait_exponential(multiplier=settings.webhook_backoff_s, max=60),
    )
    fields: dict[str, Any]
    with httpx.Client(timeout=settings.webhook_timeout_s, headers={"User-Agent": USER_AGENT}) as client:
        try:
            code = retrying(_post_once)(client, row.url, body, batch_id)
            fields = {"status": "delivered", "response_status": code, "last_error": None,
                      "delivered_at": utcnow()}
        except RetryError as exc:
            last = exc.last_attempt.exception()
            fields = {"status": "failed", "response_status": getattr(last, "status", None),
                      "last_error": str(last)}
        except WebhookError as exc:
            fields = {"status": "failed", "response_status": exc.status, "last_error": str(exc)}
    with session_scope() as session:
        stored = session.get(BatchWebhook, batch_id)
        for key, value in fields.items():
            setattr(stored, key, value)
        session.add(stored)
    if fields["status"] == "failed":
        log.warning("webhook of batch %s failed: %s", batch_id, fields["last_error"])
    return get_webhook(batch_id)


def webhook_dict(row: BatchWebhook | None) -> dict[str, Any] | None:
    """Plain data of a webhook row for the API (``url, status, attempts, response_status, last_error,
    delivered_at``), or None."""
    if row is None:
        return None
    delivered: datetime | None = row.delivered_at
    return {"url": row.url, "status": row.status, "attempts": row.attempts,
            "response_status": row.response_status, "last_error": row.last_error,
            "delivered_at": delivered.isoformat() if delivered else None}
