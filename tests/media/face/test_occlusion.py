"""The offline engine keeps what covers a face: the target's occluders stay in front of the swap, the
photo's occluders (a microphone) are never pasted, and a character sheet gives only its face."""

from __future__ import annotations

import cv2
import numpy as np

from media.face.landmarks import detect_faces, load_rgb
from media.face.mesh import FACE_OVAL, face_size
from media.face.swapper import prepare_source, swap_face

BLUE = np.array([20, 40, 235])


def _oval(shape, landmarks, shrink: int = 0) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(FACE_OVAL)]).astype(np.int32)], 255)
    return cv2.erode(mask, np.ones((2 * shrink + 1,) * 2, np.uint8)) if shrink else mask


def test_target_glasses_stay_in_front_of_the_swap(obama, target):
    frame, landmarks = target
    covered = frame.copy()
    # Dark glasses: a thick bar across both eyes, drawn onto the target frame.
    left, right = landmarks[33], landmarks[263]
    thickness = int(0.08 * face_size(landmarks))
    cv2.line(covered, tuple(int(v) for v in left), tuple(int(v) for v in right), (25, 25, 30), thickness)
    bar = np.zeros(frame.shape[:2], np.uint8)
    cv2.line(bar, tuple(int(v) for v in left), tuple(int(v) for v in right), 255, thickness // 2)
    out = covered.copy()
    assert swap_face(out, prepare_source(*obama), landmarks) is not None
    diff = np.abs(out.astype(int) - covered).sum(axis=2)
    assert diff[_oval(frame.shape, landmarks, 20) > 0].mean() > 15  # the face was swapped
    assert np.median(diff[bar > 0]) < 20  # the glasses were not


def test_photo_microphone_is_never_pasted(obama, target):
    rgb, face = obama
    with_mic = rgb.copy()
    size = face_size(face.landmarks)
    chin, mouth_corner = face.landmarks[152], face.landmarks[291]
    # A blue microphone across the chin and one mouth corner, as in the character sheet.
    cv2.line(with_mic, tuple(int(v) for v in chin + (0, 0.05 * size)), tuple(int(v) for v in mouth_corner),
             tuple(int(v) for v in BLUE), int(0.07 * size))
    frame, landmarks = target
    out = frame.copy()
    assert swap_face(out, prepare_source(with_mic, face), landmarks) is not None
    face_pixels = out[_oval(frame.shape, landmarks) > 0].astype(int)
    blueish = np.abs(face_pixels - BLUE).sum(axis=1) < 120
    assert blueish.mean() < 0.002


def test_character_sheet_gives_its_face_only(samples, target, tmp_path):
    """The offline character sheet of a photo holding a microphone: the face is found on the sheet (the
    close-up panel is its largest face) and swapping with it pastes no microphone or sheet background."""
    from jobs.character_providers.base import CharacterRequest
    from jobs.character_providers.local import LocalCharacterProvider
    from jobs.swap_providers.local import pick_source_face
    from media.characters.sheet import CLOSEUP_BOX

    photo = load_rgb(samples / "photos" / "lin-manuel-miranda.png")
    request = CharacterRequest(photo=photo, face=detect_faces(photo)[0], name="Lin")
    path = tmp_path / "sheet.png"
    path.write_bytes(LocalCharacterProvider().generate(request, lambda *_: None).image_bytes)
    rgb, face = pick_source_face(path)
    x, y, w, h = CLOSEUP_BOX
    cx, cy = face.center
    assert x <= cx <= x + w and y <= cy <= y + h
    frame, landmarks = target
    out = frame.copy()
    assert swap_face(out, prepare_source(rgb, face), landmarks) is not None
    inside = _oval(frame.shape, landmarks) > 0
    # The microphone is near-black; the target's face had almost none of it, and the swap adds none.
    dark_before = (frame[inside].max(axis=1) < 45).mean()
    dark_after = (out[inside].max(axis=1) < 45).mean()
    assert dark_after < dark_before + 0.01


def test_photo_moustache_is_face_not_occluder(obama):
    """A dark patch enclosed by the photo's skin (a moustache) is the photo's face: kept visible, while
    a dark bar that comes in from outside the face (a microphone) is not."""
    from media.face.occlusion import photo_visible_mask

    rgb, face = obama
    landmarks = face.landmarks
    size = face_size(landmarks)
    marked = rgb.copy()
    lip_top, nose = landmarks[0], landmarks[2]
    centre = tuple(int(v) for v in (lip_top + nose) / 2)
    cv2.ellipse(marked, centre, (int(0.12 * size), int(0.02 * size)), 0, 0, 360, (35, 25, 20), -1)
    chin = landmarks[152]
    cv2.line(marked, tuple(int(v) for v in chin + (0, 0.1 * size)), tuple(int(v) for v in chin - (0, 0.08 * size)),
             (35, 25, 20), int(0.06 * size))
    visible = photo_visible_mask(marked, landmarks)
    assert visible[centre[1], centre[0]] == 255
    inside_bar = tuple(int(v) for v in chin - (0, 0.04 * size))
    assert visible[inside_bar[1], inside_bar[0]] == 0


def test_target_eyes_kept_only_when_shut(target):
    """An open target eye less open than the photo's still takes the photo's eye (its identity); a shut
    one keeps the target's."""
    from media.face.occlusion import LEFT_EYE, RIGHT_EYE, eye_openness
    from media.face.swapper import eyes_closing, occlusion_masks

    frame, landmarks = target
    centre = landmarks[list(RIGHT_EYE)].mean(axis=0)
    x, y = int(centre[0]), int(centre[1])
    assert eye_openness(landmarks) < 0.75 * 0.4
    assert not eyes_closing(landmarks, source_eyes=0.4)
    assert eyes_closing(landmarks, source_eyes=0.4, blinking=True)
    assert occlusion_masks(frame, landmarks)[y, x] == 255  # the eyes are no occluder
    shut = landmarks.copy()
    for ring in (RIGHT_EYE, LEFT_EYE):
        ring_pts = shut[list(ring)]
        mid = ring_pts.mean(axis=0)
        shut[list(ring)] = mid + (ring_pts - mid) * (1.0, 0.6)
    assert eye_openness(shut) < 0.16
    assert eyes_closing(shut, source_eyes=0.4)
    assert not eyes_closing(shut, source_eyes=0.1)  # a photo with narrower eyes still gives its own


def test_thin_glasses_rims_stay_in_front_of_the_swap(obama, target):
    """Thin dark rims and a bridge across the eye band (too thin for the skin model) are kept; a face
    without glasses (biden_portrait.jpg: deep crow's feet) has none."""
    from media.face.occlusion import LEFT_EYE, RIGHT_EYE, glasses_rims

    frame, landmarks = target
    size = face_size(landmarks)
    assert not glasses_rims(frame, landmarks).any()
    with_rims = frame.copy()
    rims = np.zeros(frame.shape[:2], np.uint8)
    thickness = max(int(0.006 * size), 2)
    for ring in (RIGHT_EYE, LEFT_EYE):
        pts = landmarks[list(ring)]
        centre = pts.mean(axis=0)
        axes = (int(0.75 * np.ptp(pts[:, 0])), int(2.2 * np.ptp(pts[:, 1])))
        for image, colour in ((with_rims, (30, 30, 35)), (rims, 255)):
            cv2.ellipse(image, tuple(int(v) for v in centre), axes, 0, 180, 360, colour, thickness)
    bridge = [tuple(int(v) for v in landmarks[k] - (0, 0.03 * size)) for k in (133, 362)]
    for image, colour in ((with_rims, (30, 30, 35)), (rims, 255)):
        cv2.line(image, bridge[0], bridge[1], colour, thickness)
    found = glasses_rims(with_rims, landmarks)
    assert (found[rims > 0] > 0).mean() > 0.3  # less the parts over the brows (face parts, exempt)
    out = with_rims.copy()
    assert swap_face(out, prepare_source(*obama), landmarks) is not None
    diff = np.abs(out.astype(int) - with_rims).sum(axis=2)
    assert np.median(diff[(rims > 0) & (found > 0)]) < 30


def test_a_highlight_on_the_skin_is_swapped_but_a_coloured_patch_stays(target):
    """A near-white shine enclosed by the face (on the forehead) is skin: the swap covers it, so the
    target's paler skin does not show through as a bright spot. A blue patch of the same size there is an
    occluder, and so is a near-white patch that reaches the face's outline (a white object in front)."""
    from media.face.occlusion import visible_skin_mask

    frame, landmarks = target
    size = face_size(landmarks)
    radius = int(0.05 * size)
    forehead = tuple(int(v) for v in landmarks[151] + (0, 0.1 * size))
    edge = tuple(int(v) for v in landmarks[234])

    def visible_at(colour, centre):
        marked = frame.copy()
        cv2.circle(marked, centre, radius, colour, -1)
        return visible_skin_mask(marked, landmarks)[centre[1], centre[0]]

    assert visible_at((250, 248, 245), forehead) == 255
    assert visible_at(tuple(int(v) for v in BLUE), forehead) == 0
    assert visible_at((250, 248, 245), edge) == 0
