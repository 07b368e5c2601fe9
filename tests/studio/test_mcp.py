"""launch.py --mcp (issue 14): an MCP client (the ``mcp`` package) lists the studio's tools, fills the
library and makes and follows a batch on a launched studio; with a password, MCP needs it too."""

from __future__ import annotations

import ast
import asyncio
import time

import httpx
import pytest

pytest.importorskip("mcp")
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

import launch
from jobs.queue import huey
from media import library
from studio.common import launch_blocks
from studio.mcp_auth import basic_header
from tests.serving import free_port


def _launch(argv: list[str]):
    from media.settings import get_settings
    from studio.app import build_app

    args = launch.parse_args(argv + ["--port", str(free_port())])
    auth = launch.resolve_auth(args)
    options = launch.launch_options(args, auth, str(get_settings().media_dir), 64)
    demo = build_app()
    launch_blocks(demo.queue(), prevent_thread_lock=True, quiet=True, **options)
    return demo, f"http://127.0.0.1:{args.port}/gradio_api/mcp/"


def _data(result) -> object:
    assert not result.isError, result.content
    text = result.content[0].text  # Gradio's MCP server sends the value's Python text form
    return ast.literal_eval(text)


async def _session_run(url: str, headers: dict | None, body):
    async with streamablehttp_client(url, headers=headers) as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


@pytest.fixture
def inline_queue():
    huey.immediate = True
    yield
    huey.immediate = False


def test_mcp_client_lists_tools_and_follows_a_batch(fresh_data_dir, samples, inline_queue):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video")
    demo, url = _launch(["--mcp"])

    async def body(session: ClientSession):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {"list_media", "create_variant_batch", "batch_status", "create_batch_from_csv"} <= set(tools)
        assert "Library items" in tools["list_media"].description  # from the docstring
        media = _data(await session.call_tool("list_media", {"kind": "video", "collection": ""}))
        assert [m["id"] for m in media] == [video.id]
        created = _data(await session.call_tool("create_variant_batch", {
            "video_ids": [video.id], "audio_ids": [], "hook_ids": [], "variants_per_video": 1,
            "options": {"hook_duration_s": 0.5}, "webhook_url": ""}))
        deadline = time.monotonic() + 120
        while True:
            status = _data(await session.call_tool("batch_status", {"batch_id": created["batch_id"]}))
            if status["status"] in ("completed", "failed", "completed_with_errors") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        return created, status

    try:
        created, status = asyncio.run(_session_run(url, None, body))
    finally:
        demo.close()
    assert created["total"] == 1
    assert (status["status"], status["done"]) == ("completed", 1)


def test_mcp_needs_the_password_when_the_studio_has_one(fresh_data_dir):
    demo, url = _launch(["--mcp", "--auth", "ana:secret"])
    try:
        assert httpx.post(url, json={}).status_code == 401
        assert httpx.post(url, json={}, headers={"Authorization": basic_header("ana", "wrong")}).status_code == 401

        async def body(session: ClientSession):
            return [t.name for t in (await session.list_tools()).tools]

        names = asyncio.run(_session_run(url, {"Authorization": basic_header("ana", "secret")}, body))
        assert "list_media" in names
    finally:
        demo.close()


def test_mcp_on_an_exposed_host_is_refused_without_a_password():
    with pytest.raises(SystemExit, match="Refusing to start"):
        launch.resolve_auth(launch.parse_args(["--mcp", "--host", "0.0.0.0"]))
    assert launch.launch_options(launch.parse_args(["--mcp"]), None, "/tmp", 1)["mcp_server"] is True
    assert "mcp_server" not in launch.launch_options(launch.parse_args([]), None, "/tmp", 1)
