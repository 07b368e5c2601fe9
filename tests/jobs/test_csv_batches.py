"""Batches from a spreadsheet (issue 14): a CSV over the sample media renders; bad CSVs are refused."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from jobs import variants as variant_jobs
from jobs.queue import huey
from media import batches, csv_batches, hooks, library, store
from media.errors import LimitExceeded, StudioError


@pytest.fixture
def inline_queue():
    huey.immediate = True
    yield huey
    huey.immediate = False


@pytest.fixture
def items(fresh_data_dir, samples):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video")
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio")
    hook = hooks.add_hooks("Stop scrolling. This changed how I edit forever.")[0]
    return video, audio, hook


def test_csv_batch_over_samples_renders_with_row_options_and_row_numbers(inline_queue, items, tmp_path):
    video, audio, hook = items
    table = tmp_path / "batch.csv"
    table.write_text(
        "Video,Audio,Hook,Hook Position,hook_duration_s\n"
        f"{video.name},{audio.name},{hook.text},bottom,1\n"
        "\n"  # blank rows are skipped but still count as spreadsheet rows
        f"{video.id},,{hook.id},,0.5\n", encoding="utf-8")
    created = variant_jobs.create_batch_from_csv(table, {"hook_position": "center", "fit": "blur"})
    assert created["total"] == 2
    status = batches.batch_status(created["batch_id"])
    assert (status["status"], status["done"]) == ("completed", 2)
    variants = batches.batch_variants(created["batch_id"])
    assert [v.snapshot["row"] for v in variants] == [2, 4]
    assert variants[0].snapshot["options"]["hook_position"] == "bottom"  # the row's cell wins
    assert variants[1].snapshot["options"]["hook_position"] == "center"  # empty cell: the batch default
    assert variants[1].audio_id is None and variants[0].audio_id == audio.id
    manifest = batches.build_manifest(created["batch_id"])
    rows = sorted((f["row"], f["options"]["hook_duration_s"]) for f in manifest["files"].values())
    assert rows == [(2, 1.0), (4, 0.5)]
    dest = tmp_path / "b.zip"
    batches.write_zip(created["batch_id"], dest)
    with zipfile.ZipFile(dest) as archive:
        assert {f["row"] for f in json.loads(archive.read("manifest.json"))["files"].values()} == {2, 4}
    for variant in variants:
        assert store.abs_path(library.get_item("video", variant.output_video_id).file).stat().st_size > 1000


def test_pasted_tab_separated_table_and_preview(items):
    video, audio, hook = items
    text = f"video\taudio\thook\n{video.name}\t{audio.id}\t{hook.text}\nnot_there.mp4\tmissing.mp3\t\n"
    shown = csv_batches.preview(text=text)
    assert shown["total"] == 2 and not shown["ok"]
    assert shown["rows"][0]["video"]["id"] == video.id and shown["rows"][0]["audio"]["name"] == audio.name
    assert shown["rows"][0]["hook"]["id"] == hook.id
    assert [(u["row"], u["column"], u["value"]) for u in shown["unmatched"]] == [
        (3, "video", "not_there.mp4"), (3, "audio", "missing.mp3")]


@pytest.mark.parametrize(("text", "message"), [
    ("video,colour\nx.mp4,red\n", "unknown column 'colour'"),
    ("", "the CSV is empty"),
    ("video,audio,hook\n", "no variant rows"),
    ("audio\nx.mp3\n", "needs a 'video' column"),
    ("video,video\na,b\n", "'video' appears more than once"),
])
def test_bad_tables_are_refused_naming_the_problem(items, text, message):
    with pytest.raises(StudioError, match=message):
        variant_jobs.create_batch_from_csv(text=text)
    assert batches.list_batches() == []


def test_unknown_names_and_bad_option_values_are_refused_listing_each(items):
    video, _, _ = items
    text = f"video,audio,hook,fit\n{video.name},nope.mp3,,blur\nghost.mp4,,No such hook,stretch\n"
    with pytest.raises(StudioError) as caught:
        variant_jobs.create_batch_from_csv(text=text)
    message = str(caught.value)
    for part in ("row 2: audio 'nope.mp3' matches nothing", "row 3: video 'ghost.mp4' matches nothing",
                 "row 3: hook 'No such hook' matches nothing", "row 3: fit: 'stretch'"):
        assert part in message
    assert batches.list_batches() == []


def test_more_rows_than_the_cap_is_refused(items, monkeypatch):
    from media.settings import reset_settings

    video, _, _ = items
    monkeypatch.setenv("NOVAI_CSV_MAX_ROWS", "3")
    reset_settings()
    text = "video\n" + f"{video.name}\n" * 4
    with pytest.raises(LimitExceeded, match="more than 3 variant rows"):
        variant_jobs.create_batch_from_csv(text=text)
    assert batches.list_batches() == []


def test_template_lists_every_option_column_and_parses_back(items):
    template = csv_batches.template_csv()
    header = next(csv.reader(io.StringIO(template)))
    assert header[:3] == ["video", "audio", "hook"]
    assert set(csv_batches.option_columns()) <= set(header)
    shown = csv_batches.preview(text=template)  # filled with library names: resolves cleanly
    assert shown["ok"], shown["problems"]
