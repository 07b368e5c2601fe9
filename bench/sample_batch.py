"""Try the studio as a new user would, through its API: put ../shared/samples into the library and render
a batch of 2 variants per video over every sample video, audio track and hook; then check every output.

    python launch.py &                     # in one shell
    python bench/sample_batch.py [--url http://127.0.0.1:7860/] [--samples ../shared/samples]

Prints the batch's wall time, seconds of output video per wall-clock second, the render path of each
variant, and for each output: decodes cleanly, 1080x1920, duration vs source, audio present.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
from gradio_client import Client, handle_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from media.probe import probe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--samples", default=str(Path(__file__).resolve().parents[2] / "shared" / "samples"))
    parser.add_argument("--per-video", type=int, default=2)
    args = parser.parse_args()
    samples = Path(args.samples)
    client = Client(args.url, verbose=False)

    videos = client.predict([handle_file(str(p)) for p in sorted((samples / "videos").glob("*.mp4"))],
                            "video", "samples", api_name="/upload_media")
    audios = client.predict([handle_file(str(p)) for p in sorted((samples / "audio").iterdir())],
                            "audio", "samples", api_name="/upload_media")
    hooks = client.predict((samples / "hooks.txt").read_text(encoding="utf-8"), "samples", api_name="/add_hooks")
    refused = [o for o in videos + audios if o["error"]]
    print(f"library: {len(videos)} videos, {len(audios)} audios, {len(hooks)} hooks, refused {refused}")

    start = time.monotonic()
    created = client.predict([v["id"] for v in videos], [a["id"] for a in audios], [h["id"] for h in hooks],
                             args.per_video, {}, api_name="/create_variant_batch")
    while True:
        status = client.predict(created["batch_id"], api_name="/batch_status")
        if status["status"] not in ("queued", "running"):
            break
        time.sleep(1)
    wall = time.monotonic() - start
    results = client.predict(created["batch_id"], api_name="/batch_results")
    durations = {v["id"]: v["duration_s"] for v in client.predict("video", "samples", api_name="/list_media")}
    total_video = 0.0
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    for r in results:
        if r["status"] != "completed":
            print(f"#{r['index']} {r['status']}: {r['error']}")
            continue
        info = probe(r["file_path"])
        log = subprocess.run([ffmpeg, "-v", "warning", "-i", r["file_path"], "-f", "null", "-"],
                             capture_output=True, text=True, check=False).stderr.strip()
        total_video += info.duration_s
        print(f"#{r['index']:02d} {r['render_path']:4s} {info.width}x{info.height} {info.fps:.0f} fps "
              f"{info.duration_s:6.3f}s (source {durations[r['video_id']]:6.3f}s) audio={info.has_audio} "
              f"decode={'clean' if not log else log[:80]} {r['file_name']}")
    print(f"batch {status['status']}: {status['done']}/{status['total']} done in {wall:.1f} s wall, "
          f"{total_video / wall:.2f} s of output video per wall-clock second")
    zip_path = client.predict(created["batch_id"], api_name="/batch_zip")
    print(f"zip: {zip_path} ({Path(zip_path).stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
