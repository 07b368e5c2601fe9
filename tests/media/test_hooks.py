"""Hooks: bulk add keeps order, categories, .txt/.csv import, every sample hook stored verbatim."""

from __future__ import annotations

import pytest

from media import hooks


def test_bulk_add_keeps_order_and_skips_blank_lines(fresh_data_dir):
    added = hooks.add_hooks("first\n\n  second  \nthird\n", "tips")
    assert [h.text for h in added] == ["first", "second", "third"]
    assert [h.text for h in hooks.list_hooks("tips")] == ["first", "second", "third"]
    assert hooks.list_categories() == ["tips"]


def test_sample_hooks_file_round_trips_every_line(fresh_data_dir, samples):
    lines = (samples / "hooks.txt").read_text(encoding="utf-8").splitlines()
    pairs = hooks.parse_hook_file(samples / "hooks.txt")
    hooks.add_hook_pairs(pairs)
    assert [h.text for h in hooks.list_hooks()] == lines


def test_csv_with_header_and_categories(fresh_data_dir, tmp_path):
    path = tmp_path / "hooks.csv"
    path.write_text('text,category\n"Wait, what?",curiosity\nPlain hook\n', encoding="utf-8")
    assert hooks.parse_hook_file(path) == [("Wait, what?", "curiosity"), ("Plain hook", "")]


@pytest.mark.parametrize("name, content", [("hooks.pdf", b"%PDF-1.4"), ("hooks.txt", b"\xff\xfe\x00bad")])
def test_bad_hook_files_are_refused_by_name(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(hooks.HookError, match=name):
        hooks.parse_hook_file(path)


def test_filter_edit_and_delete(fresh_data_dir):
    a, b = hooks.add_hooks("alpha\nbeta", "x")
    hooks.update_hook(b.id, text="beta 2", category="y")
    assert [h.text for h in hooks.list_hooks("y")] == ["beta 2"]
    assert hooks.delete_hooks([a.id]) == 1
    assert [h.text for h in hooks.list_hooks()] == ["beta 2"]
    with pytest.raises(hooks.HookError):
        hooks.update_hook(b.id, text="   ")
