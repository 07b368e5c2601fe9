"""Benchmark of the library at scale (issue 15): 10,000 hooks, 2,000 videos, 200 audio tracks.

Run by hand:  PYTHONPATH=. python bench/library_scale.py [--hooks 10000 --videos 2000 --repeats 5] [--browser]

Builds the catalog (rows with small real files: every video row points at a 1 KiB file, so the
Dashboard's storage figures have something to add up, and at a small JPEG thumbnail as uploads do),
builds the app and times, on the server, every event that runs when the page opens (Gradio ``load`` events, each called as Gradio calls it:
the function with its inputs' defaults), p50 and p95 over ``--repeats`` page opens, and their sum;
then each tab's fills inside the one page-open event (``studio.page_open``) and each tab's first paint
(its fills plus the events that selecting it runs). With ``--browser`` (Playwright + /usr/bin/chromium)
it also serves the app and measures, in a real page, the seconds until the page is shown (its Variants
tab clicked) and until the Variants tab's video and hook pickers show their first choice (from
``goto``), the renderer main thread's busy seconds until then and the number of queued event requests: for
a first visit (a fresh browser context, nothing cached) and for a returning creator (one context that has
opened the page before, so the front end's script and style files come from the browser's HTTP cache).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_catalog(hooks: int, videos: int, audios: int) -> None:
    """Insert the rows in bulk (one transaction), 20 hook categories and 20 collections per kind."""
    from PIL import Image as PILImage

    from media import store
    from media.db import session_scope
    from media.models import AudioFile, Collection, Hook, Video

    folder = store.media_root() / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    (store.media_root() / "thumbnails").mkdir(parents=True, exist_ok=True)
    thumb = io.BytesIO()  # uploads always get a thumbnail (media.library): a small real JPEG per video
    PILImage.new("RGB", (54, 96), (90, 70, 200)).save(thumb, "JPEG")
    with session_scope() as session:
        vcolls = [Collection(name=f"Video collection {i}", type="video") for i in range(20)]
        acolls = [Collection(name=f"Audio collection {i}", type="audio") for i in range(20)]
        session.add_all([*vcolls, *acolls])
        session.flush()
        rows = []
        for i in range(videos):
            rel = f"videos/clip_{i:05d}.mp4"
            (store.media_root() / rel).write_bytes(b"\0" * 1024)
            thumb_rel = f"thumbnails/clip_{i:05d}.jpg"
            (store.media_root() / thumb_rel).write_bytes(thumb.getvalue())
            rows.append(Video(name=f"clip {i:05d} take {i % 7}.mp4", file=rel, size_bytes=1024, duration_s=12.0,
                              thumbnail=thumb_rel,
                              width=1080, height=1920, fps=30.0, collection_id=vcolls[i % 20].id))
        rows += [AudioFile(name=f"track {i:04d}.mp3", file=f"audio/track_{i:04d}.mp3", duration_s=30.0,
                           collection_id=acolls[i % 20].id) for i in range(audios)]
        rows += [Hook(text=f"Hook {i:05d}: you won't believe what happens at second {i % 60}",
                      category=f"category {i % 20}") for i in range(hooks)]
        session.add_all(rows)


def load_events(demo) -> list[tuple[str, object, list]]:
    """(name, function, input components) of every event triggered when the page opens."""
    events = []
    for block_fn in demo.fns.values():
        if any(trigger == "load" for _, trigger in block_fn.targets) and block_fn.fn is not None:
            name = getattr(block_fn.fn, "__qualname__", type(block_fn.fn).__name__)
            events.append((f"{len(events) + 1:02d} {name}", block_fn.fn, block_fn.inputs))
    return events


def page_open_fills(demo) -> list:
    """The tabs' fills inside the merged page-open load event (studio.page_open), in their order."""
    try:
        from studio.page_open import PageOpenFills
    except ImportError:  # a checkout from before the page-open event was merged (issue 15)
        return []
    return [fill for _, fn, _ in load_events(demo) if isinstance(fn, PageOpenFills) for fill in fn.fills]


