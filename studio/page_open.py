"""What the tabs fill when a page opens, sent to the browser by two load events, not 22 (issue 15).

Every page open runs the tabs' fills (pickers, tables, status lines) so that nothing shown is stale:
media uploaded or imported since the last open is listed. Gradio sends one request per load event,
and its front end, on every status message of every event, updates the loading status of every
component that any event has touched so far. With 22 separate load events a page with a 10,000-hook
library spent ~6 s of browser main-thread time on that before the Variants pickers showed their
choices (``bench/library_scale.py --browser``). Merged, the choices come with the page's first reply.

Inside :func:`merged` (``studio.app.build_app``, once per page: a page sends and fills only its own
tools) the fills become two load events: first the pickers' (fills that only set dropdowns: small, and
what a creator picks from), then the rest (galleries and tables, whose paint costs the browser most), so
the choices are not held back by the Library's 200 thumbnails. A tab built on its own
(``with gr.Blocks(): lora_tab.build()``, as tests do) gets a load event per fill.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import gradio as gr

from media.errors import StudioError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fill:
    """One tab's fill: ``fn(*inputs' values)`` returns the outputs' values (one value for one output,
    a tuple or list of ``len(outputs)`` values otherwise; a value may be ``gr.update(...)``)."""

    fn: Callable[..., Any]
    inputs: tuple[Any, ...]
    outputs: tuple[Any, ...]
    tab: str  # title of the tab whose build() registered it ("" outside build_app)


def _unique(components: Sequence[Any]) -> list[Any]:
    return list({id(c): c for c in components}.values())


class PageOpenFills:
    """The function of a merged load event: runs every fill in the order they were registered.

    It takes the values of :attr:`inputs` (every fill's inputs, each component once) and returns one value
    per component of :attr:`outputs` (each once; when two fills write the same component the later one
    wins). A fill that raises leaves its outputs as they are (``gr.skip()``), is logged, and shows a
    warning naming its tab, so the other tabs are still filled.
    """

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.tab = ""  # the tab being built; set by build_app around each tab's build()

    def add(self, fn: Callable[..., Any], inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        self.fills.append(Fill(fn, tuple(inputs), tuple(outputs), self.tab))

    @property
    def inputs(self) -> list[Any]:
        return _unique([c for fill in self.fills for c in fill.inputs])

    @property
    def outputs(self) -> list[Any]:
        return _unique([c for fill in self.fills for c in fill.outputs])

    def parts(self) -> list[PageOpenFills]:
        """The pickers' fills (every output a dropdown), then the others; empty parts left out."""
        pickers, others = PageOpenFills(), PageOpenFills()
        for fill in self.fills:
            picker = bool(fill.outputs) and all(isinstance(c, gr.Dropdown) for c in fill.outputs)
            (pickers if picker else others).fills.append(fill)
        return [part for part in (pickers, others) if part.fills]

    def run_fill(self, fill: Fill, values: dict[int, Any]) -> list[Any]:
        """The outputs' values of one fill, given the input values by component ``id()``."""
        result = fill.fn(*[values[id(c)] for c in fill.inputs])
        return [result] if len(fill.outputs) == 1 else list(result)

    def __call__(self, *input_values: Any) -> list[Any]:
        values = {id(c): v for c, v in zip(self.inputs, input_values)}
        out: dict[int, Any] = {id(c): gr.skip() for c in self.outputs}
        for fill in self.fills:
            try:
                results = self.run_fill(fill, values)
            except (gr.Error, StudioError) as exc:
                log.warning("page open: filling the %s tab failed: %s", fill.tab or "?", exc)
                gr.Warning(f"{fill.tab or 'a tab'}: {getattr(exc, 'message', None) or exc}")
                continue
            except Exception as exc:  # the UI boundary: one broken fill must not blank every tab
                log.exception("page open: filling the %s tab failed", fill.tab or "?")
                gr.Warning(f"{fill.tab or 'a tab'}: internal error ({exc.__class__.__name__}); see the studio's log")
                continue
            for component, value in zip(fill.outputs, results):
                out[id(component)] = value
        return [out[id(c)] for c in self.outputs]


_active: ContextVar[PageOpenFills | None] = ContextVar("page_open_fills", default=None)


def on_page_open(fn: Callable[..., Any], inputs: Sequence[Any] | Any = None,
                 outputs: Sequence[Any] | Any = None) -> None:
    """Run ``fn`` with ``inputs``' values each time a page opens and show its result in ``outputs``.

    Inside :func:`merged` it joins the page's one load event; elsewhere it is a load event of the Blocks
    being built (none when no Blocks is being built).
    """
    inputs = [] if inputs is None else list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    outputs = [] if outputs is None else list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    fills = _active.get()
    if fills is not None:
        fills.add(fn, inputs, outputs)
        return
    root = gr.context.Context.root_block
    if root is not None:
        root.load(fn, inputs, outputs, api_visibility="private")


@contextmanager
def merged(demo: gr.Blocks) -> Iterator[PageOpenFills]:
    """Collect the :func:`on_page_open` fills of the tabs built inside, then wire them on ``demo`` as two
    load events (:meth:`PageOpenFills.parts`, pickers first): read-only and column-only, so they have no
    concurrency limit (page opens of several creators do not wait for each other) and show no progress
    animation over every tab."""
    fills = PageOpenFills()
    token = _active.set(fills)
    try:
        yield fills
    finally:
        _active.reset(token)
    for part in fills.parts():
        demo.load(part, part.inputs, part.outputs, api_visibility="private", show_progress="hidden",
                  concurrency_limit=None)
