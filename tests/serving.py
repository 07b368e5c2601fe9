"""Serve a Gradio app on a free loopback port for a test and hand back a gradio_client Client."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr
from gradio_client import Client

from studio.common import launch_blocks


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(demo: gr.Blocks) -> Iterator[Client]:
    """Launch ``demo`` (queue on, media folder allowed) and yield a client; closed afterwards."""
    from media.settings import get_settings

    port = free_port()
    launch_blocks(demo.queue(), server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                        allowed_paths=[str(get_settings().media_dir)], quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()
