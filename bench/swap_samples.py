"""Try the Swapper as a new user would, through the studio's API: put the sample videos and face photos
into the library, swap every video with one of the photos (the local engine, offline), and check every
result: decodes cleanly, same size, frame count, duration and audio as its source, and face pixels
changed while the rest of the frame is (nearly) unchanged.

    python launch.py &                     # in one shell
    python bench/swap_samples.py [--url http://127.0.0.1:7860/] [--samples ../shared/samples]

Prints the wall time of the whole run and one line per video.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
from gradio_client import Client, handle_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from media.probe import probe


def _changed_share(source: Path, result: Path, step: int = 10) -> float:
    """Share of pixels (every ``step``-th frame) differing by more than 40 (sum over RGB)."""
    shares = []
    with av.open(str(source)) as a, av.open(str(result)) as b:
        for i, (fa, fb) in enumerate(zip(a.decode(video=0), b.decode(video=0))):
            if i % step == 0:
                diff = np.abs(fa.to_ndarray(format="rgb24").astype(int) - fb.to_ndarray(format="rgb24"))
                shares.append(float((diff.sum(axis=2) > 40).mean()))
    return float(np.mean(shares)) if shares else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--samples", default=str(Path(__file__).resolve().parents[2] / "shared" / "samples"))
    args = parser.parse_args()
    samples = Path(args.samples)
    client = Client(args.url, verbose=False)
    videos = client.predict([handle_file(str(p)) for p in sorted((samples / "videos").glob("*.mp4"))],
                            "video", "swap-samples", api_name="/upload_media")
    photos = client.predict([handle_file(str(p)) for p in sorted((samples / "photos").iterdir())],
                            "image", "swap-samples", api_name="/upload_media")
    print(f"library: {len(videos)} videos, {len(photos)} photos; refused {[o for o in videos + photos if o['error']]}")
    start = time.monotonic()
    jobs = []
    for k, video in enumerate(videos):
        photo = photos[k % len(photos)]
        [job_id] = client.predict([video["id"]], photo["id"], "local", {}, api_name="/create_swap_job")["job_ids"]
        jobs.append((video, photo, job_id))
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    for video, photo, job_id in jobs:
        while (status := client.predict(job_id, api_name="/job_status"))["status"] not in (
                "completed", "failed", "canceled"):
            time.sleep(1)
        if status["status"] != "completed" or not status["result_ids"]:
            print(f"{video['name']}: {status['status']} {status['error'] or status['message']}")
            continue
        out = Path(client.predict(status["result_ids"][0], api_name="/media_file"))
        src_path = Path(next(v["file_path"] for v in client.predict("video", "swap-samples", api_name="/list_media")
                             if v["id"] == video["id"]))
        src, res = probe(src_path), probe(out)
        errors = subprocess.run([ffmpeg, "-v", "error", "-i", str(out), "-f", "null", "-"], check=False,
                                capture_output=True, text=True).stderr.strip()
        output = status["output"]
        print(f"{video['name']:26s} x {photo['name']:22s} {res.width}x{res.height} (src {src.width}x{src.height}) "
              f"frames {res.frame_count}/{src.frame_count} dur {res.duration_s:.2f}/{src.duration_s:.2f} s "
              f"audio {res.audio_codec or '-'}/{src.audio_codec or '-'} "
              f"swapped {output['frames_swapped']}/{output['frames_total']} frames, "
              f"changed {100 * _changed_share(src_path, out):.1f}% of pixels, decode {'ok' if not errors else errors}")
    print(f"wall {time.monotonic() - start:.1f} s for {len(jobs)} jobs")


if __name__ == "__main__":
    main()
