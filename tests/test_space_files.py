"""The repo runs as a Hugging Face Gradio Space: README front matter and requirements.txt."""

from __future__ import annotations

import re
from pathlib import Path

import gradio
import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md must start with the Space's YAML front matter between --- lines"
    return yaml.safe_load(match.group(1))


def test_readme_front_matter_describes_a_gradio_space():
    meta = _front_matter()
    assert meta["sdk"] == "gradio"
    assert meta["app_file"] == "launch.py" and (ROOT / meta["app_file"]).is_file()
    assert meta["python_version"] == "3.11"  # a string: YAML would read 3.10 as the float 3.1
    assert meta["sdk_version"] == gradio.__version__, "sdk_version must match the installed gradio"


def test_requirements_txt_matches_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    requirements = [line for line in lines if line and not line.startswith("#")]
    assert sorted(requirements) == sorted(project["dependencies"]), (
        "requirements.txt (what the Space installs) must list pyproject.toml's [project] dependencies")


def test_packages_txt_lists_what_a_non_headless_opencv_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    opencv = [d for d in project["dependencies"] if d.startswith("opencv-") and "headless" not in d]
    if not opencv:
        pytest.skip("no non-headless OpenCV wheel among the dependencies")
    packages = (ROOT / "packages.txt").read_text(encoding="utf-8").split()
    assert "libgl1" in packages and "libglib2.0-0" in packages, f"{opencv[0]} loads libGL.so.1 and libglib"
