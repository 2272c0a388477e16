"""Checkpoint formats: recognise them by their bytes, open safetensors memory-mapped,
and turn a pickle into safetensors exactly once, without ever running its code.

torch is imported inside the functions that need it, never at module import.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

from zoo.errors import ZooFormatError, ZooUnsafeCheckpointError
from zoo.weights._hashing import MAX_HEADER

SAFETENSORS = "safetensors"
PICKLE = "pickle"
EXTENSIONS = {SAFETENSORS: ".safetensors", PICKLE: ".pickle"}
_CONTAINER_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "params", "ema")


def sniff(path: Path, label: str | None = None) -> str:
    """``'safetensors'`` or ``'pickle'`` from the file's first bytes; anything else is
    refused (never handed to a loader that might guess)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n <= min(MAX_HEADER, size - 8) and head[8:9] == b"{":
            validate_safetensors(path, label)
            return SAFETENSORS
    if head[:4] == b"PK\x03\x04" and zipfile.is_zipfile(path):
        return PICKLE  # torch.save's zip format: data.pkl plus tensor storages
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return PICKLE  # legacy torch.save / plain pickle, protocol 2-5
    raise ZooFormatError(
        f"{label or path.name}: not a safetensors file nor a torch checkpoint (first bytes {head[:8].hex()})",
        hint="zoo opens safetensors, and torch pickles only with weights_only=True; "
             "check the record's source URL points at the checkpoint itself (not an HTML page)",
    )


def validate_safetensors(path: Path, label: str | None = None) -> dict[str, Any]:
    """Parse and check the header: every tensor's byte range lies inside the file and
    the data section ends exactly at the end of the file (catches truncation)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        raw = f.read(n)
    try:
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        end = 0
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            start, stop = entry["data_offsets"]
            if not (0 <= start <= stop):
                raise ValueError(f"tensor {name!r} has offsets {start}..{stop}")
            end = max(end, stop)
    except (ValueError, KeyError, TypeError) as exc:
        raise ZooFormatError(f"{label or path.name}: malformed safetensors header ({exc})",
                             hint="fetch the checkpoint again; if it persists the publisher's file is broken") from None
    if 8 + n + end != size:
        raise ZooFormatError(
            f"{label or path.name}: safetensors data should end at byte {8 + n + end}, the file has {size}",
            hint="the file is truncated or has trailing bytes; fetch it again")
    return header


def load_pickle_state_dict(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Open a torch pickle with ``weights_only=True`` ONLY, unwrap the usual containers
    (``{'state_dict': ...}``, ``{'model': ...}``) and return (tensors, dropped keys)."""
    import pickle

    import torch

    zip_format = zipfile.is_zipfile(path)
    try:
        # weights_only: the restricted unpickler refuses any global outside torch's
        # allow-list *before* calling it, so a payload's __reduce__ never runs.
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=zip_format)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ZooUnsafeCheckpointError(
            f"{path.name}: refused, the pickle references code or objects outside torch's "
            f"weights_only allow-list ({first[:300]}); nothing in it was executed",
            hint="do not load it with weights_only=False. If you trust the publisher, convert it "
                 "to safetensors in an isolated environment and add the result with "
                 "zoo.weights.add_file(PATH, expected_sha256=...)",
        ) from None
    except Exception as exc:  # corrupt zip, truncated stream, ...: never a partial load
        raise ZooFormatError(f"{path.name}: cannot be read as a torch checkpoint ({type(exc).__name__}: {exc})",
                             hint="fetch the checkpoint again; if it persists the file is broken") from None
    return _unwrap(obj, path)


def _unwrap(obj: Any, path: Path) -> tuple[dict[str, Any], list[str]]:
    import torch

    for _ in range(3):  # {'model': {'state_dict': {...}}} at most a few levels deep
        if not isinstance(obj, dict):
            break
        if any(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        inner = next((obj[k] for k in _CONTAINER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ZooFormatError(f"{path.name}: holds no state dict (found {type(obj).__name__})",
                             hint="the checkpoint must be a dict of tensors, or wrap one under "
                                  f"one of: {', '.join(_CONTAINER_KEYS)}")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    dropped = sorted(str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor))
    return tensors, dropped


def write_safetensors(tensors: dict[str, Any], destination: Path, metadata: dict[str, str]) -> None:
    """Save ``tensors`` to ``destination`` (the caller renames it into place)."""
    from safetensors.torch import save_file

    seen: set[int] = set()
    ready = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        # safetensors refuses tensors sharing storage (tied weights): give each its own.
        if not tensor.is_contiguous():
            tensor = tensor.contiguous()  # a fresh storage of its own
        elif tensor.untyped_storage().data_ptr() in seen:
            tensor = tensor.clone()
        if ptr := tensor.untyped_storage().data_ptr():  # 0: empty tensor, nothing shared
            seen.add(ptr)
        ready[name] = tensor
    save_file(ready, str(destination), metadata=metadata)


def load_safetensors(path: Path, device: str = "cpu") -> dict[str, Any]:
    """The state dict of a safetensors file, memory-mapped; tensors go straight to
    ``device``."""
    from safetensors.torch import load_file

    return load_file(str(path), device=str(device))
