"""fal.ai plumbing shared by every fal-backed tool (LoRA training, test images, the Swapper's ``fal`` provider).

Wire contract (fal-client 1.0.3, read from its source; see ``shared/design/contracts.md``):

- fal-client has no base-URL argument; its hosts are module constants of ``fal_client.client``
  (``QUEUE_URL_FORMAT``, ``RUN_URL_FORMAT``, ``REALTIME_URL_FORMAT``, ``REST_URL``, ``CDN_URL``) read at
  call time. :func:`configure_hosts` points all of them at ``settings.fal_base_url`` when it is set
  (tests, proxies) and restores fal's own hosts when it is empty. The CDN token URL is fixed when a
  client's token manager is first built, so hosts are set before every :func:`get_client`.
- Auth: ``Authorization: Key <FAL_KEY>``; a :class:`fal_client.SyncClient` instance carries the key from
  the settings (no module-level client, no process environment).
- Queue: submit -> ``request_id`` + ``status_url``/``response_url``/``cancel_url``; status
  ``IN_QUEUE(queue_position)`` -> ``IN_PROGRESS(logs)`` -> ``COMPLETED(error?)``; result ``GET
  response_url``; cancel ``PUT cancel_url``. fal-client itself retries 408/409/429, transport errors and
  timeouts (up to 10 tries, exponential backoff), so this module adds no retry loop of its own.

Every failure leaves this module as :class:`FalError` (a :class:`jobs.runner.UserFacingError`) whose
message says what happened and what to do.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fal_client
import fal_client.client as fal_wire
import httpx
import tenacity

from jobs.runner import UserFacingError
from media.settings import get_settings

# fal's own hosts, as fal-client computed them at import (env FAL_RUN_HOST / FAL_QUEUE_RUN_HOST honoured).
_FAL_HOSTS: dict[str, str] = {
    "QUEUE_URL_FORMAT": fal_wire.QUEUE_URL_FORMAT,
    "RUN_URL_FORMAT": fal_wire.RUN_URL_FORMAT,
    "REALTIME_URL_FORMAT": fal_wire.REALTIME_URL_FORMAT,
    "REST_URL": fal_wire.REST_URL,
    "CDN_URL": fal_wire.CDN_URL,
}

_STEP_PATTERN = re.compile(r"(?:step|steps|it)?\s*(\d+)\s*/\s*(\d+)", re.IGNORECASE)


class FalError(UserFacingError):
    """A fal call failed; the message is meant for the creator as it is."""


class FalTimeout(FalError):
    """A fal request did not finish within the allowed time (it was canceled on fal)."""


class FalRequestFailed(FalError):
    """fal ran the request and reported an error (status COMPLETED with ``error``); retrying it is pointless."""


@dataclass(frozen=True)
class QueueUpdate:
    """One status poll of a queued request.

    ``status``: ``IN_QUEUE`` | ``IN_PROGRESS`` | ``COMPLETED``; ``position``: 0-based queue position
    (``IN_QUEUE`` only); ``new_logs``: log messages not reported before; ``fraction``: 0..1 taken from
    the newest ``n/total`` step count in the logs, or None.
    """

    status: str
    position: int | None = None
    new_logs: list[str] = field(default_factory=list)
    fraction: float | None = None


def fal_hosts(base_url: str) -> dict[str, str]:
    """The fal-client host constants for ``base_url`` ('' = fal's own hosts).

    ``http://127.0.0.1:8123`` -> queue/run ``http://127.0.0.1:8123/``, REST and CDN
    ``http://127.0.0.1:8123``, realtime ``ws://127.0.0.1:8123/``.
    """
    if not base_url:
        return dict(_FAL_HOSTS)
    base = base_url.rstrip("/")
    ws = "wss://" + base[len("https://"):] if base.startswith("https://") else "ws://" + base.split("://", 1)[-1]
    return {"QUEUE_URL_FORMAT": base + "/", "RUN_URL_FORMAT": base + "/", "REALTIME_URL_FORMAT": ws + "/",
            "REST_URL": base, "CDN_URL": base}


def configure_hosts(base_url: str | None = None) -> None:
    """Point fal-client's host constants at ``base_url`` (default: ``settings.fal_base_url``)."""
    hosts = fal_hosts(get_settings().fal_base_url if base_url is None else base_url)
    for name, value in hosts.items():
        setattr(fal_wire, name, value)


def require_key() -> str:
    """The fal key from the settings; raises :class:`FalError` naming the setting when it is empty."""
    key = get_settings().fal_key.strip()
    if not key:
        raise FalError("FAL_KEY is not set: add your fal.ai API key (Settings tab or the FAL_KEY "
                       "environment variable) to use fal")
    return key


def get_client() -> fal_client.SyncClient:
    """A fal-client ``SyncClient`` with the settings' key and HTTP timeout, hosts configured.

    Raises :class:`FalError` when ``FAL_KEY`` is not set.
    """
    key = require_key()
    configure_hosts()
    return fal_client.SyncClient(key=key, default_timeout=get_settings().fal_http_timeout_s)


def _detail(exc: fal_client.FalClientHTTPError | httpx.HTTPStatusError) -> str:
    if isinstance(exc, fal_client.FalClientHTTPError):
        text = exc.message if isinstance(exc.message, str) else str(exc.message)
    else:
        try:
            body = exc.response.json()
            text = str(body.get("detail", body)) if isinstance(body, dict) else exc.response.text
        except (ValueError, httpx.ResponseNotRead):
            text = ""
    text = " ".join(str(text).split())
    return text[:300] if text else "no detail"


def describe_http_error(status: int, detail: str, action: str) -> str:
    """One actionable line for an HTTP error ``status`` from fal while doing ``action``."""
    if status in (401, 403):
        return f"fal rejected the API key while {action} (HTTP {status}: {detail}); check FAL_KEY"
    if status == 402:
        return f"fal refused while {action}: payment required (HTTP 402: {detail}); add credit to the fal account"
    if status == 429:
        return (f"fal is rate-limiting requests while {action} (HTTP 429, still refused after fal-client's "
                f"retries: {detail}); wait a minute and retry")
    if status == 404:
        return f"fal endpoint or request not found while {action} (HTTP 404: {detail})"
    if status == 422:
        return f"fal refused the input while {action} (HTTP 422: {detail})"
    if status >= 500:
        return f"fal server error while {action} (HTTP {status}: {detail}); try again later"
    return f"fal error while {action} (HTTP {status}: {detail})"


def to_fal_error(exc: BaseException, action: str) -> FalError:
    """Map an exception from fal-client/httpx to a :class:`FalError` with a clear message."""
    if isinstance(exc, FalError):
        return exc
    if isinstance(exc, fal_client.FalClientHTTPError):
        return FalError(describe_http_error(exc.status_code, _detail(exc), action))
    if isinstance(exc, httpx.HTTPStatusError):
        return FalError(describe_http_error(exc.response.status_code, _detail(exc), action))
    if isinstance(exc, (httpx.TimeoutException, fal_client.FalClientTimeoutError)):
        return FalTimeout(f"fal did not answer in time while {action}; try again later")
    if isinstance(exc, httpx.TransportError):
        return FalError(f"cannot reach fal while {action} ({exc.__class__.__name__}: {exc}); "
                        "check the network or NOVAI_FAL_BASE_URL")
    if isinstance(exc, (KeyError, ValueError, TypeError)) and not isinstance(exc, UserFacingError):
        return FalError(f"fal sent an unexpected answer while {action} ({exc.__class__.__name__}: {exc})")
    return FalError(f"fal call failed while {action}: {exc.__class__.__name__}: {exc}")


@contextmanager
def fal_errors(action: str) -> Iterator[None]:
    """Turn fal-client/httpx errors raised inside the block into :class:`FalError` (``action`` names the step)."""
    try:
        yield
    except FalError:
        raise
    except (fal_client.FalClientError, httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
        raise to_fal_error(exc, action) from exc


def _token_refusal_is_transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (429, 502, 503, 504)


# fal-client 1.0.3 retries its queue and upload calls, but not the CDN token request
# (CDNTokenManager._refresh_token calls raise_for_status directly), so a 429 there would fail the upload.
_retry_token = tenacity.retry(retry=tenacity.retry_if_exception(_token_refusal_is_transient),
                              wait=tenacity.wait_exponential(multiplier=0.2, max=5),
                              stop=tenacity.stop_after_attempt(5), reraise=True)


def _server_error(exc: BaseException) -> bool:
    return isinstance(exc, fal_client.FalClientHTTPError) and exc.status_code >= 500


# A status poll that meets a 5xx is retried: fal-client retries only 408/409/429 and nginx ingress errors,
# and one server hiccup must not fail an hour-long training that is still running on fal.
_retry_poll = tenacity.retry(retry=tenacity.retry_if_exception(_server_error),
                             wait=tenacity.wait_exponential(multiplier=0.2, max=10),
                             stop=tenacity.stop_after_attempt(5), reraise=True)


def upload_file(client: fal_client.SyncClient, path: Path) -> str:
    """Upload a local file to fal's storage (``client.upload_file``); returns its URL. Raises FalError.

    A 429/502/503/504 on the CDN token request is retried (up to 5 tries); fal-client retries the rest.
    """
    with fal_errors(f"uploading {path.name}"):
        return _retry_token(client.upload_file)(path)


def submit(client: fal_client.SyncClient, endpoint: str, arguments: dict[str, Any]) -> fal_client.SyncRequestHandle:
    """Queue a request on ``endpoint`` with JSON ``arguments``; returns fal-client's handle. Raises FalError."""
    with fal_errors(f"submitting to {endpoint}"):
        return client.submit(endpoint, arguments)


def attach(client: fal_client.SyncClient, endpoint: str, request_id: str) -> fal_client.SyncRequestHandle:
    """A handle on an earlier request (re-attach after a restart), URLs rebuilt from ``endpoint``."""
    with fal_errors(f"re-attaching to request {request_id}"):
        return client.get_handle(endpoint, request_id)


def cancel(handle: fal_client.SyncRequestHandle) -> bool:
    """Ask fal to cancel a request (``PUT cancel_url``); True when fal accepted. Never raises."""
    try:
        handle.cancel()
        return True
    except Exception:  # noqa: BLE001  (best effort: the request may already be finished or gone)
        return False


def parse_fraction(logs: list[str]) -> float | None:
    """0..1 from the newest ``n/total`` count in log lines (e.g. ``step 250/1000``), or None."""
    for line in reversed(logs):
        for match in reversed(list(_STEP_PATTERN.finditer(line))):
            done, total = int(match.group(1)), int(match.group(2))
            if 0 < total and 0 <= done <= total:
                return done / total
    return None


def _log_messages(logs: list[dict[str, Any]] | None) -> list[str]:
    messages = []
    for entry in logs or []:
        text = entry.get("message") if isinstance(entry, dict) else entry
        if text:
            messages.append(str(text))
    return messages


def follow(handle: fal_client.SyncRequestHandle, on_update: Callable[[QueueUpdate], None], *,
           timeout_s: float | None = None, poll_interval_s: float | None = None,
           endpoint: str = "fal") -> dict[str, Any]:
    """Poll ``handle`` until COMPLETED, reporting each poll to ``on_update``; returns the result JSON.

    ``timeout_s``/``poll_interval_s`` default to the settings (``fal_timeout_s``, ``fal_poll_interval_s``).
    Raises :class:`FalRequestFailed` when fal reports an error (COMPLETED with ``error``), :class:`FalError`
    on an HTTP error (a 5xx on a status poll is retried up to 5 tries first), :class:`FalTimeout` past
    ``timeout_s`` (the request is canceled on fal first). Whatever
    ``on_update`` raises (e.g. ``JobCanceled``) cancels the request on fal and propagates.
    """
    settings = get_settings()
    timeout_s = settings.fal_timeout_s if timeout_s is None else timeout_s
    interval = settings.fal_poll_interval_s if poll_interval_s is None else poll_interval_s
    deadline = time.monotonic() + timeout_s
    seen = 0
    try:
        while True:
            with fal_errors(f"checking the status of {endpoint} request {handle.request_id}"):
                status = _retry_poll(handle.status)(with_logs=True)
            logs = _log_messages(getattr(status, "logs", None))
            new_logs, seen = logs[seen:], max(seen, len(logs))
            if isinstance(status, fal_client.Queued):
                on_update(QueueUpdate("IN_QUEUE", position=status.position))
            elif isinstance(status, fal_client.InProgress):
                on_update(QueueUpdate("IN_PROGRESS", new_logs=new_logs, fraction=parse_fraction(logs)))
            elif isinstance(status, fal_client.Completed):
                on_update(QueueUpdate("COMPLETED", new_logs=new_logs, fraction=1.0))
                if status.error:
                    kind = f" ({status.error_type})" if status.error_type else ""
                    raise FalRequestFailed(f"{endpoint} failed on fal{kind}: {status.error}")
                break
            if time.monotonic() >= deadline:
                cancel(handle)
                raise FalTimeout(f"{endpoint} request {handle.request_id} did not finish within "
                                 f"{timeout_s:g} s; it was canceled on fal")
            time.sleep(interval)
    except FalError:
        raise
    except BaseException:
        cancel(handle)
        raise
    with fal_errors(f"fetching the result of {endpoint} request {handle.request_id}"):
        return handle.get(interval=interval)


def result_url(result: dict[str, Any], key: str, endpoint: str = "fal") -> str:
    """``result[key]["url"]`` (a fal File); raises :class:`FalError` naming what is missing."""
    item = result.get(key) if isinstance(result, dict) else None
    url = item.get("url") if isinstance(item, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        keys = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise FalError(f"{endpoint} returned a malformed result: no {key}.url (got {keys})")
    return url


def download(url: str, dest: Path, *, timeout_s: float | None = None, max_bytes: int | None = None) -> Path:
    """Stream ``url`` into ``dest`` atomically (temp file beside it, then ``os.replace``); returns ``dest``.

    Raises :class:`FalError` on an HTTP/network error, an empty body or more than ``max_bytes``;
    no partial file is left behind.
    """
    timeout = get_settings().fal_http_timeout_s if timeout_s is None else timeout_s
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        written = 0
        with (os.fdopen(fd, "wb") as out, fal_errors(f"downloading {url.rsplit('/', 1)[-1]}"),
              httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response):
                if response.is_error:
                    response.read()  # the error body names the problem
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    written += len(chunk)
                    if max_bytes is not None and written > max_bytes:
                        raise FalError(f"download of {url} is larger than {max_bytes} bytes")
                    out.write(chunk)
        if written == 0:
            raise FalError(f"fal returned an empty file at {url}")
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def estimate_cost_cents(endpoint: str, units: float) -> int | None:
    """Cost in cents (rounded up) of ``units`` billed units on ``endpoint``, from the price table of the
    registered provider of that endpoint (:func:`jobs.providers.provider_for_endpoint`, with its settings
    override); None when no registered provider calls it.
    Example: the Wan 2.2 image trainer at 1000 steps -> 450 (USD 4.50); at 50 steps -> 45 (100 minimum).
    """
    from jobs.providers import provider_for_endpoint

    provider = provider_for_endpoint(endpoint)
    if provider is None:
        return None
    return provider.current_price().cents(float(units))
