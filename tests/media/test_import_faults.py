"""Imports and start-up under faults: kill -9 mid-copy, leftovers of killed work, oversized videos.

Issue 10: an upload killed mid-copy left a partial file in ``videos/`` with no row, never cleaned; a
295 KB, 2 s, 10000x10000 clip was accepted and held a worker for 90 s at about 1 GB of memory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import pytest

from media import library, store
from media.settings import reset_settings

ROOT = Path(__file__).resolve().parent.parent.parent
CHILD = "import sys; from tests.procs import import_video as r; r(sys.argv[1], sys.argv[2])"


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def _kill_mid_copy(data_dir: Path, big: Path) -> Path | None:
    """Start a process importing ``big`` into ``data_dir``, SIGKILL it while the copy is partial; returns
    the partial file seen (None when the import ended before it could be caught)."""
    media = data_dir / "media"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir), str(big)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    copying = None
    deadline = time.monotonic() + 120
    while copying is None and child.poll() is None and time.monotonic() < deadline:
        for path in _files(media / "videos") + _files(media / "tmp"):
            try:
                if 0 < path.stat().st_size < big.stat().st_size:
                    copying = path
            except FileNotFoundError:
                pass
        time.sleep(0.001)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    return copying if child.returncode == -signal.SIGKILL else None


def test_an_import_killed_mid_copy_leaves_nothing_in_the_library(tmp_path, samples, monkeypatch):
    from media.db import reset_engine

    big = tmp_path / "long_upload.mp4"  # a real clip padded to 400 MB, so the copy takes a while
    shutil.copyfile(samples / "videos" / "retalking_face_2.mp4", big)
    os.truncate(big, 400 * 2**20)
    for attempt in range(3):  # a busy machine may let the copy finish before the kill: try again
        data_dir = tmp_path / f"data{attempt}"
        if _kill_mid_copy(data_dir, big) is not None:
            break
    else:
        pytest.fail("the import always ended before it could be killed")
    monkeypatch.setenv("NOVAI_DATA_DIR", str(data_dir))
    reset_settings()
    reset_engine()
    media = data_dir / "media"
    try:
        assert _files(media / "videos") == []  # on main: the partial copy, with no row
        assert library.list_items("video") == []
        assert _files(media / "tmp")  # the partial copy is scratch...
        store.clean_scratch()  # ...that the next start removes
        assert _files(media / "tmp") == []
    finally:
        reset_engine()
        monkeypatch.undo()
        reset_settings()


def test_start_up_removes_what_killed_work_left(fresh_data_dir):
    from jobs.recovery import recover_interrupted_jobs

    media = fresh_data_dir / "media"
    leftovers = [media / "tmp" / "work-x" / "swapped.mp4",
                 media / "cache" / "v1" / "normalized" / ".tmp-abc-123" / "seg000.ts",
                 media / "cache" / "v1" / "audio" / ".tmp-def-456.m4a",
                 media / "cache" / "v1" / "hooks" / ".tmp-0a1-789.ts",
                 media / "variants" / "b1" / ".000_clip.part.mp4"]
    kept = [media / "cache" / "v1" / "normalized" / "key1" / "seg000.ts",
            media / "cache" / "v1" / "audio" / "def.m4a", media / "variants" / "b1" / "000_clip.mp4"]
    for path in leftovers + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"data")
    recover_interrupted_jobs()
    assert [p for p in leftovers if p.exists()] == []
    assert all(p.exists() for p in kept)
    assert not (media / "cache" / "v1" / "normalized" / ".tmp-abc-123").exists()


def _clip(path: Path, size: str, seconds: float, rate: int) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c=gray:s={size}:r={rate}:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=120)
    return path


def test_a_video_over_the_pixel_limit_is_refused_naming_the_file_and_the_limit(fresh_data_dir, tmp_path):
    clip = _clip(tmp_path / "huge_frame.mp4", "4160x4160", 0.2, 5)  # 17.3 megapixels > 4096x4096
    outcome = library.import_file(clip, "video")
    assert outcome.id is None
    assert outcome.error == ("huge_frame.mp4 is 4160x4160 pixels (17.3 megapixels a frame); the studio accepts "
                             "videos up to 16,777,216 pixels a frame (e.g. 4096x4096) (setting "
                             "NOVAI_MAX_VIDEO_PIXELS). Scale it down first.")
    assert library.list_items("video") == [] and _files(fresh_data_dir / "media" / "videos") == []


def test_a_video_over_the_length_limit_is_refused(fresh_data_dir, tmp_path):
    clip = _clip(tmp_path / "very_long.mp4", "32x32", 15 * 60 + 2, 1)  # 15 min 02 s > 15 min
    outcome = library.import_file(clip, "video")
    assert outcome.error == ("very_long.mp4 lasts 15 min 02 s; the studio accepts videos up to 15 min 00 s "
                             "(setting NOVAI_MAX_VIDEO_DURATION_S). Trim it first.")


def test_the_limits_are_settings(fresh_data_dir, tmp_path, monkeypatch):
    from media.probe import VideoTooLarge, check_video_limits

    clip = _clip(tmp_path / "small.mp4", "320x240", 2, 5)
    monkeypatch.setenv("NOVAI_MAX_VIDEO_PIXELS", str(320 * 240 - 1))
    reset_settings()
    assert "up to 76,799 pixels a frame" in library.import_file(clip, "video").error
    monkeypatch.setenv("NOVAI_MAX_VIDEO_PIXELS", str(320 * 240))
    monkeypatch.setenv("NOVAI_MAX_VIDEO_DURATION_S", "1.5")
    reset_settings()
    with pytest.raises(VideoTooLarge, match=r"small.mp4 lasts 2.0 s; .* up to 1.5 s"):
        check_video_limits("small.mp4", 320, 240, 2.0)
    monkeypatch.setenv("NOVAI_MAX_VIDEO_DURATION_S", "3")
    reset_settings()
    assert library.import_file(clip, "video").id
