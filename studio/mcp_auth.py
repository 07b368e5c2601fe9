"""Password protection of the MCP endpoint (``launch.py --mcp``).

Gradio mounts its MCP server (``/gradio_api/mcp/``) as a separate Starlette app that its login does not
cover, so with ``--auth user:password`` this ASGI middleware asks every MCP request for the same pair as
HTTP Basic credentials (``Authorization: Basic base64(user:password)``) and answers 401 otherwise.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

MCP_PATH = "/gradio_api/mcp"


def basic_header(user: str, password: str) -> str:
    """The ``Authorization`` header value an MCP client sends for ``user:password``."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class McpBasicAuth:
    """ASGI middleware: requests under :data:`MCP_PATH` need ``auth`` as HTTP Basic credentials."""

    def __init__(self, app: Any, auth: tuple[str, str]) -> None:
        self.app = app
        self.expected = basic_header(*auth).encode("ascii")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(MCP_PATH):
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain"),
                                        (b"www-authenticate", b'Basic realm="NOVAI Studio MCP"')]})
                await send({"type": "http.response.body",
                            "body": b"the studio's MCP server needs its user:password (HTTP Basic)"})
                return
        await self.app(scope, receive, send)
