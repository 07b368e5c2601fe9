"""Time LoRA dataset preparation per sample photo (load + EXIF + face detection + crop + hash + JPEG).

    PYTHONPATH=. python bench/bench_lora_dataset.py [PHOTO_DIR] [RESOLUTION]

Prints seconds per photo, faces found, output size, and the whole build (ZIP included) in a temporary
data folder. Run by hand; not a test.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NOVAI_DATA_DIR", tempfile.mkdtemp(prefix="novai-bench-"))

import numpy as np

from jobs.lora_api import build_lora_dataset_from_files
from media.face.landmarks import detect_faces
from media.lora_dataset import DatasetOptions, SourceImage, prepare_image


def main(photo_dir: Path, resolution: int) -> None:
    detect_faces(np.zeros((64, 64, 3), dtype=np.uint8))  # load the models once
    options = DatasetOptions(resolution=resolution)
    photos = sorted(p for p in photo_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    print("photo                      seconds  faces  output")
    for path in photos:
        started = time.perf_counter()
        image, faces, _ = prepare_image(SourceImage(path.name, path), options, 64_000_000)
        print(f"{path.name:26} {time.perf_counter() - started:7.2f}  {faces:5d}  {image.width}x{image.height}")
    started = time.perf_counter()
    result = build_lora_dataset_from_files(photos, "ohwx", {"resolution": resolution})
    print(f"whole dataset ({result['count']} images, ZIP + thumbnail): {time.perf_counter() - started:.2f} s")
    print(f"command: PYTHONPATH=. python bench/bench_lora_dataset.py {photo_dir} {resolution}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared" / "samples" / "photos",
         int(sys.argv[2]) if len(sys.argv) > 2 else 1024)
