"""A loopback fake of fal.ai's queue and storage contract, for tests that run the real fal-client.

Speaks what fal-client 1.0.3 sends (see ``jobs/fal.py`` and ``shared/design/contracts.md``), all on one
``http://127.0.0.1:<port>`` (``NOVAI_FAL_BASE_URL`` points every fal host here):

- storage: ``POST /storage/auth/token?storage_type=fal-cdn-v3`` -> ``{token, token_type, base_url,
  expires_at}``; ``POST /files/upload`` (raw bytes, ``Authorization: <token_type> <token>``,
  ``X-Fal-File-Name``) -> ``{access_url}``; fallback ``POST /storage/upload/initiate?storage_type=gcs``
  -> ``{upload_url, file_url}`` then ``PUT upload_url``; ``GET /files/<id>/<name>`` serves stored files.
- queue: ``POST /<endpoint>`` -> ``{request_id, status_url, response_url, cancel_url, queue_position}``
  with fal's URL shape ``/<owner>/<alias>/requests/<id>[/status|/cancel]``; status walks
  ``IN_QUEUE`` (``queue_position`` counting down) -> ``IN_PROGRESS`` (``logs`` growing, ``step n/N``)
  -> ``COMPLETED`` (``error``/``error_type`` when scripted), one state per poll, so tests need no sleeps.
- auth: every call except CDN files needs ``Authorization: Key <key>`` (else 401 ``Invalid API key``).
- scripted failures: :meth:`FakeFal.fail` answers the next N calls of a kind with an HTTP status (429s
  are retried by fal-client itself), :class:`Script` gives COMPLETED-with-error, malformed results and
  ``hang`` (never completes), :meth:`FakeFal.stall` delays answers (bounded by :meth:`FakeFal.stop`).

Use the :func:`fal_fake` fixture (registered for every test by ``tests/conftest.py``), or ``FakeFal().start()`` / ``stop()``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

_REQUEST_PATH = re.compile(r"^/(?P<app>.+?)/requests/(?P<rid>[0-9a-f-]+)(?P<tail>/status|/cancel)?$")
_FILE_PATH = re.compile(r"^/files/(?P<fid>[0-9a-f]+)/(?P<name>[^/]+)$")


@dataclass
class Script:
    """How the fake answers requests to one endpoint.

    ``queue_polls`` status polls answer IN_QUEUE, then ``progress_polls`` answer IN_PROGRESS (one more
    log line each: ``logs`` or ``step k/total``), then COMPLETED (with ``error`` when set).
    ``result`` is the JSON the result fetch returns (or a function of the :class:`Submission`).
    ``hang``: the request never leaves IN_PROGRESS.
    """

    queue_polls: int = 1
    progress_polls: int = 2
    logs: list[str] | None = None
    result: dict[str, Any] | Callable[[Submission], Any] = field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None
    hang: bool = False


@dataclass
class Submission:
    """One submitted request as the fake saw it."""

    request_id: str
    endpoint: str
    arguments: Any
    headers: dict[str, str]
    script: Script
    polls: int = 0
    canceled: bool = False
    completed: bool = False
    states: list[str] = field(default_factory=list)


@dataclass
class StoredFile:
    """A file in the fake's storage (uploaded by the client or added by the test)."""

    name: str
    data: bytes
    content_type: str
    via: str


