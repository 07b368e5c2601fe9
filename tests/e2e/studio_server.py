"""Start the whole studio (Gradio app + in-process Huey consumer) on a free loopback port for tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from studio.common import launch_blocks

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class RunningStudio:
    url: str
    data_dir: Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (run .ci/install-browser.sh)"
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (run .ci/install-browser.sh: apt-get install chromium)"
    return None


@contextmanager
def running_studio(data_dir: Path) -> Iterator[RunningStudio]:
    """Build the app with ``launch.py``'s options and serve it with a one-worker consumer."""
    import os

    import launch
    from jobs.consumer import start_consumer, stop_consumer
    from media.db import reset_engine
    from media.settings import get_settings, reset_settings
    from studio.app import build_app

    saved = os.environ.get("NOVAI_DATA_DIR")
    os.environ["NOVAI_DATA_DIR"] = str(data_dir)
    reset_settings()
    reset_engine()
    settings = get_settings()
    consumer = start_consumer(workers=1, periodic=False)
    port = free_port()
    args = launch.parse_args(["--port", str(port)])
    demo = build_app()
    try:
        launch_blocks(demo.queue(default_concurrency_limit=8),
            **launch.launch_options(args, None, str(settings.media_dir), settings.max_upload_mb),
            prevent_thread_lock=True, quiet=True)
        yield RunningStudio(f"http://127.0.0.1:{port}/", settings.data_dir)
    finally:
        demo.close()
        stop_consumer(consumer, graceful=False)
        if saved is None:
            os.environ.pop("NOVAI_DATA_DIR", None)
        else:
            os.environ["NOVAI_DATA_DIR"] = saved
        reset_engine()
        reset_settings()
