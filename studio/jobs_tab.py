"""Jobs tab (placeholder until its issue lands: it only says so)."""

from __future__ import annotations

import gradio as gr

TITLE = "Jobs"


def build() -> None:
    """Lay out the tab."""
    gr.Markdown("This tab is not built yet.")
