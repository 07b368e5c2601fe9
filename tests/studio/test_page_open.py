"""Each page opens with at most two load events that fill its tabs, pickers first (issue 15), never stale."""

from __future__ import annotations

import gradio as gr
import pytest

from media import hooks
from studio import page_open
from studio.app import build_app
from studio.page_open import PageOpenFills, on_page_open


def _load_events(demo: gr.Blocks) -> list:
    return [fn for fn in demo.fns.values() if any(trigger == "load" for _, trigger in fn.targets)]


def _by_label(fills: PageOpenFills, label: str):
    (component,) = [c for c in fills.outputs if getattr(c, "label", None) == label]
    return component


def _open_page(fills: PageOpenFills) -> dict[int, object]:
    """What one page open sends: the merged event called as Gradio calls it (its inputs' defaults)."""
    values = fills(*[getattr(c, "value", None) for c in fills.inputs])
    return {id(c): v for c, v in zip(fills.outputs, values)}


def _page_loads(demo: gr.Blocks, page: str) -> list:
    return [fn for fn in _load_events(demo) if fn.page == page]


def test_the_home_page_opens_with_two_load_events_pickers_first(fresh_data_dir):
    demo = build_app()
    pickers, others = _page_loads(demo, "")  # 22 separate ones cost the browser seconds with a big library
    for event in (pickers, others):
        assert isinstance(event.fn, PageOpenFills)
        assert event.concurrency_limit is None and event.show_progress == "hidden"
        assert len(event.fn.outputs) == len({id(c) for c in event.fn.outputs}) == len(event.outputs)
    assert all(isinstance(c, gr.Dropdown) for c in pickers.outputs)
    assert {fill.tab for fill in pickers.fn.fills} == {"Variants"}
    assert {fill.tab for fill in others.fn.fills} == {"Library"}
    assert any(isinstance(c, (gr.Gallery, gr.Dataframe)) for c in others.outputs)
    assert {c.page for c in [*pickers.outputs, *others.outputs]} == {""}  # the other pages fill themselves


def test_every_other_page_fills_only_itself_when_it_opens(fresh_data_dir):
    """A tool's page fills its own components when it opens: at most two load events, pickers first."""
    demo = build_app()
    filled = {}
    for path, name, _ in demo.pages[1:]:
        events = _page_loads(demo, path)
        assert len(events) <= 2, name
        for event in events:
            assert isinstance(event.fn, PageOpenFills) and event.show_progress == "hidden"
            assert {fill.tab for fill in event.fn.fills} == {name}
            assert {c.page for c in event.outputs} == {path}
        if len(events) == 2:
            assert all(isinstance(c, gr.Dropdown) for c in events[0].outputs)
        filled[name] = len(events)
    assert all(filled[name] for name in ("Swapper", "LoRA Creator", "Dashboard", "Credits", "Settings"))


def test_each_page_open_lists_the_hooks_added_since(fresh_data_dir):
    fills = _page_loads(build_app(), "")[0].fn
    picker = _by_label(fills, "…and/or single hooks")
    hooks.add_hooks("first hook of the day", "tips")
    first = _open_page(fills)[id(picker)]
    assert [label for label, _ in first["choices"]] == ["first hook of the day  [tips]"]
    hooks.add_hooks("added in another tab", "tips")  # e.g. the Library tab, or the API
    again = _open_page(fills)[id(picker)]
    assert "added in another tab  [tips]" in [label for label, _ in again["choices"]]


def test_a_failing_fill_warns_and_the_other_tabs_are_still_filled():
    with gr.Blocks() as demo, page_open.merged(demo) as fills:
        broken, shared, other = gr.Textbox(), gr.Textbox(), gr.Textbox()
        fills.tab = "Broken"
        on_page_open(lambda: 1 / 0, None, broken)
        fills.tab = "Fine"
        on_page_open(lambda: "first", None, shared)
        on_page_open(lambda text: (f"later {text}", "other"), shared, [shared, other])
    (event,) = _load_events(demo)  # no dropdowns: no pickers' event
    assert event.fn.fills == fills.fills and [c._id for c in event.outputs] == [broken._id, shared._id, other._id]
    with pytest.warns(UserWarning, match=r"Broken: internal error \(ZeroDivisionError\)"):
        values = event.fn("typed")
    assert values[0] == gr.skip() and values[1:] == ["later typed", "other"]  # the later fill wins


def test_a_tab_built_on_its_own_gets_its_own_load_event():
    with gr.Blocks() as demo:
        box = gr.Textbox()
        on_page_open(str.upper, box, box)
    (event,) = _load_events(demo)
    assert event.fn is str.upper and event.outputs == [box]