class FakeFal:
    """The fake fal server (see the module docstring). Thread-safe; all state under one lock."""

    def __init__(self, key: str = "test-key-123") -> None:
        self.key = key
        self.cdn_token = uuid.uuid4().hex
        self.scripts: dict[str, Script] = {}
        self.submissions: dict[str, Submission] = {}
        self.files: dict[str, StoredFile] = {}
        self.calls: list[tuple[str, str, str]] = []  # (kind, method, path)
        self.reject_cdn_uploads = False
        self._failures: dict[str, deque[tuple[int, str]]] = defaultdict(deque)
        self._stalls: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> FakeFal:
        """Listen on 127.0.0.1, port 0 (any free port), in a daemon thread."""
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-fal", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (stalled answers are released first) and close the socket."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        assert self._httpd is not None, "start() first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- test controls ----------------------------------------------------------------------
    def script(self, endpoint: str, **fields: Any) -> Script:
        """Set how ``endpoint`` answers (fields of :class:`Script`); returns the script."""
        script = Script(**fields)
        with self._lock:
            self.scripts[endpoint] = script
        return script

    def fail(self, kind: str, status: int, times: int = 1, detail: str = "") -> None:
        """Answer the next ``times`` calls of ``kind`` with HTTP ``status`` and ``{"detail": detail}``.

        Kinds: token, upload, initiate, put, submit, status, result, cancel, download.
        """
        with self._lock:
            for _ in range(times):
                self._failures[kind].append((status, detail or f"scripted {status}"))

    def stall(self, kind: str, seconds: float) -> None:
        """Delay every answer of ``kind`` by ``seconds`` (released at once by :meth:`stop`)."""
        with self._lock:
            self._stalls[kind] = seconds

    def add_file(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store a file (e.g. a result the endpoint returns); returns its download URL."""
        fid = uuid.uuid4().hex
        with self._lock:
            self.files[fid] = StoredFile(name, data, content_type, via="test")
        return f"{self.base_url}/files/{fid}/{name}"

    def uploaded(self) -> list[StoredFile]:
        """Files the client uploaded, in order."""
        with self._lock:
            return [f for f in self.files.values() if f.via != "test"]

    def file_at(self, url: str) -> StoredFile:
        """The stored file behind a URL this fake handed out."""
        match = _FILE_PATH.match(urlsplit(url).path)
        assert match, f"not a fake fal file URL: {url}"
        with self._lock:
            return self.files[match["fid"]]

    def kinds(self) -> list[str]:
        """Kinds of the calls received, in order (e.g. ``["token", "upload", "submit", "status", ...]``)."""
        with self._lock:
            return [kind for kind, _, _ in self.calls]

    # -- used by the handler ----------------------------------------------------------------
    def _next_failure(self, kind: str) -> tuple[int, str] | None:
        with self._lock:
            queue = self._failures.get(kind)
            return queue.popleft() if queue else None

    def _stall_for(self, kind: str) -> None:
        seconds = self._stalls.get(kind, 0.0)
        if seconds:
            self._stop.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeFal
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return None

    # -- plumbing ---------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any = None, raw: bytes | None = None,
              content_type: str = "application/json") -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _key_ok(self) -> bool:
        return self.headers.get("Authorization", "") == f"Key {self.server_fake.key}"

    def _begin(self, kind: str, needs_key: bool = True) -> bool:
        """Record the call, apply stalls/failures/auth; False when an error answer was sent."""
        fake = self.server_fake
        with fake._lock:
            fake.calls.append((kind, self.command, self.path))
        fake._stall_for(kind)
        failure = fake._next_failure(kind)
        if failure is not None:
            self._send(failure[0], {"detail": failure[1]})
            return False
        if needs_key and not self._key_ok():
            self._send(401, {"detail": "Invalid API key"})
            return False
        return True

    def _route(self) -> None:
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        method = self.command
        if method == "POST" and path == "/storage/auth/token":
            return self._token()
        if method == "POST" and path == "/files/upload":
            return self._cdn_upload()
        if method == "POST" and path == "/storage/upload/initiate":
            return self._initiate()
        if method == "PUT" and path.startswith("/upload/"):
            return self._put_upload(path.rsplit("/", 1)[-1])
        if method == "GET" and _FILE_PATH.match(path):
            return self._serve_file(_FILE_PATH.match(path))
        match = _REQUEST_PATH.match(path)
        if match:
            tail = match["tail"] or ""
            if method == "GET" and tail == "/status":
                return self._status(match["rid"], query)
            if method == "GET" and tail == "":
                return self._result(match["rid"])
            if method == "PUT" and tail == "/cancel":
                return self._cancel(match["rid"])
        if method == "POST":
            return self._submit(path.strip("/"))
        self._send(404, {"detail": f"no route for {method} {path}"})

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_PUT(self) -> None:
        self._route()

    # -- storage ----------------------------------------------------------------------------
    def _token(self) -> None:
        self._body()
        if not self._begin("token"):
            return
        expires = datetime.now(timezone.utc) + timedelta(hours=1)
        self._send(200, {"token": self.server_fake.cdn_token, "token_type": "Bearer",
                         "base_url": self.server_fake.base_url, "expires_at": expires.isoformat()})

    def _cdn_upload(self) -> None:
        fake = self.server_fake
        data = self._body()
        if not self._begin("upload", needs_key=False):
            return
        if fake.reject_cdn_uploads:
            return self._send(503, {"detail": "CDN unavailable (scripted)"})
        if self.headers.get("Authorization") != f"Bearer {fake.cdn_token}":
            return self._send(401, {"detail": "Invalid CDN token"})
        name = self.headers.get("X-Fal-File-Name") or "upload.bin"
        fid = uuid.uuid4().hex
        with fake._lock:
            fake.files[fid] = StoredFile(name, data, self.headers.get("Content-Type", ""), via="cdn")
        self._send(200, {"access_url": f"{fake.base_url}/files/{fid}/{name}"})

    def _initiate(self) -> None:
        fake = self.server_fake
        body = json.loads(self._body() or b"{}")
        if not self._begin("initiate"):
            return
        fid = uuid.uuid4().hex
        name = body.get("file_name") or "upload.bin"
        with fake._lock:
            fake.files[fid] = StoredFile(name, b"", body.get("content_type", ""), via="pending")
        self._send(200, {"upload_url": f"{fake.base_url}/upload/{fid}",
                         "file_url": f"{fake.base_url}/files/{fid}/{name}"})

    def _put_upload(self, fid: str) -> None:
        fake = self.server_fake
        data = self._body()
        if not self._begin("put", needs_key=False):
            return
        with fake._lock:
            stored = fake.files.get(fid)
            if stored is None:
                return self._send(404, {"detail": "unknown upload"})
            stored.data, stored.via = data, "gcs"
        self._send(200, {})

    def _serve_file(self, match: re.Match[str]) -> None:
        if not self._begin("download", needs_key=False):
            return
        with self.server_fake._lock:
            stored = self.server_fake.files.get(match["fid"])
        if stored is None or stored.name != match["name"]:
            return self._send(404, {"detail": "file not found"})
        self._send(200, raw=stored.data, content_type=stored.content_type or "application/octet-stream")

    # -- queue ------------------------------------------------------------------------------
    def _urls(self, endpoint: str, rid: str) -> dict[str, str]:
        owner_alias = "/".join(endpoint.split("/")[:2])
        base = f"{self.server_fake.base_url}/{owner_alias}/requests/{rid}"
        return {"status_url": base + "/status", "response_url": base, "cancel_url": base + "/cancel"}

    def _submit(self, endpoint: str) -> None:
        fake = self.server_fake
        raw = self._body()
        if not self._begin("submit"):
            return
        try:
            arguments = json.loads(raw or b"null")
        except ValueError:
            return self._send(422, {"detail": "body is not JSON"})
        rid = str(uuid.uuid4())
        with fake._lock:
            script = fake.scripts.get(endpoint, Script())
            fake.submissions[rid] = Submission(rid, endpoint, arguments, dict(self.headers), script)
        self._send(200, {"request_id": rid, **self._urls(endpoint, rid),
                         "queue_position": script.queue_polls})

    def _find(self, rid: str) -> Submission | None:
        with self.server_fake._lock:
            return self.server_fake.submissions.get(rid)

    def _status(self, rid: str, query: dict[str, list[str]]) -> None:
        if not self._begin("status"):
            return
        sub = self._find(rid)
        if sub is None:
            return self._send(404, {"detail": f"Request {rid} not found"})
        with_logs = (query.get("logs") or ["0"])[0].lower() in ("1", "true")
        with self.server_fake._lock:
            payload = _next_state(sub)
            sub.states.append(payload["status"])
        if not with_logs and "logs" in payload:
            payload["logs"] = None
        self._send(200, payload)

    def _result(self, rid: str) -> None:
        if not self._begin("result"):
            return
        sub = self._find(rid)
        if sub is None:
            return self._send(404, {"detail": f"Request {rid} not found"})
        if not sub.completed:
            return self._send(400, {"detail": "Request is still in progress"})
        if sub.canceled:
            return self._send(400, {"detail": "Request was cancelled"})
        if sub.script.error:
            return self._send(500, {"detail": sub.script.error})
        result = sub.script.result
        self._send(200, result(sub) if callable(result) else result)

    def _cancel(self, rid: str) -> None:
        if not self._begin("cancel"):
            return
        sub = self._find(rid)
        if sub is None:
            return self._send(404, {"detail": f"Request {rid} not found"})
        with self.server_fake._lock:
            if sub.completed:
                return self._send(400, {"status": "ALREADY_COMPLETED"})
            sub.canceled = True
        self._send(202, {"status": "CANCELLATION_REQUESTED"})


def _log_lines(sub: Submission, count: int) -> list[dict[str, Any]]:
    script = sub.script
    total = script.progress_polls
    lines = script.logs or [f"step {k}/{total}" for k in range(1, max(total, 1) + 1)]
    now = datetime.now(timezone.utc).isoformat()
    return [{"message": line, "level": "INFO", "source": "user", "timestamp": now} for line in lines[:count]]


def _next_state(sub: Submission) -> dict[str, Any]:
    """The state answered for this poll (called under the fake's lock)."""
    script = sub.script
    sub.polls += 1
    if sub.canceled:
        sub.completed = True
        return {"status": "COMPLETED", "logs": [], "metrics": {}, "error": "Request was cancelled",
                "error_type": "request_cancelled"}
    if sub.polls <= script.queue_polls:
        return {"status": "IN_QUEUE", "queue_position": script.queue_polls - sub.polls}
    in_progress = sub.polls - script.queue_polls
    if script.hang or in_progress <= script.progress_polls:
        return {"status": "IN_PROGRESS", "logs": _log_lines(sub, in_progress)}
    sub.completed = True
    payload: dict[str, Any] = {"status": "COMPLETED", "logs": _log_lines(sub, script.progress_polls),
                               "metrics": {"inference_time": 0.01}}
    if script.error:
        payload["error"] = script.error
        payload["error_type"] = script.error_type
    return payload


_HOST_NAMES = ("QUEUE_URL_FORMAT", "RUN_URL_FORMAT", "REALTIME_URL_FORMAT", "REST_URL", "CDN_URL")


@pytest.fixture
def fal_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeFal]:
    """A started :class:`FakeFal` with ``FAL_KEY``/``NOVAI_FAL_BASE_URL`` pointing at it and fast polls.

    Stops the server and restores fal-client's host constants afterwards.
    """
    import fal_client.client as fal_wire

    from media.settings import reset_settings

    saved = {name: getattr(fal_wire, name) for name in _HOST_NAMES}
    fake = FakeFal().start()
    monkeypatch.setenv("FAL_KEY", fake.key)
    monkeypatch.setenv("NOVAI_FAL_BASE_URL", fake.base_url)
    monkeypatch.setenv("NOVAI_FAL_POLL_INTERVAL_S", "0.01")
    monkeypatch.setenv("NOVAI_FAL_HTTP_TIMEOUT_S", "10")
    reset_settings()
    try:
        yield fake
    finally:
        fake.stop()
        for name, value in saved.items():
            setattr(fal_wire, name, value)
        reset_settings()


def cancel_while_in_progress(fake: FakeFal, task: Any, job_id: str, timeout_s: float = 30) -> Submission:
    """Run the Huey ``task`` of job ``job_id`` in a thread, cancel the job (``media.job_store.cancel_job``)
    once the fake reports the request ``IN_PROGRESS`` (or after ``timeout_s`` seconds), wait for the task to
    end and return the one submission the fake received."""
    import time

    from media import job_store

    worker = threading.Thread(target=task.call_local, args=(job_id,))
    worker.start()
    deadline = time.monotonic() + timeout_s
    while not any("IN_PROGRESS" in s.states for s in fake.submissions.values()) and time.monotonic() < deadline:
        time.sleep(0.02)
    job_store.cancel_job(job_id)
    worker.join(timeout_s)
    (sub,) = fake.submissions.values()
    return sub
