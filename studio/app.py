"""Builds the NOVAI Studio Gradio app: one tab per tool, each from its own module."""

from __future__ import annotations

import gradio as gr

from studio import (
    characters_tab,
    credits_tab,
    dashboard_tab,
    jobs_tab,
    library_tab,
    lora_tab,
    page_open,
    settings_tab,
    swapper_tab,
    variants_tab,
)

# A newcomer starts in the Library (add media), then makes Variants (README "First steps").
TABS = [library_tab, variants_tab, swapper_tab, characters_tab, lora_tab, jobs_tab, dashboard_tab,
        credits_tab, settings_tab]

def build_app() -> gr.Blocks:
    """Lay out every tab and register the named API endpoints (see docs/API.md)."""
    with gr.Blocks(title="NOVAI Studio") as demo:
        gr.Markdown("# NOVAI Studio")
        with gr.Tabs(), page_open.merged(demo) as fills:  # the tabs' page-open fills: 2 load events, not 22
            for tab in TABS:
                fills.tab = tab.TITLE
                with gr.Tab(tab.TITLE, id=tab.__name__.rsplit(".", 1)[-1]):
                    tab.build()
    return demo
