"""The studio reaches no host but its own: building and launching the app looks up no outside name
(Gradio's analytics and version check, huggingface_hub's telemetry are off)."""

from __future__ import annotations

import socket
import time

from studio.app import build_app
from studio.common import launch_blocks
from tests.serving import free_port

LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", None}


def test_launching_the_studio_contacts_no_outside_host(fresh_data_dir, monkeypatch):
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in LOOPBACK and not str(host).startswith("127."):
            looked_up.append(host)
            raise OSError(f"no network in this test: {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)  # Gradio's default: on
    demo = build_app()
    assert demo.analytics_enabled is False
    launch_blocks(demo.queue(), server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True)
    try:
        time.sleep(3.0)  # the analytics and version-check threads start at launch and look up within ~1 s
    finally:
        demo.close()
    assert looked_up == []
