"""Time the offline character sheet per sample photo (face detection + alignment + palette + layout).

    PYTHONPATH=. python bench/bench_character_sheet.py [PHOTO_DIR]

Prints seconds per photo for detection and for the local provider, and whether the sheet's close-up
panel holds a face. Run by hand; not a test.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from jobs.character_providers.base import CharacterRequest
from jobs.character_providers.local import LocalCharacterProvider
from media.characters.sheet import CLOSEUP_BOX
from media.face.landmarks import detect_faces, load_rgb


def main(photo_dir: Path) -> None:
    provider = LocalCharacterProvider()
    detect_faces(np.zeros((64, 64, 3), dtype=np.uint8))  # load the models once
    print("photo                      detect_s  sheet_s  closeup_face")
    for path in sorted(p for p in photo_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        started = time.perf_counter()
        rgb = load_rgb(path)
        face = detect_faces(rgb)[0]
        detected = time.perf_counter()
        result = provider.generate(CharacterRequest(photo=rgb, face=face, name=path.stem), lambda *_: None)
        composed = time.perf_counter()
        x, y, w, h = CLOSEUP_BOX
        sheet = np.asarray(Image.open(io.BytesIO(result.image_bytes)).convert("RGB"))
        found = bool(detect_faces(np.ascontiguousarray(sheet[y:y + h, x:x + w])))
        print(f"{path.name:26} {detected - started:8.2f} {composed - detected:8.2f}  {found}")
    print(f"command: PYTHONPATH=. python bench/bench_character_sheet.py {photo_dir}")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "samples" / "photos"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
