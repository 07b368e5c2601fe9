"""Library pickers and tables at scale (issue 15): paged, searchable, column-only queries."""

from __future__ import annotations

import time

from media import library
from media.collections import resolve_collection
from media.db import session_scope
from media.models import Hook, Video


def test_pages_search_and_selection(fresh_data_dir):
    coll = resolve_collection("Summer", "video")
    with session_scope() as session:
        session.add_all([Video(name=f"clip {i:04d}.mp4", file=f"videos/{i}.mp4", duration_s=3.0, width=1080,
                               height=1920, collection_id=coll.id if i % 2 else None) for i in range(250)])
        session.add(Video(name="clip variant.mp4", file="variants/v.mp4", type="variant", batch_id="b1"))
        session.add_all([Hook(text=f"Hook {i}: 100% real_deal" if i == 7 else f"Hook {i}",
                              category="tips" if i % 3 == 0 else "") for i in range(3000)])
    rows, total = library.choice_page("video")
    assert (len(rows), total) == (library.PAGE_SIZE, 250)  # the batch variant is left out
    assert rows[0].name == "clip 0249.mp4" and (rows[0].width, rows[0].height) == (1080, 1920)
    rows, total = library.choice_page("video", "CLIP 001")
    assert total == 10 and {r.name for r in rows} == {f"clip {i:04d}.mp4" for i in range(10, 20)}
    assert library.choice_page("video", collection="Summer")[1] == 125
    rest, _ = library.choice_page("video", offset=200)
    assert len(rest) == 50
    picked = [rows[0].id, rest[-1].id]
    assert {r.id for r in library.choice_page("video", ids=picked)[0]} == set(picked)

    hooks, total = library.hook_page()
    assert (len(hooks), total) == (library.PAGE_SIZE, 3000) and hooks[0][1] == "Hook 0"
    assert library.hook_page(category="tips")[1] == 1000
    found, total = library.hook_page("100%")  # % is a literal, not a wildcard
    assert total == 1 and found[0][1] == "Hook 7: 100% real_deal"
    assert library.hook_page("k_1")[1] == 0  # _ is literal too (as a wildcard it matches "Hook 1...")
    t0 = time.perf_counter()
    library.hook_page("hook 29")
    library.choice_page("video", "clip")
    assert time.perf_counter() - t0 < 1.0  # milliseconds on an idle machine; loose for CI
