"""launch.py: no public or LAN exposure without a password; files served from the media folder only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import launch
from studio.common import launch_blocks
from tests.serving import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("NOVAI_AUTH", "NOVAI_NO_AUTH", "NOVAI_HOST", "NOVAI_PORT", "GRADIO_SERVER_NAME",
                 "GRADIO_SERVER_PORT", "SPACE_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("argv", [["--share"], ["--host", "0.0.0.0"], ["--host", "::"],
                                  ["--host", "192.168.1.20"], ["--host", "studio.local"]])
def test_exposed_without_auth_is_refused(argv):
    with pytest.raises(SystemExit) as caught:
        launch.resolve_auth(launch.parse_args(argv))
    message = str(caught.value)
    assert message.startswith("Refusing to start")
    assert "NOVAI_AUTH=user:password" in message and "--no-auth" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_auth(host):
    assert launch.resolve_auth(launch.parse_args(["--host", host])) is None


def test_auth_from_environment_or_flag(monkeypatch):
    monkeypatch.setenv("NOVAI_AUTH", "ana:pa:ss")
    assert launch.resolve_auth(launch.parse_args(["--share"])) == ("ana", "pa:ss")
    assert launch.resolve_auth(launch.parse_args(["--host", "0.0.0.0", "--auth", "bo:pw"])) == ("bo", "pw")


@pytest.mark.parametrize("bad", ["ana", "ana:", ":secret"])
def test_malformed_auth_is_refused(bad):
    with pytest.raises(SystemExit, match="must look like user:password"):
        launch.resolve_auth(launch.parse_args(["--share", "--auth", bad]))


def test_no_auth_warns(capsys, monkeypatch):
    assert launch.resolve_auth(launch.parse_args(["--host", "0.0.0.0", "--no-auth"])) is None
    assert "WARNING" in capsys.readouterr().err
    monkeypatch.setenv("NOVAI_NO_AUTH", "1")
    assert launch.resolve_auth(launch.parse_args(["--share"])) is None
    assert "no password" in capsys.readouterr().err


def test_space_environment_listens_everywhere_and_so_needs_auth(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    args = launch.parse_args([])
    assert (args.host, args.port) == ("0.0.0.0", 7861)
    with pytest.raises(SystemExit, match="Refusing to start"):
        launch.resolve_auth(args)


def test_on_a_space_the_default_host_is_every_interface(monkeypatch):
    assert launch.parse_args([]).host == "127.0.0.1"
    monkeypatch.setenv("SPACE_ID", "novai/studio")
    assert launch.parse_args([]).host == "0.0.0.0"
    monkeypatch.setenv("NOVAI_AUTH", "ana:pw")
    assert launch.resolve_auth(launch.parse_args([])) == ("ana", "pw")


def test_launch_share_without_auth_exits_before_starting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NOVAI_AUTH", "NOVAI_NO_AUTH")}
    env["NOVAI_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run([sys.executable, "launch.py", "--share"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "Refusing to start" in proc.stderr
    assert not (tmp_path / "data").exists()  # nothing started, no data folder created


def test_launch_options_serve_the_media_folder_only():
    args = launch.parse_args(["--port", "7999"])
    options = launch.launch_options(args, ("a", "b"), "/srv/novai/media", 100)
    assert options["allowed_paths"] == ["/srv/novai/media"]
    assert options["auth"] == ("a", "b")
    assert options["max_file_size"] == "100mb"
    assert (options["server_name"], options["server_port"], options["share"]) == ("127.0.0.1", 7999, False)


def test_gradio_serves_media_files_behind_login_and_nothing_else(tmp_path):
    import gradio as gr

    media = tmp_path / "media"
    media.mkdir()
    (media / "clip.txt").write_text("in the library")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the media folder")
    args = launch.parse_args(["--port", str(free_port())])
    with gr.Blocks() as demo:
        gr.Markdown("hello")
    launch_blocks(demo, **launch.launch_options(args, ("ana", "pw"), str(media), 10), prevent_thread_lock=True,
                quiet=True)
    try:
        base = f"http://127.0.0.1:{args.port}"
        with httpx.Client(base_url=base, timeout=20) as client:
            assert client.get(f"/gradio_api/file={media / 'clip.txt'}").status_code in (401, 403)
            login = client.post("/login", data={"username": "ana", "password": "wrong"})
            assert login.status_code == 400
            login = client.post("/login", data={"username": "ana", "password": "pw"})
            assert login.status_code == 200, login.text
            inside = client.get(f"/gradio_api/file={media / 'clip.txt'}")
            assert inside.status_code == 200 and inside.text == "in the library"
            outside = client.get(f"/gradio_api/file={secret}")
            assert outside.status_code == 403
            assert "outside the media folder" not in outside.text
            escaped = client.get(f"/gradio_api/file={media}/../secret.txt")
            assert escaped.status_code in (403, 404)
            assert "outside the media folder" not in escaped.text
    finally:
        demo.close()


def test_launch_is_tried_again_when_gradio_cannot_reach_its_own_url(monkeypatch):
    """Gradio's one 3 s self-check times out on a busy machine; the studio launches again."""
    import gradio as gr
    from gradio import networking

    real_url_ok, answers = networking.url_ok, []

    def first_check_times_out(url: str) -> bool:
        answers.append(url)
        return len(answers) > 1 and real_url_ok(url)

    monkeypatch.setattr(networking, "url_ok", first_check_times_out)
    with gr.Blocks() as demo:
        gr.Markdown("hello")
    port = free_port()
    launch_blocks(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        assert len(answers) == 2
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=20).status_code == 200
    finally:
        demo.close()
    monkeypatch.setattr(networking, "url_ok", lambda url: False)
    with gr.Blocks() as never:
        gr.Markdown("hello")
    with pytest.raises(ValueError, match="localhost is not accessible"):
        launch_blocks(never, attempts=2, server_name="127.0.0.1", server_port=free_port(),
                      prevent_thread_lock=True, quiet=True)
