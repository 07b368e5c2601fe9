""""Test connection": the real fal and Gemini clients against loopback fakes of their contracts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from jobs import provider_check

FAL_KEY = "fal-test-key-0123456789"
GEMINI_KEY = "gemini-test-key-0123456789"


class FakeProvider(BaseHTTPRequestHandler):
    """Speaks the fal storage-token and Gemini list-models contracts; ``mode`` picks an error."""

    mode = "ok"
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def log_message(self, *args) -> None:  # keep test output quiet
        return None

    def _send(self, status: int, body: object) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _common_errors(self) -> bool:
        if self.mode == "slow":
            time.sleep(6)
        if self.mode == "500":
            self._send(500, {"detail": "internal error"})
        elif self.mode == "429":
            self._send(429, {"detail": "rate limited", "error": {"code": 429, "message": "quota",
                                                                  "status": "RESOURCE_EXHAUSTED"}})
        elif self.mode == "402":
            self._send(402, {"detail": "Exhausted balance"})
        elif self.mode == "malformed":
            self._send(200, b"<html>proxy error</html>")
        else:
            return False
        return True

    def do_POST(self) -> None:  # fal: POST /storage/auth/token?storage_type=fal-cdn-v3
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append(("POST", self.path, dict(self.headers)))
        if self._common_errors():
            return
        if self.path != "/storage/auth/token?storage_type=fal-cdn-v3":
            self._send(404, {"detail": "Not found"})
        elif self.headers.get("Authorization") != f"Key {FAL_KEY}":
            self._send(401, {"detail": "No user found for Key ID and Secret"})
        elif self.mode == "fields":
            self._send(200, {"token": "t"})
        else:
            self._send(200, {"token": "cdn-token", "token_type": "Bearer",
                             "base_url": "http://127.0.0.1/cdn", "expires_at": "2030-01-01T00:00:00+00:00"})

    def do_GET(self) -> None:  # Gemini: GET /{version}/models?pageSize=N
        self.seen.append(("GET", self.path, dict(self.headers)))
        if self._common_errors():
            return
        if not self.path.split("?")[0].endswith("/models"):
            self._send(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})
        elif self.headers.get("x-goog-api-key") != GEMINI_KEY:
            self._send(400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                       "status": "INVALID_ARGUMENT"}})
        else:
            self._send(200, {"models": [{"name": "models/gemini-3.1-flash-image", "displayName": "Nano"},
                                        {"name": "models/gemini-3-pro-image"},
                                        {"name": "models/gemini-3-flash"}]})


@pytest.fixture
def fake() -> Iterator[tuple[str, type[FakeProvider]]]:
    handler = type("Handler", (FakeProvider,), {"mode": "ok", "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_fal_accepts_good_key(fake):
    url, handler = fake
    result = provider_check.check_fal(FAL_KEY, url)
    assert result.ok, result.message
    assert "key accepted" in result.message and "2030-01-01" in result.message
    method, path, headers = handler.seen[0]
    assert (method, path) == ("POST", "/storage/auth/token?storage_type=fal-cdn-v3")
    assert headers["Authorization"] == f"Key {FAL_KEY}"
    from fal_client import client as fal_module

    assert fal_module.REST_URL == "https://rest.fal.ai"  # the host is restored afterwards


@pytest.mark.parametrize("mode, key, expected", [
    ("ok", "wrong-key-000000000000", "fal rejected the key (HTTP 401: No user found"),
    ("402", FAL_KEY, "payment is required"),
    ("429", FAL_KEY, "rate-limiting"),
    ("500", FAL_KEY, "server error"),
    ("malformed", FAL_KEY, "unexpected answer from fal"),
    ("fields", FAL_KEY, "unexpected answer from fal"),
])
def test_fal_problems_are_explained(fake, mode, key, expected):
    url, handler = fake
    handler.mode = mode
    result = provider_check.check_fal(key, url)
    assert not result.ok
    assert expected in result.message
    assert key not in result.message


def test_fal_timeout(fake):
    url, handler = fake
    handler.mode = "slow"
    result = provider_check.check_fal(FAL_KEY, url)
    assert not result.ok and result.message == "no answer from fal within 5 s"
    assert result.seconds < 6


def test_fal_unreachable_host():
    result = provider_check.check_fal(FAL_KEY, "http://127.0.0.1:9")
    assert not result.ok and result.message.startswith("cannot reach fal")


def test_no_key_is_said_plainly(fresh_data_dir):
    assert provider_check.check_provider("fal").message.startswith("no fal key set")
    assert provider_check.check_provider("gemini").message.startswith("no Gemini key set")
    with pytest.raises(ValueError, match="unknown provider"):
        provider_check.check_provider("openai")


def test_gemini_lists_models(fake):
    url, handler = fake
    result = provider_check.check_gemini(GEMINI_KEY, url)
    assert result.ok, result.message
    assert "3 models listed" in result.message and "gemini-3.1-flash-image" in result.message
    method, path, headers = handler.seen[0]
    assert method == "GET" and path.split("?")[0].endswith("/models")
    assert headers["x-goog-api-key"] == GEMINI_KEY


@pytest.mark.parametrize("mode, key, expected", [
    ("ok", "bad-gemini-key-00000000", "Gemini rejected the key (HTTP 400: API key not valid"),
    ("429", GEMINI_KEY, "rate-limiting"),
    ("500", GEMINI_KEY, "server error"),
    ("malformed", GEMINI_KEY, "unexpected answer from Gemini"),
])
def test_gemini_problems_are_explained(fake, mode, key, expected):
    url, handler = fake
    handler.mode = mode
    result = provider_check.check_gemini(key, url)
    assert not result.ok
    assert expected in result.message
    assert key not in result.message


def test_gemini_timeout(fake):
    url, handler = fake
    handler.mode = "slow"
    result = provider_check.check_gemini(GEMINI_KEY, url, timeout_s=0.5)
    assert not result.ok and result.message == "no answer from Gemini within 0.5 s"


def test_configured_key_and_base_url_are_used(fake, fresh_data_dir, monkeypatch):
    url, _handler = fake
    from media import keys
    from media.settings import reset_settings

    keys.save_key("gemini", GEMINI_KEY)
    monkeypatch.setenv("NOVAI_GEMINI_BASE_URL", url)
    reset_settings()
    assert provider_check.check_provider("gemini").ok


def test_gemini_unreachable_host():
    result = provider_check.check_gemini(GEMINI_KEY, "http://127.0.0.1:9", timeout_s=2)
    assert not result.ok and result.message.startswith("cannot reach Gemini")
