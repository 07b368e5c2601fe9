"""Builds the NOVAI Studio Gradio app: one tab or page per tool, each from its own module.

The home page ("/") holds the Library and Variants tabs, where a newcomer starts (README "First steps");
every other tool is a page of its own (``demo.route``), listed in the navigation bar. Gradio sends a page
only its own components and events, so opening the home page does not fetch, parse and mount the other
tools' ~500 components (issue 15: with 10,000 hooks the Variants pickers showed their choices ~1 s later
with every tool in one page). Each page gets its own merged page-open events (``studio.page_open``).
"""

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

HOME_NAME = "Library & Variants"  # the home page's name in the navigation bar
# A newcomer starts in the Library (add media), then makes Variants (README "First steps"): the home page.
HOME_TABS = [library_tab, variants_tab]
# The other tools, one page each, in the navigation bar's order: (module, URL path).
PAGES = [(swapper_tab, "swapper"), (characters_tab, "characters"), (lora_tab, "lora"), (jobs_tab, "jobs"),
         (dashboard_tab, "dashboard"), (credits_tab, "credits"), (settings_tab, "settings")]
TABS = [*HOME_TABS, *(tab for tab, _ in PAGES)]


def page_path(tab) -> str:
    """The URL path of a tool ("" for the home page's tabs), relative to the app's root."""
    return next((path for t, path in PAGES if t is tab), "")


def _header() -> None:
    """What every page shows first: the navigation bar (one per page, Gradio's rule) and the title."""
    gr.Navbar(main_page_name=HOME_NAME)
    gr.Markdown("# NOVAI Studio")


def build_app() -> gr.Blocks:
    """Lay out every page and tab and register the named API endpoints (see docs/API.md)."""
    # No telemetry: Gradio's analytics (to huggingface.co, with huggingface_hub's agent registry) and its
    # version check (api.gradio.app) run at launch unless turned off here; the studio works offline.
    with gr.Blocks(title="NOVAI Studio", analytics_enabled=False) as demo:
        _header()
        with gr.Tabs(), page_open.merged(demo) as fills:  # the tabs' page-open fills: 2 load events, not 9
            for tab in HOME_TABS:
                fills.tab = tab.TITLE
                with gr.Tab(tab.TITLE, id=tab.__name__.rsplit(".", 1)[-1]):
                    tab.build()
    for tab, path in PAGES:
        with demo.route(tab.TITLE, f"/{path}"), page_open.merged(demo) as fills:
            fills.tab = tab.TITLE
            _header()
            with gr.Column(elem_id=f"page-{path}"):
                tab.build()
    return demo
