"""Importing LoRA files: safetensors headers only, pickles refused, nothing stored on refusal."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from jobs.lora_api import delete_lora, import_lora, list_loras
from media.lora_import import LoraFileError, inspect_lora_file
from media.store import abs_path, media_root


def write_lora(path: Path, rank: int = 8, naming: str = "peft", blocks: int = 3) -> Path:
    """A small LoRA shaped like a real one (Wan/diffusers PEFT or kohya names), written with safetensors."""
    rng = np.random.default_rng(0)
    tensors = {}
    for block in range(blocks):
        for proj in ("q", "k", "v"):
            stem = f"diffusion_model.blocks.{block}.self_attn.{proj}"
            if naming == "peft":
                tensors[f"{stem}.lora_A.weight"] = rng.standard_normal((rank, 64)).astype(np.float16)
                tensors[f"{stem}.lora_B.weight"] = np.zeros((64, rank), np.float16)
            else:
                key = f"lora_unet_blocks_{block}_self_attn_{proj}"
                tensors[f"{key}.lora_down.weight"] = rng.standard_normal((rank, 64, 1, 1)).astype(np.float32)
                tensors[f"{key}.lora_up.weight"] = np.zeros((64, rank, 1, 1), np.float32)
                tensors[f"{key}.alpha"] = np.array(rank, np.float32)
    save_file(tensors, str(path), metadata={"ss_network_dim": str(rank), "ss_output_name": "tester",
                                            "ss_base_model_version": "wan22"})
    return path


def _stored_models() -> list[Path]:
    root = media_root() / "models"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_import_peft_lora(fresh_data_dir, tmp_path: Path) -> None:
    src = write_lora(tmp_path / "hero.safetensors", rank=8)
    result = import_lora(str(src), "Hero", "ohwx")

    assert result["rank"] == 8 and result["tensor_count"] == 18
    assert result["size_bytes"] == src.stat().st_size
    assert result["status"] == "ready" and result["source"] == "imported" and result["trigger_word"] == "ohwx"
    meta = result["info"]["import"]["metadata"]
    assert meta["ss_network_dim"] == "8" and meta["ss_output_name"] == "tester"
    assert result["info"]["import"]["naming"] == "peft" and result["info"]["import"]["dtypes"] == ["F16"]
    assert abs_path(result["weights_file"]).read_bytes() == src.read_bytes()
    assert [row["lora_id"] for row in list_loras()] == [result["lora_id"]]

    delete_lora(result["lora_id"])
    assert list_loras() == [] and _stored_models() == []


def test_import_kohya_lora_from_gradio_file_dict(fresh_data_dir, tmp_path: Path) -> None:
    src = write_lora(tmp_path / "upload_123.safetensors", rank=4, naming="kohya", blocks=2)
    result = import_lora({"path": str(src), "orig_name": "style.safetensors"}, "", "")
    assert result["name"] == "style" and result["rank"] == 4 and result["tensor_count"] == 18
    assert result["info"]["import"]["naming"] == "kohya"


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin"])
def test_pickle_is_refused(fresh_data_dir, tmp_path: Path, suffix: str) -> None:
    evil = tmp_path / f"model{suffix}"
    evil.write_bytes(pickle.dumps({"lora_A": [1, 2, 3]}))
    with pytest.raises(LoraFileError, match=r"pickles.*can run arbitrary code"):
        import_lora(str(evil), "Evil")
    assert list_loras() == [] and _stored_models() == []


def test_pickle_renamed_to_safetensors_is_refused(fresh_data_dir, tmp_path: Path) -> None:
    evil = tmp_path / "innocent.safetensors"
    evil.write_bytes(pickle.dumps(["x"] * 10, protocol=4))
    with pytest.raises(LoraFileError, match="pickle archive"):
        import_lora(str(evil), "Evil")
    assert list_loras() == [] and _stored_models() == []


def test_truncated_and_corrupt_files_are_refused(fresh_data_dir, tmp_path: Path) -> None:
    good = write_lora(tmp_path / "good.safetensors").read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good[:-100])
    with pytest.raises(LoraFileError, match="cut.safetensors: corrupt or truncated"):
        import_lora(str(cut), "Cut")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello world, not weights at all")
    with pytest.raises(LoraFileError, match="junk.safetensors: not a valid .safetensors"):
        import_lora(str(junk), "Junk")
    assert list_loras() == [] and _stored_models() == []


def test_full_model_without_lora_tensors_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "unet.safetensors"
    save_file({"blocks.0.attn.weight": np.zeros((8, 8), np.float32)}, str(path))
    with pytest.raises(LoraFileError, match="none named like a LoRA"):
        inspect_lora_file(path)
