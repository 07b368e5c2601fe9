"""``local``: an offline reference sheet composed with Pillow from the photo itself (no model, no cost).

It shows only what the photo shows: the photo, an aligned and enlarged face close-up (from the Face
Mesh landmarks the Swapper also uses), a skin/hair/clothing palette, the name and the date.
"""

from __future__ import annotations

import io

from PIL import Image

from jobs.character_providers.base import CharacterRequest, CharacterResult, ProgressFn
from media.characters.align import align_face
from media.characters.palette import face_palette
from media.characters.sheet import compose_sheet


class LocalCharacterProvider:
    """Composes a sheet from the photo: photo, aligned face close-up, palette, name and date."""

    name = "local"
    needs_key = False
    description = ("Offline and free: lays out one sheet from your photo: the photo, an aligned and "
                   "enlarged face close-up, a skin/hair/clothing palette, the name and the date. It does "
                   "not draw new views it cannot see.")

    def generate(self, request: CharacterRequest, progress: ProgressFn) -> CharacterResult:
        """Compose the sheet as PNG bytes. Raises ``ValueError`` on unusable landmarks."""
        photo = Image.fromarray(request.photo).convert("RGB")
        progress(30, "aligning the face close-up")
        closeup = align_face(photo, request.face.landmarks)
        progress(50, "sampling the palette")
        swatches = face_palette(request.photo, request.face.landmarks)
        progress(70, "composing the sheet")
        sheet = compose_sheet(photo, closeup.image, swatches, request.name, request.made_on, request.notes)
        buffer = io.BytesIO()
        sheet.save(buffer, format="PNG", optimize=False)
        return CharacterResult(image_bytes=buffer.getvalue(), cost_cents=0.0, model="local-sheet")
