"""The render options of a variant, declared once (issue 11): one pydantic model whose fields, bounds and
allowed values (``Literal``) feed the validation, the Variants tab's controls, docs/API.md and the
hook-segment cache key.

``VariantOptions`` is flat: every field is one key of ``create_variant_batch``'s ``options`` dict.
Batch-level keys (how variants are planned, not how one looks) are declared apart in
:data:`BATCH_KEYS`. ``python -m media.variant_options`` prints the Markdown table of docs/API.md.

Every field carries ``json_schema_extra={"hook": False}`` when it cannot change the pixels of a hook
segment (audio, captions, voice); every other field is part of :meth:`VariantOptions.hook_key_fields`,
so a field added later is in the hook cache key unless it is declared not to be.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from media.audio_track import AudioMode
from media.ffmpeg_builder import FitMode
from media.text_render import HookPosition, TextStyle, parse_colour

CaptionSource = Literal["off", "speech", "script"]
CaptionStyle = Literal["karaoke", "pop", "line"]
CaptionPosition = Literal["lower_third", "center", "upper_third"]
VoiceoverSource = Literal["off", "hook", "script"]
StillMotion = Literal["zoom_in", "zoom_out", "pan_left", "pan_right"]

# Keys of create_variant_batch's options that plan the batch rather than render a variant.
BATCH_KEYS: tuple[str, ...] = ("assignment", "seed")

_NOT_HOOK = {"hook": False}
_COLOUR_FIELDS = ("text_color", "stroke_color", "box_color", "caption_color", "caption_highlight_color",
                  "caption_stroke_color")


class VariantOptions(BaseModel):
    """How a variant looks and sounds. Seconds for times, pixels for sizes, dB / LUFS for levels.

    ``hook_duration_s`` 0 = the hook on the whole video; ``font_size`` None = auto-fit;
    ``loudness_lufs`` None = no loudness normalisation. Invalid values raise ValueError naming the key
    and the value (also on direct construction). ``style`` gives the hook's :class:`TextStyle`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Hook.
    hook_position: HookPosition = Field("top", description="hook place inside the 9:16 safe zone")
    hook_start_s: float = Field(0.0, ge=0, le=86_400, description="hook start, seconds")
    hook_duration_s: float = Field(3.0, ge=0, le=86_400, description="hook duration, seconds (0 = whole video)")
    font_size: int | None = Field(None, ge=8, le=400, description="hook font size, px (None/'auto' = fit)")
    text_color: str = Field("#FFFFFF", description="hook text colour (CSS)")
    stroke_color: str = Field("#000000", description="hook outline colour (CSS)")
    stroke_width: int | None = Field(None, ge=0, le=40, description="hook outline, px (None = 8 % of size)")
    box: bool = Field(False, description="box behind the hook")
    box_color: str = Field("#000000", description="hook box colour (CSS)")
    box_opacity: float = Field(0.6, ge=0, le=1, description="hook box opacity 0..1")
    fit: FitMode = Field("blur", description="fit to 1080x1920: blur, crop or pad")
    # Audio.
    audio_mode: AudioMode = Field("replace", description="chosen track: replace, mix under the original, keep",
                                  json_schema_extra=_NOT_HOOK)
    duck_db: float = Field(15.0, ge=0, le=40, json_schema_extra=_NOT_HOOK,
                           description="music ducked this many dB under speech (mix, voice-over); 0 = off")
    loudness_lufs: float | None = Field(-14.0, ge=-30, le=-8, json_schema_extra=_NOT_HOOK,
                                        description="integrated loudness target, LUFS (None = off); "
                                        "true peak <= -1 dBTP")
    # Captions.
    captions: CaptionSource = Field("off", json_schema_extra=_NOT_HOOK,
                                    description="off; speech = the final voice transcribed; script = "
                                    "the voice-over's words")
    caption_style: CaptionStyle = Field("karaoke", json_schema_extra=_NOT_HOOK,
                                        description="karaoke (spoken word coloured), pop (1-3 words, "
                                        "spoken word enlarged), line (sentence lines)")
    caption_position: CaptionPosition = Field("lower_third", json_schema_extra=_NOT_HOOK,
                                              description="caption band in the safe zone (moved off the hook)")
    caption_font_size: int = Field(64, ge=24, le=160, json_schema_extra=_NOT_HOOK,
                                   description="caption font size, px")
    caption_color: str = Field("#FFFFFF", json_schema_extra=_NOT_HOOK, description="caption text colour")
    caption_highlight_color: str = Field("#FFD400", json_schema_extra=_NOT_HOOK,
                                         description="colour of the spoken word (karaoke, pop)")
    caption_stroke_color: str = Field("#000000", json_schema_extra=_NOT_HOOK, description="caption outline")
    # Voice-over (Piper, optional extra).
    voiceover: VoiceoverSource = Field("off", json_schema_extra=_NOT_HOOK,
                                       description="off; hook = speak the hook; script = speak the variant's script")
    voice: str = Field("joe-us", min_length=1, max_length=200, json_schema_extra=_NOT_HOOK,
                       description="voice name (media.tts.VOICES) or a Piper .onnx path")
    voice_gain_db: float = Field(0.0, ge=-24, le=12, json_schema_extra=_NOT_HOOK,
                                 description="voice-over level, dB")
    voice_speed: float = Field(1.0, ge=0.5, le=2.0, json_schema_extra=_NOT_HOOK,
                               description="voice-over speed (1 = normal)")
    voice_start_s: float | None = Field(None, ge=0, le=86_400, json_schema_extra=_NOT_HOOK,
                                        description="voice-over start, seconds (None = with the hook)")
    # Stills (library images as sources).
    still_duration_s: float | None = Field(None, ge=1, le=600, json_schema_extra=_NOT_HOOK,
                                           description="length of a still's Ken Burns clip, seconds "
                                           "(None = the audio's length, else 8 s)")
    still_motion: StillMotion = Field("zoom_in", json_schema_extra=_NOT_HOOK, description="Ken Burns move")
    still_zoom: float = Field(1.15, ge=1.0, le=2.0, json_schema_extra=_NOT_HOOK,
                              description="Ken Burns zoom amount (1.15 = 15 % closer)")

    @model_validator(mode="before")
    @classmethod
    def _accept_style(cls, data: Any) -> Any:
        """``VariantOptions(style=TextStyle(...))`` sets the hook-style fields."""
        if isinstance(data, dict) and "style" in data:
            data = dict(data)
            s = data.pop("style")
            if not isinstance(s, TextStyle):
                raise ValueError(f"style: not a TextStyle: {s!r}")
            data.update(font_size=s.font_size, text_color=s.color, stroke_color=s.stroke_color,
                        stroke_width=s.stroke_width, box=s.box, box_color=s.box_color, box_opacity=s.box_opacity)
        return data

    @field_validator(*_COLOUR_FIELDS)
    @classmethod
    def _colour(cls, value: str, info) -> str:
        parse_colour(value, info.field_name)
        return value

    @field_validator("hook_start_s", "hook_duration_s", "box_opacity", "duck_db", "loudness_lufs",
                     "voice_gain_db", "voice_speed", "voice_start_s", "still_duration_s", "still_zoom",
                     mode="before")
    @classmethod
    def _finite(cls, value: Any, info) -> Any:
        if isinstance(value, bool):
            raise ValueError("not a number")  # noqa: TRY004 - pydantic reports ValueError
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a finite number")
        return value

    @field_validator("font_size", "stroke_width", "caption_font_size", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("not a whole number")  # noqa: TRY004 - pydantic reports ValueError
        if isinstance(value, float) and value != int(value):
            raise ValueError("not a whole number")
        return value

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _readable(exc, data) from None

    @property
    def style(self) -> TextStyle:
        """The hook's text style."""
        return TextStyle(font_size=self.font_size, color=self.text_color, stroke_color=self.stroke_color,
                         stroke_width=self.stroke_width, box=self.box, box_color=self.box_color,
                         box_opacity=self.box_opacity)

    @classmethod
    def from_dict(cls, d: dict | None) -> VariantOptions:
        """Options from the API's flat keys (the model's field names). None/"" = default; ``font_size``
        "auto" = auto-fit; ``loudness_lufs`` "off" = no normalisation; batch keys (:data:`BATCH_KEYS`) are
        ignored; any other key raises ValueError naming it."""
        d = dict(d or {})
        unknown = sorted(k for k in d if k not in cls.model_fields and k not in BATCH_KEYS)
        if unknown:
            raise ValueError(f"unknown option key(s): {', '.join(map(repr, unknown))}")
        kwargs: dict[str, Any] = {}
        for key in cls.model_fields:
            value = d.get(key)
            if value is None or value == "" or (key == "font_size" and value == "auto"):
                continue
            if key == "loudness_lufs" and str(value).lower() in ("off", "none"):
                kwargs[key] = None
                continue
            if cls.model_fields[key].annotation is bool or key == "box":
                value = _boolean(key, value)
            kwargs[key] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Flat dict with the keys :meth:`from_dict` reads (``from_dict(o.to_dict()) == o``)."""
        return self.model_dump()

    @classmethod
    def hook_key_fields(cls) -> tuple[str, ...]:
        """Fields that can change a hook segment's pixels (all but those declared ``hook: False``)."""
        return tuple(name for name, f in cls.model_fields.items()
                     if (f.json_schema_extra or {}).get("hook", True))

    def hook_key(self) -> dict[str, Any]:
        """The values of :meth:`hook_key_fields` (part of the hook-segment cache key)."""
        return {name: getattr(self, name) for name in self.hook_key_fields()}


def _boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().lower() in {"0", "1", "true", "false", "yes", "no"}:
        return str(value).strip().lower() in {"1", "true", "yes"}
    raise ValueError(f"{key}: not true/false: {value!r}")


def _readable(exc: ValidationError, data: dict) -> ValueError:
    """One ValueError naming each bad key and its value (pydantic's message, shortened)."""
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "options"
        value = data.get(key, err.get("input"))
        msg = err["msg"].removeprefix("Value error, ")
        if key in _COLOUR_FIELDS and "not a colour" in msg:
            parts.append(msg)
        else:
            parts.append(f"{key}: {value!r}: {msg}")
    return ValueError("; ".join(parts))


def field_spec(name: str) -> dict[str, Any]:
    """What a UI control needs for one field: ``{name, default, description, choices (Literal values or
    None), minimum, maximum, kind ('choice' | 'number' | 'integer' | 'bool' | 'text' | 'colour'),
    optional (None allowed)}``. Raises KeyError for an unknown field."""
    f = VariantOptions.model_fields[name]
    ann = f.annotation
    args = [a for a in get_args(ann) if a is not type(None)] if get_args(ann) else []
    optional = type(None) in get_args(ann)
    base = args[0] if optional and len(args) == 1 else ann
    choices = list(get_args(base)) if getattr(base, "__origin__", None) is Literal else None
    lo = hi = None
    for m in f.metadata:
        lo = getattr(m, "ge", lo) if getattr(m, "ge", None) is not None else lo
        hi = getattr(m, "le", hi) if getattr(m, "le", None) is not None else hi
    if choices:
        kind = "choice"
    elif base is bool:
        kind = "bool"
    elif base is int:
        kind = "integer"
    elif base is float:
        kind = "number"
    elif name in _COLOUR_FIELDS:
        kind = "colour"
    else:
        kind = "text"
    return {"name": name, "default": f.default, "description": f.description or "", "choices": choices,
            "minimum": lo, "maximum": hi, "kind": kind, "optional": optional}


def markdown_table() -> str:
    """The options table of docs/API.md, generated from the model."""
    rows = ["| key | allowed | default | meaning |", "|---|---|---|---|"]
    for name in VariantOptions.model_fields:
        s = field_spec(name)
        if s["choices"]:
            allowed = " \\| ".join(f"`{c}`" for c in s["choices"])
        elif s["kind"] in ("number", "integer"):
            allowed = f"{s['kind']} {s['minimum']:g}..{s['maximum']:g}" if s["minimum"] is not None else s["kind"]
        else:
            allowed = s["kind"]
        if s["optional"]:
            allowed += " or null"
        default = json.dumps(s["default"]) if not isinstance(s["default"], str) else s["default"]
        rows.append(f"| `{name}` | {allowed} | `{default}` | {s['description']} |")
    rows.append("")
    rows.append("Batch-level keys: " + ", ".join(f"`{k}`" for k in BATCH_KEYS) + ".")
    return "\n".join(rows)


__all__ = ["BATCH_KEYS", "AudioMode", "CaptionPosition", "CaptionSource", "CaptionStyle", "FitMode",
           "HookPosition", "StillMotion", "VariantOptions", "VoiceoverSource", "field_spec", "markdown_table"]

if __name__ == "__main__":
    print(markdown_table())
