"""``GET /metrics``: the studio's Prometheus metrics (``jobs.metrics``) on the UI's server.

Added to Gradio's FastAPI app as a route of its own (``launch(app_kwargs={"routes": [...]})``), ahead of
Gradio's routes. Gradio's login does not cover it, so with ``--auth user:password`` it asks for the same
pair as HTTP Basic credentials (Prometheus: ``basic_auth`` in the scrape config) and answers 401 otherwise.
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from studio.mcp_auth import basic_header

METRICS_PATH = "/metrics"


def metrics_route(auth: tuple[str, str] | None = None) -> Route:
    """The ``/metrics`` route; with ``auth`` it needs those credentials as HTTP Basic auth."""
    expected = basic_header(*auth) if auth is not None else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return PlainTextResponse("the studio's metrics need its user:password (HTTP Basic)", 401,
                                         headers={"WWW-Authenticate": 'Basic realm="NOVAI Studio metrics"'})
        from jobs.metrics import render_metrics

        body = await run_in_threadpool(render_metrics)  # catalog queries off the event loop
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route(METRICS_PATH, metrics, methods=["GET"])
