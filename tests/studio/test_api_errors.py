"""Every named endpoint answers bad input with a message naming the problem (issue 10), through
gradio_client on a launched app: never ``{"error": null}``, never Gradio's opaque "verbose error" text,
never an absolute server path."""

from __future__ import annotations

import pytest

from studio.app import build_app
from tests.serving import served

OPAQUE = "has not enabled verbose error reporting"


@pytest.fixture(scope="module")
def client():
    with served(build_app()) as studio:
        yield studio


@pytest.mark.parametrize(("endpoint", "args", "expected"), [
    ("/create_variant_batch", (["x"], [], [], 1, [1, 2]), "options must be an object"),
    ("/create_variant_batch", (["x"], [], [], 1.5, {}), "variants_per_video must be a whole number"),
    ("/create_variant_batch", (["x"], [], [], "2", {}), "variants_per_video must be a whole number"),
    ("/create_variant_batch", (["x"], [], [], 0, {}), "variants_per_video must be at least 1"),
    ("/media_file", ("no-such-id",), "no library item with id no-such-id"),
    ("/list_media", ("bogus",), "kind must be one of video, audio, image"),
    ("/costs", ("abc",), "days must be a whole number"),
    ("/costs", (-3,), "days must be at least 1"),
    ("/add_hooks", (None,), "text must not be empty"),
    ("/list_jobs", ("", -1), "limit must be at least 1"),
    ("/list_jobs", ("weird", 5), "status must be one of"),
    ("/estimate_lora_training", (-5,), "steps must be at least 10"),
    ("/job_status", ("nope",), "no job with id nope"),
    ("/batch_status", ("nope",), "no variant batch with id nope"),
])
def test_bad_input_is_a_readable_error(client, endpoint, args, expected):
    with pytest.raises(Exception) as caught:
        client.predict(*args, api_name=endpoint)
    message = str(caught.value)
    assert expected in message and OPAQUE not in message
    assert "/tmp/" not in message and "/root/" not in message


def test_list_loras_rows_have_id(client, tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    path = tmp_path / "tiny.safetensors"
    save_file({"lora_unet_x.lora_down.weight": np.zeros((4, 8), np.float32),
               "lora_unet_x.lora_up.weight": np.zeros((8, 4), np.float32)}, str(path))
    from jobs import lora_api

    lora_api.import_lora(str(path), "tiny")
    rows = client.predict(api_name="/list_loras")
    assert rows and all(row["id"] == row["lora_id"] for row in rows)


def test_display_names_are_capped():
    from media.errors import InvalidInput
    from media.validate import NAME_MAX_CHARS, display_name

    assert display_name("  ok  ") == "ok"
    with pytest.raises(InvalidInput, match=f"the most is {NAME_MAX_CHARS}"):
        display_name("x" * (NAME_MAX_CHARS + 1))


def test_what_a_creator_can_fix_derives_from_the_one_base(fresh_data_dir):
    """LoRA, character and daily-limit checks raise StudioError subclasses, so the tabs catch the base
    (studio.common.user_errors maps it) instead of ad-hoc tuples of builtins."""
    from jobs import character_tasks, lora_api
    from media import costs
    from media.characters import catalog as characters
    from media.errors import InvalidInput, NotFound, StudioError
    from media.lora_dataset import validate_trigger_word
    from studio import settings_tab

    cases = [
        (lambda: lora_api.build_lora_dataset([], "ohwx"), InvalidInput, "no images given"),
        (lambda: lora_api.build_lora_dataset(["nope"], "ohwx"), NotFound, "no library image or character"),
        (lambda: validate_trigger_word(""), InvalidInput, "trigger word is empty"),
        (lambda: character_tasks.create_character("nope", "Ana", "local", ""), NotFound, "library image"),
        (lambda: characters.clean_name(""), InvalidInput, "give the character a name"),
        (lambda: costs.set_daily_limit(-1), InvalidInput, "daily limit must be a whole number"),
        (lambda: settings_tab.parse_dollars("five"), InvalidInput, "not an amount in dollars"),
    ]
    for call, kind, text in cases:
        with pytest.raises(StudioError, match=text) as caught:
            call()
        assert isinstance(caught.value, kind), (text, type(caught.value))
