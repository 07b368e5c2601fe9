"""jobs/fal.py with the real fal-client against the loopback fake of fal's queue and storage."""

from __future__ import annotations

import fal_client.client as fal_wire
import pytest

from jobs import fal
from media.settings import reset_settings
from tests.fakes.fal_server import FakeFal

ENDPOINT = "fal-ai/some-app/sub/path"


def _updates_collector():
    seen: list[fal.QueueUpdate] = []
    return seen, seen.append


def test_hosts_point_at_base_url_and_back(fal_fake: FakeFal) -> None:
    fal.get_client()
    assert fal_wire.QUEUE_URL_FORMAT == fal_fake.base_url + "/"
    assert fal_wire.RUN_URL_FORMAT == fal_fake.base_url + "/"
    assert fal_wire.REST_URL == fal_fake.base_url
    assert fal_wire.CDN_URL == fal_fake.base_url
    fal.configure_hosts("")
    assert fal_wire.QUEUE_URL_FORMAT.startswith("https://queue.")
    assert fal_wire.CDN_URL == "https://v3.fal.media"


def test_missing_key_is_named(monkeypatch, fal_fake: FakeFal) -> None:
    monkeypatch.setenv("FAL_KEY", "")
    reset_settings()
    with pytest.raises(fal.FalError, match="FAL_KEY is not set"):
        fal.get_client()


def test_upload_submit_follow_result_download(tmp_path, fal_fake: FakeFal) -> None:
    src = tmp_path / "face.png"
    src.write_bytes(b"\x89PNG fake bytes for upload")
    produced = fal_fake.add_file("out.bin", b"result-bytes" * 1000)
    fal_fake.script(ENDPOINT, queue_polls=2, progress_polls=3, result={"video": {"url": produced}})
    client = fal.get_client()

    url = fal.upload_file(client, src)
    assert fal_fake.file_at(url).data == src.read_bytes()
    assert fal_fake.file_at(url).via == "cdn"
    handle = fal.submit(client, ENDPOINT, {"image_url": url, "n": 3})
    seen, collect = _updates_collector()
    result = fal.follow(handle, collect, endpoint=ENDPOINT)

    sub = fal_fake.submissions[handle.request_id]
    assert sub.endpoint == ENDPOINT and sub.arguments == {"image_url": url, "n": 3}
    assert sub.headers["Authorization"] == f"Key {fal_fake.key}"
    assert [u.status for u in seen] == ["IN_QUEUE", "IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS",
                                        "IN_PROGRESS", "COMPLETED"]
    assert [u.position for u in seen[:2]] == [1, 0]
    assert seen[2].new_logs == ["step 1/3"] and seen[3].new_logs == ["step 2/3"]
    assert seen[4].fraction == pytest.approx(1.0)
    assert seen[3].fraction == pytest.approx(2 / 3)
    dest = tmp_path / "got" / "out.bin"
    fal.download(fal.result_url(result, "video"), dest)
    assert dest.read_bytes() == b"result-bytes" * 1000
    assert [p.name for p in dest.parent.iterdir()] == ["out.bin"]


def test_upload_falls_back_to_storage_initiate_put(tmp_path, fal_fake: FakeFal) -> None:
    fal_fake.reject_cdn_uploads = True
    src = tmp_path / "data.zip"
    src.write_bytes(b"PK zip-ish")
    url = fal.upload_file(fal.get_client(), src)
    assert fal_fake.file_at(url).via == "gcs" and fal_fake.file_at(url).data == b"PK zip-ish"
    assert "initiate" in fal_fake.kinds() and "put" in fal_fake.kinds()


def test_bad_key_401_is_clear(tmp_path, monkeypatch, fal_fake: FakeFal) -> None:
    monkeypatch.setenv("FAL_KEY", "wrong-key")
    reset_settings()
    client = fal.get_client()
    with pytest.raises(fal.FalError, match=r"rejected the API key.*HTTP 401.*check FAL_KEY"):
        fal.submit(client, ENDPOINT, {})
    src = tmp_path / "a.txt"
    src.write_text("x")
    with pytest.raises(fal.FalError, match="HTTP 401"):
        fal.upload_file(client, src)


def test_429_is_retried_by_fal_client(fal_fake: FakeFal) -> None:
    fal_fake.fail("submit", 429, times=2, detail="Too many requests")
    fal_fake.script(ENDPOINT, queue_polls=0, progress_polls=0, result={"ok": True})
    handle = fal.submit(fal.get_client(), ENDPOINT, {"a": 1})
    assert fal_fake.kinds().count("submit") == 3
    assert fal.follow(handle, lambda u: None) == {"ok": True}


