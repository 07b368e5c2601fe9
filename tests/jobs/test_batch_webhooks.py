"""Batch completion webhooks (issue 14) against a loopback HTTP server: retries, once only, final 4xx."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs import variants as variant_jobs
from jobs.queue import huey
from jobs.runner import UserFacingError
from media import library, webhooks
from media.settings import reset_settings


class Receiver:
    """A loopback server answering POSTs with the queued status codes (then 200); records each body."""

    def __init__(self, codes: list[int]):
        self.codes, self.bodies = list(codes), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                outer.bodies.append((self.headers.get("Content-Type"), json.loads(self.rfile.read(length))))
                code = outer.codes.pop(0) if outer.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fast_retries(fresh_data_dir, monkeypatch):
    monkeypatch.setenv("NOVAI_WEBHOOK_BACKOFF_S", "0")
    monkeypatch.setenv("NOVAI_WEBHOOK_ATTEMPTS", "4")
    reset_settings()
    huey.immediate = True
    yield
    huey.immediate = False


@pytest.fixture
def video(fast_retries, samples):
    return library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id


def test_finished_batch_posts_once_after_500_and_429(video):
    receiver = Receiver([500, 429])
    try:
        created = variant_jobs.create_variant_batch([video], [], [], 2, {"hook_duration_s": 0.5},
                                                    webhook_url=receiver.url)
        row = webhooks.get_webhook(created["batch_id"])
        assert (row.status, row.attempts, row.response_status) == ("delivered", 3, 200)
        assert len(receiver.bodies) == 3  # the two variants finishing never send twice
        content_type, body = receiver.bodies[-1]
        assert content_type == "application/json"
        assert body == {"event": "batch.finished", "batch_id": created["batch_id"], "status": "completed",
                        "total": 2, "done": 2, "failed": 0, "canceled": 0,
                        "completed_at": body["completed_at"]}
        assert body["completed_at"]
    finally:
        receiver.close()


def test_settings_url_is_used_and_a_404_is_final(video, monkeypatch):
    receiver = Receiver([404])
    monkeypatch.setenv("NOVAI_BATCH_WEBHOOK_URL", receiver.url)
    reset_settings()
    try:
        created = variant_jobs.create_variant_batch([video], [], [], 1, {})
        row = webhooks.get_webhook(created["batch_id"])
        assert (row.status, row.attempts, row.last_error) == ("failed", 1, "HTTP 404")
    finally:
        receiver.close()


def test_unreachable_receiver_fails_after_every_attempt(video, monkeypatch):
    from tests.serving import free_port

    url = f"http://127.0.0.1:{free_port()}/nobody"
    created = variant_jobs.create_variant_batch([video], [], [], 1, {}, webhook_url=url)
    row = webhooks.get_webhook(created["batch_id"])
    assert (row.status, row.attempts) == ("failed", 4)
    assert "ConnectError" in row.last_error


def test_canceled_batch_notifies_too(fast_retries, samples):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    receiver = Receiver([])
    huey.immediate = False
    try:
        created = variant_jobs.create_variant_batch([video], [], [], 1, {}, webhook_url=receiver.url)
        assert webhooks.get_webhook(created["batch_id"]).status == "pending"
        huey.immediate = True
        variant_jobs.cancel_batch(created["batch_id"])
        assert receiver.bodies[-1][1]["status"] == "canceled" and receiver.bodies[-1][1]["canceled"] == 1
    finally:
        huey.immediate = False
        huey.flush()
        receiver.close()


def test_bad_url_creates_nothing(video):
    with pytest.raises(UserFacingError, match="webhook_url must be an http"):
        variant_jobs.create_variant_batch([video], [], [], 1, {}, webhook_url="ftp://x")
