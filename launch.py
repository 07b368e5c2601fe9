"""Start NOVAI Studio: the Huey consumer (in-process thread workers) and the Gradio app.

    python launch.py [--host 127.0.0.1] [--port 7860] [--share] [--no-worker] [--auth user:password]
                     [--no-auth] [--mcp]

--share (a public Gradio link) and any host other than a loopback address refuse to start without a
password: NOVAI_AUTH=user:password or --auth user:password. --no-auth (or NOVAI_NO_AUTH=1) starts
anyway with a warning, for a trusted network. Files are served from the media folder only.
--mcp (or NOVAI_MCP=1) also serves the named API as MCP tools (Gradio's MCP server, streamable HTTP at
/gradio_api/mcp/); with a password the MCP endpoint asks for the same user:password as HTTP Basic auth.
/metrics serves Prometheus metrics (jobs by state and type, queue depth, worker heartbeats, render
seconds, spend today), behind the same password as HTTP Basic auth when there is one.
--no-worker serves the UI alone (a render farm: workers run ``python -m jobs.worker``; docs/FARM.md).

All state lives under NOVAI_DATA_DIR (default ./novai-data). See README.md for every setting.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description="NOVAI Studio")
    # A Hugging Face Space (SPACE_ID set) must listen on every interface; its Gradio image also sets
    # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, which are honoured like Gradio itself does.
    space_host = "0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1"
    parser.add_argument("--host",
                        default=os.environ.get("NOVAI_HOST") or os.environ.get("GRADIO_SERVER_NAME")
                        or space_host,
                        help="interface to listen on (default 127.0.0.1; 0.0.0.0 needs --auth)")
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("NOVAI_PORT") or os.environ.get("GRADIO_SERVER_PORT")
                                    or "7860"))
    parser.add_argument("--share", action="store_true", help="public Gradio link (needs --auth)")
    parser.add_argument("--no-worker", action="store_true",
                        help="serve the UI only: no in-process queue consumer (render machines run "
                             "python -m jobs.worker)")
    parser.add_argument("--auth", default=os.environ.get("NOVAI_AUTH", ""),
                        help="user:password required to open the studio (also NOVAI_AUTH)")
    parser.add_argument("--no-auth", action="store_true",
                        default=os.environ.get("NOVAI_NO_AUTH", "").lower() in ("1", "true", "yes"),
                        help="allow --share/--host 0.0.0.0 without a password (trusted networks only;"
                             " also NOVAI_NO_AUTH=1)")
    parser.add_argument("--mcp", action="store_true",
                        default=os.environ.get("NOVAI_MCP", "").lower() in ("1", "true", "yes"),
                        help="also serve the named API as MCP tools at /gradio_api/mcp/ (also NOVAI_MCP=1)")
    return parser.parse_args(argv)


def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # a host name or 0.0.0.0-style wildcard other than an IP: assume reachable
        return False


def resolve_auth(args: argparse.Namespace) -> tuple[str, str] | None:
    """The (user, password) pair to pass to Gradio, or None.

    Raises SystemExit with a message when the studio would be reachable by others without a password
    (``--share``, or a host other than a loopback address) and neither --auth/NOVAI_AUTH nor
    --no-auth/NOVAI_NO_AUTH was given; prints a warning when --no-auth lets it through.
    """
    exposed = args.share or not is_loopback(args.host)
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise SystemExit("--auth / NOVAI_AUTH must look like user:password")
        return user, password
    if exposed and not args.no_auth:
        raise SystemExit(
            f"Refusing to start: {'--share' if args.share else '--host ' + args.host} makes the studio "
            "reachable by others. Set NOVAI_AUTH=user:password (or --auth user:password), or pass "
            "--no-auth (NOVAI_NO_AUTH=1) on a trusted network."
        )
    if exposed:
        print("WARNING: the studio is reachable by others with no password (--no-auth).", file=sys.stderr)
    return None


def launch_options(args: argparse.Namespace, auth: tuple[str, str] | None, media_dir: str,
                   max_upload_mb: int) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: files are served from the media folder only; ``/metrics``
    (Prometheus) is served, behind the password when there is one; with ``--mcp`` the MCP server is on,
    behind the same password."""
    options: dict[str, Any] = {
        "server_name": args.host,
        "server_port": args.port,
        "share": args.share,
        "auth": auth,
        "allowed_paths": [media_dir],
        "max_file_size": f"{max_upload_mb}mb",
    }
    from studio.metrics_route import metrics_route

    options["app_kwargs"] = {"routes": [metrics_route(auth)]}  # GET /metrics (Prometheus), same password
    if getattr(args, "mcp", False):
        options["mcp_server"] = True
        if auth is not None:
            from starlette.middleware import Middleware

            from studio.mcp_auth import McpBasicAuth

            options["app_kwargs"]["middleware"] = [Middleware(McpBasicAuth, auth=auth)]
    return options


def warn_about_data_folder() -> list[str]:
    """Print a WARNING for each problem of the data folder (not writable, read-only catalog, little free
    space; ``media.startup.data_folder_problems``) and return them."""
    from media.startup import data_folder_problems

    problems = data_folder_problems()
    for problem in problems:
        print(f"WARNING: {problem}", file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> None:
    """Parse options, recover interrupted jobs, start the consumer and serve the app until Ctrl-C."""
    args = parse_args(argv)
    auth = resolve_auth(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # its set-up chatter at start

    from jobs.recovery import recover_interrupted_jobs
    from media.errors import StudioError
    from media.settings import get_settings
    from studio.app import build_app

    settings = get_settings()
    print(f"NOVAI Studio data folder: {settings.data_dir}")
    warn_about_data_folder()
    try:
        recovered = recover_interrupted_jobs()
    except StudioError as exc:  # e.g. a catalog that cannot be opened: said, and the studio still starts
        print(f"WARNING: interrupted jobs were not recovered: {exc}", file=sys.stderr)
        recovered = 0
    if recovered:
        print(f"Recovered {recovered} job(s) interrupted by the last shutdown.")

    consumer = None
    if not args.no_worker:
        from jobs.consumer import start_consumer

        consumer = start_consumer(workers=settings.workers)

    from studio.common import launch_blocks

    demo = build_app()
    try:
        launch_blocks(demo.queue(default_concurrency_limit=8),
                      **launch_options(args, auth, str(settings.media_dir), settings.max_upload_mb))
    finally:
        if consumer is not None:
            from jobs.consumer import stop_consumer

            stop_consumer(consumer, graceful=False)


if __name__ == "__main__":
    main()