def tab_open_events(demo) -> dict[str, list[tuple[object, list]]]:
    """Per top-level tab title: (function, inputs) of the events that run when the tab is selected."""
    import gradio as gr

    events: dict[str, list[tuple[object, list]]] = {}
    for block_fn in demo.fns.values():
        for target_id, trigger in block_fn.targets:
            block = demo.blocks.get(target_id)
            if trigger == "select" and isinstance(block, gr.Tab) and block_fn.fn is not None:
                events.setdefault(str(block.label), []).append((block_fn.fn, block_fn.inputs))
    return events


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _call(fn, inputs) -> float:
    args = [getattr(c, "value", None) for c in inputs]
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def server_timings(repeats: int) -> None:
    from studio.app import TABS, build_app

    t0 = time.perf_counter()
    demo = build_app()
    print(f"app built in {time.perf_counter() - t0:.2f} s")
    events = load_events(demo)
    fills = page_open_fills(demo)
    selected = tab_open_events(demo)
    per: dict[str, list[float]] = {}
    totals = []
    for _ in range(repeats):
        start = time.perf_counter()
        for name, fn, inputs in events:  # the page open as Gradio runs it: each load event once
            per.setdefault(name, []).append(_call(fn, inputs))
        totals.append(time.perf_counter() - start)
    print(f"{len(events)} page-open load events, {repeats} page opens (seconds, server side):")
    for name, times in sorted(per.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {name:<48} p50 {statistics.median(times):6.3f}  p95 {pct(times, 0.95):6.3f}")
    print(f"  {'all load events of one page open':<48} p50 {statistics.median(totals):6.3f}  p95 {pct(totals, 0.95):6.3f}")
    # First paint of each tab (server side): its fills in the page-open event plus what selecting it runs.
    per_fill: dict[str, list[float]] = {}
    per_tab: dict[str, list[float]] = {tab.TITLE: [] for tab in TABS}
    for _ in range(repeats):
        spent = dict.fromkeys(per_tab, 0.0)
        for i, fill in enumerate(fills):
            took = _call(fill.fn, fill.inputs)
            name = getattr(fill.fn, "__qualname__", str(fill.fn))
            per_fill.setdefault(f"{i + 1:02d} {fill.tab}: {name}", []).append(took)
            spent[fill.tab] = spent.get(fill.tab, 0.0) + took
        for title, tab_events in selected.items():
            spent[title] = spent.get(title, 0.0) + sum(_call(fn, inputs) for fn, inputs in tab_events)
        for title, took in spent.items():
            per_tab.setdefault(title, []).append(took)
    if fills:
        print(f"{len(fills)} fills inside the page-open events (seconds, server side):")
        for name, times in sorted(per_fill.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"  {name:<48} p50 {statistics.median(times):6.3f}  p95 {pct(times, 0.95):6.3f}")
    print("first paint per tab (its page-open fills + events of selecting it; seconds, server side):")
    for title, times in per_tab.items():
        print(f"  {title:<48} p50 {statistics.median(times):6.3f}  p95 {pct(times, 0.95):6.3f}")


def _main_thread_s(cdp) -> float:
    """Seconds the page's renderer main thread has been busy (Chrome's TaskDuration metric)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics.get("TaskDuration", 0.0))


def _open_variants(page, url: str, figures: dict[str, list[float]]) -> None:
    """Open the page, click the Variants tab, open its video then hook picker; append the seconds (from
    ``goto``) until the page is shown and until each picker shows its first choice."""
    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_role("tab", name="Variants").click()
    figures["page shown"].append(time.perf_counter() - t0)  # the app's page is up
    for label, what in (("…and/or single videos", "video choices"), ("…and/or single hooks", "hook choices")):
        page.get_by_label(label).click()
        page.get_by_role("option").first.wait_for(timeout=120_000)
        figures[what].append(time.perf_counter() - t0)
        page.keyboard.press("Escape")


def browser_timings(repeats: int) -> None:
    """Two kinds of page open, ``repeats`` each: a first visit (a fresh browser context: nothing cached, the
    front end's ~130 script and style files all fetched) and a returning creator's (one context that has
    opened the page once: those files come from the browser's HTTP cache or are revalidated)."""
    from playwright.sync_api import sync_playwright

    from studio.app import build_app

    demo = build_app()
    for attempt in range(3):  # Gradio refuses to start when its own check of the URL times out (busy machine)
        try:
            _, url, _ = demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
            break
        except ValueError:
            demo.close()
            if attempt == 2:
                raise
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            returning = browser.new_context()
            _open_variants(returning.new_page(), url, {"page shown": [], "video choices": [], "hook choices": []})
            for kind in ("first visit", "returning"):
                figures: dict[str, list[float]] = {"page shown": [], "video choices": [], "hook choices": []}
                busy: list[float] = []
                requests: list[int] = []
                for _ in range(repeats):
                    page = browser.new_page() if kind == "first visit" else returning.new_page()
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    joins: list[str] = []
                    page.on("request", lambda r, joins=joins: joins.append(r.url) if "/queue/join" in r.url else None)
                    _open_variants(page, url, figures)
                    busy.append(_main_thread_s(cdp))
                    requests.append(len(joins))
                    page.close()
                print(f"  browser, {kind} ({'fresh context, nothing cached' if kind == 'first visit' else 'HTTP cache of an earlier visit'}):")
                for what, times in figures.items():
                    print(f"  browser: {what:<15} visible after p50 {statistics.median(times):6.2f} s  "
                          f"p95 {pct(times, 0.95):6.2f} s")
                print(f"  browser: main thread busy until hook choices p50 {statistics.median(busy):6.2f} s  "
                      f"p95 {pct(busy, 0.95):6.2f} s (CPU time, less load-dependent than the wall-clock figures)")
                print(f"  browser: queued event requests until then p50 {statistics.median(requests):.0f}")
            returning.close()
            browser.close()
    finally:
        demo.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hooks", type=int, default=10_000)
    ap.add_argument("--videos", type=int, default=2_000)
    ap.add_argument("--audios", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--browser", action="store_true")
    ns = ap.parse_args()
    os.environ["NOVAI_DATA_DIR"] = tempfile.mkdtemp(prefix="novai-scale-")
    print(f"command: python bench/library_scale.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"load average {os.getloadavg()[0]:.2f} (2 CPUs shared)")
    t0 = time.perf_counter()
    build_catalog(ns.hooks, ns.videos, ns.audios)
    print(f"catalog: {ns.hooks} hooks, {ns.videos} videos, {ns.audios} audio tracks (built in "
          f"{time.perf_counter() - t0:.1f} s)")
    server_timings(ns.repeats)
    if ns.browser:
        browser_timings(max(1, ns.repeats // 2))


if __name__ == "__main__":
    main()
