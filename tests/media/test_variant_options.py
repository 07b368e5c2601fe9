"""VariantOptions: defaults, the API's flat keys, validation errors that name the key and value."""

from __future__ import annotations

import pytest

from media.variant_render import TextStyle, VariantOptions


def test_defaults_follow_the_issue():
    o = VariantOptions()
    assert (o.hook_position, o.hook_start_s, o.hook_duration_s, o.audio_mode, o.fit) == \
        ("top", 0.0, 3.0, "replace", "blur")
    assert o.style == TextStyle() and o.style.font_size is None and o.style.color == "#FFFFFF"


def test_from_dict_reads_flat_api_keys():
    o = VariantOptions.from_dict({
        "hook_position": "bottom", "hook_start_s": "2.5", "hook_duration_s": 0, "audio_mode": "mix",
        "fit": "pad", "font_size": 64, "text_color": "#FFEE00", "stroke_color": "red", "stroke_width": 3,
        "box": "true", "box_color": "#000", "box_opacity": 0.4, "assignment": "random", "seed": 7,
    })
    assert (o.hook_position, o.hook_start_s, o.hook_duration_s, o.audio_mode, o.fit) == \
        ("bottom", 2.5, 0.0, "mix", "pad")
    assert o.style == TextStyle(font_size=64, color="#FFEE00", stroke_color="red", stroke_width=3, box=True,
                                box_color="#000", box_opacity=0.4)


def test_none_and_empty_mean_default_and_auto_font_size():
    o = VariantOptions.from_dict({"fit": None, "font_size": "auto", "text_color": "", "hook_start_s": None})
    assert o == VariantOptions()
    assert VariantOptions.from_dict({}) == VariantOptions()
    assert VariantOptions.from_dict(None) == VariantOptions()


def test_round_trip():
    o = VariantOptions(hook_position="center", hook_start_s=1.25, hook_duration_s=4, audio_mode="keep",
                       fit="crop", style=TextStyle(font_size=50, box=True))
    assert VariantOptions.from_dict(o.to_dict()) == o
    assert set(o.to_dict()) >= {"hook_position", "hook_start_s", "hook_duration_s", "audio_mode", "fit",
                                "font_size", "text_color", "stroke_color", "box"}


@pytest.mark.parametrize("key,bad", [
    ("hook_position", "left"), ("hook_start_s", -1), ("hook_start_s", "soon"), ("hook_duration_s", float("nan")),
    ("hook_duration_s", -0.5), ("audio_mode", "mute"), ("fit", "stretch"), ("font_size", 2.5),
    ("font_size", "big"), ("text_color", "#GGGGGG"), ("stroke_color", "nope"), ("box", "maybe"),
    ("box_opacity", 1.5), ("stroke_width", -1), ("hook_start_s", True),
])
def test_bad_values_name_key_and_value(key, bad):
    with pytest.raises(ValueError) as err:
        VariantOptions.from_dict({key: bad})
    assert key in str(err.value) and str(bad) in str(err.value)


def test_unknown_keys_are_refused_but_batch_keys_ignored():
    with pytest.raises(ValueError, match="hook_postion"):
        VariantOptions.from_dict({"hook_postion": "top"})
    assert VariantOptions.from_dict({"assignment": "cartesian", "seed": 3}) == VariantOptions()


def test_direct_construction_is_validated_too():
    with pytest.raises(ValueError, match="fit"):
        VariantOptions(fit="zoom")
    with pytest.raises(ValueError, match="font_size"):
        VariantOptions(style=TextStyle(font_size=1000))


def test_docs_table_is_generated_from_the_model():
    from pathlib import Path

    from media.variant_options import markdown_table

    doc = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text(encoding="utf-8")
    block = doc.split("<!-- variant-options:start -->\n")[1].split("<!-- variant-options:end -->")[0]
    assert block.strip() == markdown_table().strip()
    for name in VariantOptions.model_fields:
        assert f"| `{name}` |" in block


def test_hook_cache_key_covers_every_field_not_declared_audio_only():
    from media.variant_options import field_spec

    fields = set(VariantOptions.hook_key_fields())
    assert {"hook_position", "font_size", "text_color", "box", "fit"} <= fields
    assert not fields & {"audio_mode", "captions", "duck_db", "loudness_lufs", "voice"}
    a, b = VariantOptions(), VariantOptions(text_color="#FF0000")
    assert a.hook_key() != b.hook_key()
    assert a.hook_key() == VariantOptions(captions="speech", duck_db=3).hook_key()
    spec = field_spec("caption_style")
    assert spec["choices"] == ["karaoke", "pop", "line"] and spec["kind"] == "choice"
    assert field_spec("duck_db")["minimum"] == 0 and field_spec("duck_db")["maximum"] == 40


@pytest.mark.parametrize("key,bad", [
    ("captions", "always"), ("caption_style", "neon"), ("caption_font_size", 5), ("voiceover", "yes"),
    ("duck_db", -3), ("loudness_lufs", 0), ("voice_speed", 9), ("still_motion", "spin"),
    ("caption_color", "nope"),
])
def test_new_option_keys_are_validated(key, bad):
    with pytest.raises(ValueError) as err:
        VariantOptions.from_dict({key: bad})
    assert key in str(err.value) and str(bad) in str(err.value)


def test_loudness_can_be_turned_off_per_batch():
    assert VariantOptions.from_dict({"loudness_lufs": "off"}).loudness_lufs is None
    assert VariantOptions.from_dict({"loudness_lufs": -16}).loudness_lufs == -16