def test_402_and_500_messages(fal_fake: FakeFal) -> None:
    fal_fake.fail("submit", 402, detail="Insufficient balance")
    with pytest.raises(fal.FalError, match=r"payment required.*Insufficient balance"):
        fal.submit(fal.get_client(), ENDPOINT, {})
    fal_fake.script(ENDPOINT, queue_polls=0, progress_polls=0, result={"ok": True})
    handle = fal.submit(fal.get_client(), ENDPOINT, {})
    fal_fake.fail("result", 500, detail="boom")
    with pytest.raises(fal.FalError, match=r"server error.*HTTP 500: boom"):
        fal.follow(handle, lambda u: None)


def test_completed_with_error_carries_provider_message(fal_fake: FakeFal) -> None:
    fal_fake.script(ENDPOINT, error="CUDA out of memory", error_type="runner_error")
    handle = fal.submit(fal.get_client(), ENDPOINT, {})
    with pytest.raises(fal.FalError, match=r"failed on fal \(runner_error\): CUDA out of memory"):
        fal.follow(handle, lambda u: None, endpoint=ENDPOINT)
    assert "result" not in fal_fake.kinds()


def test_malformed_result_is_named() -> None:
    with pytest.raises(fal.FalError, match=r"malformed result: no video.url \(got \['images'\]\)"):
        fal.result_url({"images": []}, "video", "swap")
    with pytest.raises(fal.FalError, match="malformed"):
        fal.result_url({"video": {"url": 42}}, "video")


def test_hang_times_out_and_cancels(fal_fake: FakeFal) -> None:
    fal_fake.script(ENDPOINT, hang=True)
    handle = fal.submit(fal.get_client(), ENDPOINT, {})
    with pytest.raises(fal.FalTimeout, match="did not finish within 0.2 s; it was canceled"):
        fal.follow(handle, lambda u: None, timeout_s=0.2, endpoint=ENDPOINT)
    assert fal_fake.submissions[handle.request_id].canceled


def test_callback_error_cancels_on_fal_and_propagates(fal_fake: FakeFal) -> None:
    fal_fake.script(ENDPOINT, queue_polls=1, progress_polls=5)
    handle = fal.submit(fal.get_client(), ENDPOINT, {})

    class Stop(Exception):
        pass

    def on_update(update: fal.QueueUpdate) -> None:
        if update.status == "IN_PROGRESS":
            raise Stop

    with pytest.raises(Stop):
        fal.follow(handle, on_update)
    assert fal_fake.submissions[handle.request_id].canceled
    assert fal_fake.kinds()[-1] == "cancel"


def test_attach_by_request_id(fal_fake: FakeFal) -> None:
    fal_fake.script(ENDPOINT, queue_polls=0, progress_polls=1, result={"n": 7})
    client = fal.get_client()
    rid = fal.submit(client, ENDPOINT, {}).request_id
    again = fal.attach(fal.get_client(), ENDPOINT, rid)
    assert fal.follow(again, lambda u: None) == {"n": 7}


def test_download_error_leaves_no_file(tmp_path, fal_fake: FakeFal) -> None:
    url = fal_fake.add_file("w.bin", b"abc")
    fal_fake.fail("download", 503, detail="gone")
    with pytest.raises(fal.FalError, match="HTTP 503"):
        fal.download(url, tmp_path / "w.bin")
    assert list(tmp_path.iterdir()) == []


def test_price_table_estimate() -> None:
    assert fal.estimate_cost_cents("fal-ai/wan-22-image-trainer", 1000) == 450
    assert fal.estimate_cost_cents("fal-ai/wan-22-image-trainer", 50) == 45  # 100-step minimum
    assert fal.estimate_cost_cents("fal-ai/wan-22-image-trainer", 333) == 150  # 149.85 rounded up
    assert fal.estimate_cost_cents("unknown/app", 10) is None


def test_parse_fraction() -> None:
    assert fal.parse_fraction(["loading", "Training step 250/1000, loss 0.1"]) == 0.25
    assert fal.parse_fraction(["nothing here"]) is None


def test_status_5xx_is_retried_then_reported(fal_fake: FakeFal) -> None:
    fal_fake.script(ENDPOINT, queue_polls=0, progress_polls=1, result={"ok": 1})
    handle = fal.submit(fal.get_client(), ENDPOINT, {})
    fal_fake.fail("status", 500, times=2, detail="hiccup")
    assert fal.follow(handle, lambda u: None) == {"ok": 1}

    handle = fal.submit(fal.get_client(), ENDPOINT, {})
    fal_fake.fail("status", 503, times=5, detail="down for maintenance")
    with pytest.raises(fal.FalError, match=r"server error while checking the status.*HTTP 503"):
        fal.follow(handle, lambda u: None)


def test_stalled_download_times_out(tmp_path, monkeypatch, fal_fake: FakeFal) -> None:
    url = fal_fake.add_file("slow.bin", b"abc")
    fal_fake.stall("download", 10)
    monkeypatch.setenv("NOVAI_FAL_HTTP_TIMEOUT_S", "0.3")
    reset_settings()
    with pytest.raises(fal.FalTimeout, match="did not answer in time while downloading slow.bin"):
        fal.download(url, tmp_path / "slow.bin")
    assert list(tmp_path.iterdir()) == []
