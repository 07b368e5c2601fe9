"""The Library tab's delete and undo handlers, called as Gradio calls them."""

from __future__ import annotations

from media import library
from studio import library_tab as tab


def test_delete_needs_confirmation_and_can_be_undone(fresh_data_dir, samples):
    item = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    message, last = tab._delete("audio", item, False)
    assert "confirm" in message and last is None and library.get_item("audio", item)
    message, last = tab._delete("audio", item, True)
    assert "Undo delete" in message and last == item and library.list_items("audio") == []
    message, last = tab._undo(last)
    assert "restored audio vctk_p240_00000.mp3" in message and last is None
    assert [row.id for row in library.list_items("audio")] == [item]
    assert "nothing to undo" in tab._undo(None)[0]
