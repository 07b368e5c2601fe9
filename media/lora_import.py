"""Inspect a LoRA weights file without running anything in it: only ``.safetensors`` is accepted.

The header is read with the ``safetensors`` library (``safe_open``: JSON header + byte ranges, checked to
cover the file exactly, so truncated or padded files are refused); no tensor data is loaded and nothing
is unpickled. ``.ckpt``/``.pt``/``.pth``/``.bin``/``.pkl`` files, and files whose bytes are a pickle or a
PyTorch ZIP whatever their name, are refused because loading a pickle can run arbitrary code.

A LoRA has paired low-rank matrices: PEFT/diffusers name them ``lora_A``/``lora_B`` (A is ``rank x in``),
kohya/A1111 ``lora_down``/``lora_up`` (down is ``rank x in [x 1 x 1]``). The rank is the first dimension
of the A/down matrices.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import SafetensorError, safe_open

from media.errors import StudioError

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
_DOWN_MARKERS = ("lora_A", "lora_down", "lora.down")
_UP_MARKERS = ("lora_B", "lora_up", "lora.up")
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own header limit


class LoraFileError(StudioError, ValueError):
    """A file that is not an acceptable LoRA; the message names the file and why."""


@dataclass
class LoraFileInfo:
    """Facts read from a LoRA file's header. ``rank``: the most common rank; ``ranks``: every rank seen."""

    tensor_count: int
    rank: int
    ranks: list[int]
    size_bytes: int
    naming: str  # "peft" (lora_A/lora_B) | "kohya" (lora_down/lora_up)
    dtypes: list[str]
    metadata: dict[str, str] = field(default_factory=dict)
    sample_keys: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain dict for ``lora_models.info`` and the API."""
        return {"tensor_count": self.tensor_count, "rank": self.rank, "ranks": self.ranks,
                "size_bytes": self.size_bytes, "naming": self.naming, "dtypes": self.dtypes,
                "metadata": self.metadata, "sample_keys": self.sample_keys}


def _refuse_pickles(path: Path, label: str) -> None:
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise LoraFileError(f"{label}: {suffix} files are Python pickles, which can run arbitrary code when "
                            "loaded; convert the LoRA to .safetensors and import that")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        raise LoraFileError(f"{label}: the file is a PyTorch/pickle archive (whatever its name); pickles can "
                            "run arbitrary code, so only .safetensors is accepted")
    if len(head) < 8:
        raise LoraFileError(f"{label}: too short to be a .safetensors file ({len(head)} bytes)")
    (header_len,) = struct.unpack("<Q", head)
    if header_len > MAX_HEADER_BYTES or 8 + header_len > path.stat().st_size:
        raise LoraFileError(f"{label}: not a valid .safetensors file (header length {header_len} does not fit "
                            "the file: corrupt, truncated or another format)")


def inspect_lora_file(path: Path, name: str | None = None) -> LoraFileInfo:
    """Read ``path``'s safetensors header and check it holds a LoRA; raises :class:`LoraFileError`."""
    path = Path(path)
    label = name or path.name
    if not path.is_file():
        raise LoraFileError(f"{label}: file not found")
    _refuse_pickles(path, label)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            keys = list(handle.keys())
            metadata = dict(handle.metadata() or {})
            shapes = {key: handle.get_slice(key).get_shape() for key in keys}
            dtypes = sorted({str(handle.get_slice(key).get_dtype()) for key in keys})
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as exc:
        raise LoraFileError(f"{label}: corrupt or truncated .safetensors file ({exc})") from exc
    downs = [k for k in keys if any(m in k for m in _DOWN_MARKERS)]
    ups = [k for k in keys if any(m in k for m in _UP_MARKERS)]
    if not downs or not ups:
        raise LoraFileError(f"{label}: {len(keys)} tensors but none named like a LoRA (lora_A/lora_B or "
                            "lora_down/lora_up); is it a full model checkpoint?")
    ranks = Counter(int(shapes[k][0]) for k in downs if shapes[k])
    naming = "peft" if any("lora_A" in k for k in downs) else "kohya"
    return LoraFileInfo(tensor_count=len(keys), rank=ranks.most_common(1)[0][0], ranks=sorted(ranks),
                        size_bytes=path.stat().st_size, naming=naming, dtypes=dtypes,
                        metadata={k: str(v)[:500] for k, v in list(metadata.items())[:50]},
                        sample_keys=sorted(keys)[:5])
