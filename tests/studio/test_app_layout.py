"""Where a newcomer starts: the Library tab first, then Variants, as README's "First steps" says; both on
the home page, every other tool a page of its own (issue 15)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio import library_tab, variants_tab
from studio.app import HOME_TABS, PAGES, TABS, build_app, page_path

ROOT = Path(__file__).resolve().parents[2]


def test_the_library_is_the_first_tab_and_variants_the_second():
    assert [tab.TITLE for tab in TABS[:2]] == ["Library", "Variants"]
    assert len({tab.TITLE for tab in TABS}) == len(TABS)


def test_library_and_variants_are_the_home_page_and_every_other_tool_a_page(fresh_data_dir):
    assert HOME_TABS == [library_tab, variants_tab] and [page_path(tab) for tab in HOME_TABS] == ["", ""]
    demo = build_app()
    assert [(path, name) for path, name, _ in demo.pages[1:]] == [(path, tab.TITLE) for tab, path in PAGES]
    navbars = [b for b in demo.blocks.values() if isinstance(b, gr.Navbar)]  # one per page, Gradio's rule
    assert sorted(b.page for b in navbars) == sorted(path for path, _, _ in demo.pages)
    assert {b.main_page_name for b in navbars} == {"Library & Variants"}
    home = [b for b in demo.blocks.values() if b.page == ""]
    assert [b.label for b in home if isinstance(b, gr.Tab) and b.parent.parent is demo] == ["Library", "Variants"]
    # The home page is sent without the other tools' components: that is what makes it open fast.
    assert len(home) < len(demo.blocks) / 2


def test_no_event_spans_two_pages(fresh_data_dir):
    """A page gets only its own components and events: an event that read or wrote another page's
    component (a button selecting another tool, a picker refreshed from another page) would do nothing."""
    demo = build_app()
    for fn in demo.fns.values():
        blocks = [*fn.inputs, *fn.outputs, *(demo.blocks[t] for t, _ in fn.targets if t in demo.blocks)]
        assert {b.page for b in blocks} <= {fn.page}, fn.name


def test_readme_first_steps_go_library_then_variants():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## First steps" in readme
    steps = readme.split("## First steps", 1)[1].split("\n## ", 1)[0]
    assert 0 <= steps.index("Library") < steps.index("Variants")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    for fact in ("python -m venv", "libgl1", "libglib2.0-0", "GB"):
        assert fact in setup, fact
