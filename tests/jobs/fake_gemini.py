"""A loopback fake of the Gemini REST API (``generateContent``), for tests of the real google-genai client.

Speaks the contract in shared/design/contracts.md: ``POST /{v1|v1beta}/models/{model}:generateContent``,
``x-goog-api-key`` checked, ``inlineData`` parts in the request and the answer, and
``{"error": {"code", "message", "status"}}`` bodies for errors. Each request takes the next scripted
answer (the last one repeats); every request is recorded.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from PIL import Image

PATH = re.compile(r"^/(v1|v1beta)/models/([^/:]+):generateContent$")
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def png_bytes(size: tuple[int, int] = (96, 64), colour: tuple[int, int, int] = (200, 120, 60)) -> bytes:
    """A small real PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def image_answer(data: bytes | None = None, text: str = "Here is the sheet.") -> dict[str, Any]:
    """A 200 body holding a text part and an ``inlineData`` PNG part, finish reason STOP."""
    encoded = base64.b64encode(data if data is not None else png_bytes()).decode()
    return {"candidates": [{"content": {"role": "model", "parts": [
        {"text": text}, {"inlineData": {"mimeType": "image/png", "data": encoded}}]},
        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 300, "candidatesTokenCount": 1290}}


def text_answer(text: str) -> dict[str, Any]:
    """A 200 body with text only (the model declined to draw)."""
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP", "index": 0}]}


def safety_answer() -> dict[str, Any]:
    """A 200 body whose candidate stopped for SAFETY with no content."""
    return {"candidates": [{"finishReason": "SAFETY", "index": 0,
                            "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                                               "probability": "HIGH", "blocked": True}]}]}


def error_answer(code: int, message: str) -> tuple[int, dict[str, Any]]:
    """An error status and its Google error body."""
    return code, {"error": {"code": code, "message": message, "status": STATUS_NAMES.get(code, "UNKNOWN")}}


@dataclass
class Recorded:
    path: str
    version: str
    model: str
    api_key: str | None
    body: dict[str, Any]


@dataclass
class FakeGemini:
    """Scripted answers: each item is a body (200), ``(status, body)``, or ``("sleep", seconds)``."""

    api_key: str = "test-key"
    bad_key_status: int = 401
    script: list[Any] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def next_answer(self) -> Any:
        index = min(len(self.requests) - 1, len(self.script) - 1)
        return self.script[index]


def _handler(fake: FakeGemini) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test); nothing to answer

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            match = PATH.match(self.path)
            if not match:
                self._send(*error_answer(404, f"unknown path {self.path}"))
                return
            body = json.loads(raw or b"{}")
            fake.requests.append(Recorded(self.path, match.group(1), match.group(2),
                                          self.headers.get("x-goog-api-key"), body))
            if self.headers.get("x-goog-api-key") != fake.api_key:
                self._send(*error_answer(fake.bad_key_status, "API key not valid. Please pass a valid API key."))
                return
            answer = fake.next_answer()
            if isinstance(answer, tuple) and answer[0] == "sleep":
                fake.release.wait(answer[1])
                answer = image_answer()
            if isinstance(answer, tuple):
                self._send(answer[0], answer[1])
            else:
                self._send(200, answer)

    return Handler


class FakeGeminiServer:
    """Context manager: a ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) in a daemon thread."""

    def __init__(self, fake: FakeGemini) -> None:
        self.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
        self.server.daemon_threads = True
        self.server.block_on_close = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.release.set()
        self.server.shutdown()
        self.server.server_close()


def request_image_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``inlineData`` parts of a recorded request body."""
    parts = [p for content in body.get("contents", []) for p in content.get("parts", [])]
    return [p["inlineData"] for p in parts if "inlineData" in p]


def decode_b64(data: str) -> bytes:
    """Decode base64 the way Google's JSON mapping allows: standard or URL-safe alphabet, padding optional."""
    return base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_")
