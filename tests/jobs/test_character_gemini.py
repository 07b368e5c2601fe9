"""The gemini provider: the real google-genai client against a loopback fake of the REST API."""

from __future__ import annotations

import io
import time
from datetime import date

import numpy as np
import pytest
from fake_gemini import (
    FakeGemini,
    FakeGeminiServer,
    decode_b64,
    error_answer,
    image_answer,
    png_bytes,
    request_image_parts,
    safety_answer,
    text_answer,
)
from PIL import Image

from jobs.character_providers.base import CharacterRequest
from jobs.character_providers.gemini import (
    GeminiCharacterProvider,
    GeminiConfig,
    GeminiError,
    build_prompt,
    price_per_image_cents,
)


def _request(notes: str = "") -> CharacterRequest:
    photo = np.zeros((120, 90, 3), dtype=np.uint8)
    photo[:, :, 0] = 180
    return CharacterRequest(photo=photo, face=None, name="Ada", notes=notes, made_on=date(2026, 1, 2))


def _provider(server: FakeGeminiServer, api_key: str = "test-key", **overrides) -> GeminiCharacterProvider:
    fields = {"api_key": api_key, "base_url": server.base_url, "api_version": "v1beta", "timeout_s": 5.0,
              "attempts": 3, "initial_delay_s": 0.01, "jitter_s": 0.01, "price_cents": 7.0}
    fields.update(overrides)
    return GeminiCharacterProvider(GeminiConfig(**fields))


def _progress_log() -> tuple[list[tuple[float, str]], callable]:
    log: list[tuple[float, str]] = []
    return log, lambda pct, msg: log.append((pct, msg))


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_success_sends_photo_and_returns_image(version):
    sheet = png_bytes((160, 90), (10, 200, 30))
    fake = FakeGemini(script=[image_answer(sheet, text="A sheet of Ada.")])
    with FakeGeminiServer(fake) as server:
        log, progress = _progress_log()
        result = _provider(server, api_version=version).generate(_request("red jacket"), progress)
    assert result.image_bytes == sheet
    assert result.text == "A sheet of Ada."
    assert result.cost_cents == 7.0 and result.model == "gemini-3.1-flash-image"
    [recorded] = fake.requests
    assert recorded.version == version and recorded.model == "gemini-3.1-flash-image"
    assert recorded.api_key == "test-key"
    [inline] = request_image_parts(recorded.body)
    sent = Image.open(io.BytesIO(decode_b64(inline["data"])))
    assert sent.format == "JPEG" and sent.size == (90, 120)
    texts = [p["text"] for c in recorded.body["contents"] for p in c["parts"] if "text" in p]
    assert texts == [build_prompt("red jacket")] and "red jacket" in texts[0]
    generation = recorded.body["generationConfig"]
    assert generation["responseModalities"] == ["TEXT", "IMAGE"]
    assert generation["imageConfig"]["aspectRatio"] == "16:9"
    assert [pct for pct, _ in log] == [20, 85]


def test_text_only_answer_fails_with_the_model_text():
    fake = FakeGemini(script=[text_answer("I can't draw real people from photos.")])
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError) as info:
        _provider(server).generate(_request(), lambda *_: None)
    assert "no image" in str(info.value) and "I can't draw real people from photos." in str(info.value)
    assert len(fake.requests) == 1


def test_safety_finish_fails_with_the_finish_reason():
    fake = FakeGemini(script=[safety_answer()])
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError, match="finish reason SAFETY"):
        _provider(server).generate(_request(), lambda *_: None)


def test_blocked_prompt_fails_with_the_block_reason():
    fake = FakeGemini(script=[{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}])
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError, match="PROHIBITED_CONTENT"):
        _provider(server).generate(_request(), lambda *_: None)


@pytest.mark.parametrize("status", [401, 403, 400])
def test_bad_key_is_named_and_not_retried(status):
    fake = FakeGemini(script=[image_answer()], bad_key_status=status)
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError) as info:
        _provider(server, api_key="wrong").generate(_request(), lambda *_: None)
    assert "refused the API key" in str(info.value) and str(status) in str(info.value)
    assert len(fake.requests) == 1 and fake.requests[0].api_key == "wrong"


def test_missing_key_makes_no_call():
    fake = FakeGemini(script=[image_answer()])
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError, match="GOOGLE_API_KEY"):
        _provider(server, api_key="").generate(_request(), lambda *_: None)
    assert fake.requests == []


def test_429_is_retried_then_succeeds():
    fake = FakeGemini(script=[error_answer(429, "Resource has been exhausted (e.g. check quota)."),
                              error_answer(429, "Resource has been exhausted (e.g. check quota)."),
                              image_answer()])
    with FakeGeminiServer(fake) as server:
        result = _provider(server).generate(_request(), lambda *_: None)
    assert Image.open(io.BytesIO(result.image_bytes)).size == (96, 64)
    assert len(fake.requests) == 3


def test_429_every_time_fails_after_the_attempts():
    fake = FakeGemini(script=[error_answer(429, "Quota exceeded for metric generate_content")])
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError) as info:
        _provider(server, attempts=2).generate(_request(), lambda *_: None)
    assert "429" in str(info.value) and "Quota exceeded" in str(info.value)
    assert len(fake.requests) == 2


def test_500_is_retried_then_fails_with_the_server_message():
    fake = FakeGemini(script=[error_answer(500, "An internal error has occurred.")])
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError) as info:
        _provider(server).generate(_request(), lambda *_: None)
    assert "server error" in str(info.value) and "500 INTERNAL" in str(info.value)
    assert len(fake.requests) == 3


def test_slow_answer_past_the_timeout_fails_clearly():
    fake = FakeGemini(script=[("sleep", 10.0)])
    started = time.monotonic()
    with FakeGeminiServer(fake) as server, pytest.raises(GeminiError) as info:
        _provider(server, timeout_s=0.3, attempts=2).generate(_request(), lambda *_: None)
    assert "did not answer within 0.3 s" in str(info.value)
    assert len(fake.requests) == 2
    assert time.monotonic() - started < 5


def test_unreachable_server_is_named():
    server = FakeGeminiServer(FakeGemini(script=[image_answer()]))
    base = server.base_url
    server.server.server_close()  # nothing listens there any more
    provider = GeminiCharacterProvider(GeminiConfig(api_key="k", base_url=base, attempts=1, timeout_s=2))
    with pytest.raises(GeminiError, match="could not reach"):
        provider.generate(_request(), lambda *_: None)


def test_price_table_lookup():
    table = {"gemini-3.1-flash-image": 7.0, "other": 4.0}
    assert price_per_image_cents("other", table) == 4.0
    assert price_per_image_cents("unknown-model", table) == 7.0
    assert price_per_image_cents("x", {}) == 0.0
