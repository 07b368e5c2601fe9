"""Where a newcomer starts: the Library tab first, then Variants, as README's "First steps" says."""

from __future__ import annotations

from pathlib import Path

from studio.app import TABS

ROOT = Path(__file__).resolve().parents[2]


def test_the_library_is_the_first_tab_and_variants_the_second():
    assert [tab.TITLE for tab in TABS[:2]] == ["Library", "Variants"]
    assert len({tab.TITLE for tab in TABS}) == len(TABS)


def test_readme_first_steps_go_library_then_variants():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## First steps" in readme
    steps = readme.split("## First steps", 1)[1].split("\n## ", 1)[0]
    assert 0 <= steps.index("Library") < steps.index("Variants")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    for fact in ("python -m venv", "libgl1", "libglib2.0-0", "GB"):
        assert fact in setup, fact
