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
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if n >= 2 and head[8:9] == b"{":  # a safetensors file (pickles start 0x80, zips PK)
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


# safetensors dtype -> (torch dtype name, bytes per element)
DTYPES = {
    "BOOL": ("bool", 1),
    "U8": ("uint8", 1),
    "I8": ("int8", 1),
    "F8_E5M2": ("float8_e5m2", 1),
    "F8_E4M3": ("float8_e4m3fn", 1),
    "I16": ("int16", 2),
    "U16": ("uint16", 2),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "I32": ("int32", 4),
    "U32": ("uint32", 4),
    "F32": ("float32", 4),
    "I64": ("int64", 8),
    "U64": ("uint64", 8),
    "F64": ("float64", 8),
}
_TENSOR_KEYS = {"dtype", "shape", "data_offsets"}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def _check_header(raw: bytes, data_size: int) -> dict[str, Any]:
    """The parsed header once every rule of the format holds, else ``ValueError`` saying
    which: tensors laid end to end from byte 0 to the end of the file, no overlap, no
    gap, each exactly ``prod(shape) * itemsize`` bytes of a known dtype; string metadata."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"header is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValueError("header JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"header is not JSON ({exc.msg} at byte {exc.pos})") from None
    if not isinstance(header, dict):
        raise ValueError(f"header is a JSON {type(header).__name__}, not an object")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ must map strings to strings")
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or set(entry) != _TENSOR_KEYS:
            raise ValueError(f"tensor {name!r} must have exactly the keys dtype, shape, data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise ValueError(f"tensor {name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2**63 for d in shape):
            raise ValueError(f"tensor {name!r} has shape {shape!r}: dimensions must be integers >= 0")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(o) is int and 0 <= o <= data_size for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise ValueError(f"tensor {name!r} has data_offsets {offsets!r} outside 0..{data_size}")
        numel = 1
        for d in shape:
            numel *= d
        nbytes = numel * DTYPES[dtype][1]
        if offsets[1] - offsets[0] != nbytes:
            raise ValueError(
                f"tensor {name!r} ({dtype} {shape}) needs {nbytes} bytes, "
                f"its data_offsets span {offsets[1] - offsets[0]}"
            )
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for start, stop, name in sorted(spans):
        if start != end:
            what = "overlaps the previous tensor" if start < end else f"leaves a gap of {start - end} bytes"
            raise ValueError(f"tensor {name!r} at {start}..{stop} {what}")
        end = stop
    if end != data_size:
        raise ValueError(
            f"the tensors end at data byte {end}, the file's data section has {data_size} "
            "(truncated, or trailing bytes)"
        )
    return header


def check_buffer(buffer, label: str) -> tuple[int, dict[str, Any]]:
    """(offset of the data section, header) of a safetensors file held in ``buffer``
    (bytes or an mmap); :class:`ZooFormatError` naming ``label`` and the problem."""
    size = len(buffer)
    try:
        if size < 8:
            raise ValueError(f"the file has {size} bytes, fewer than the 8-byte header length")
        (n,) = struct.unpack_from("<Q", buffer, 0)
        if n > min(MAX_HEADER, size - 8):
            raise ValueError(f"header length {n} runs past the end of the file ({size} bytes)")
        header = _check_header(bytes(buffer[8 : 8 + n]), size - 8 - n)
    except ValueError as exc:
        raise ZooFormatError(
            f"{label}: malformed safetensors file: {exc}",
            hint="the file is damaged or was not written by a safetensors writer; "
            "fetch it again, and if it persists tell the publisher",
        ) from None
    return 8 + n, header


def validate_safetensors(path: Path, label: str | None = None) -> dict[str, Any]:
    """Check the whole header of the safetensors file ``path`` (see :func:`check_buffer`);
    reads the header only."""
    import mmap

    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return check_buffer(b"", label or path.name)[1]
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return check_buffer(mm, label or path.name)[1]


def tensors_from_buffer(buffer, data_start: int, header: dict[str, Any]) -> dict[str, Any]:
    """Tensors viewing ``buffer`` (a checked safetensors file, e.g. a private mmap) without
    copying; a tensor whose bytes are not aligned to its element size gets its own copy."""
    import torch

    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype_name, itemsize = DTYPES[entry["dtype"]]
        dtype = getattr(torch, dtype_name, None)
        if dtype is None:
            raise ZooFormatError(
                f"tensor {name!r}: dtype {entry['dtype']} needs a newer torch",
                hint="upgrade torch, or convert the checkpoint to a common dtype",
            )
        start, stop = (data_start + o for o in entry["data_offsets"])
        if start == stop:
            out[name] = torch.empty(entry["shape"], dtype=dtype)
        elif start % itemsize:
            out[name] = torch.frombuffer(bytearray(buffer[start:stop]), dtype=dtype).reshape(entry["shape"])
        else:
            count = (stop - start) // itemsize
            out[name] = torch.frombuffer(buffer, dtype=dtype, count=count, offset=start).reshape(entry["shape"])
    return out


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
    except Exception as exc:  # noqa: BLE001 - corrupt zip, truncated stream, ...: never a partial load
        raise ZooFormatError(
            f"{path.name}: cannot be read as a torch checkpoint ({type(exc).__name__}: {exc})",
            hint="fetch the checkpoint again; if it persists the file is broken",
        ) from None
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
        raise ZooFormatError(
            f"{path.name}: holds no state dict (found {type(obj).__name__})",
            hint=f"the checkpoint must be a dict of tensors, or wrap one under one of: {', '.join(_CONTAINER_KEYS)}",
        )
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    dropped = sorted(str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor))
    return tensors, dropped


def write_safetensors(tensors: dict[str, Any], destination: Path, metadata: dict[str, str]) -> None:
    """Save ``tensors`` to ``destination`` (the caller renames it into place), byte for
    byte the same for the same tensors and metadata (see :func:`safetensors_bytes`)."""
    seen: set[int] = set()
    ready = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        # Tied weights share storage: give each its own.
        if not tensor.is_contiguous():
            tensor = tensor.contiguous()  # a fresh storage of its own
        elif tensor.untyped_storage().data_ptr() in seen:
            tensor = tensor.clone()
        if ptr := tensor.untyped_storage().data_ptr():  # 0: empty tensor, nothing shared
            seen.add(ptr)
        ready[name] = tensor
    with open(destination, "wb") as f:
        for chunk in safetensors_chunks(ready, metadata):
            f.write(chunk)


_TORCH_TO_ST = {torch_name: st for st, (torch_name, _) in DTYPES.items()}


def safetensors_chunks(tensors: dict[str, Any], metadata: dict[str, str] | None = None):
    """The bytes of a safetensors file of CPU ``tensors``, deterministically: tensors in
    name order, the header JSON with sorted keys (``safetensors.torch.save_file`` writes
    the metadata in hash-map order, so the same tensors gave files of different sha256)."""
    import torch

    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    views = []
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        dtype = _TORCH_TO_ST.get(str(t.dtype).removeprefix("torch."))
        if dtype is None:
            raise ZooFormatError(
                f"tensor {name!r}: dtype {t.dtype} has no safetensors equivalent",
                hint="cast it to a common dtype (float32, bfloat16, int64 ...) first",
            )
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
        if nbytes:
            views.append(t.reshape(-1).view(torch.uint8).numpy())
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned, as the library does
    yield struct.pack("<Q", len(text)) + text
    for view in views:
        yield memoryview(view)


def load_safetensors(path: Path, device: str = "cpu") -> dict[str, Any]:
    """The state dict of a safetensors file, memory-mapped; tensors go straight to
    ``device``."""
    from safetensors.torch import load_file

    validate_safetensors(path)
    try:
        return load_file(str(path), device=str(device))
    except Exception as exc:  # noqa: BLE001 - SafetensorError and friends: whatever our checks missed
        raise ZooFormatError(
            f"{path.name}: safetensors could not load it ({type(exc).__name__}: {exc})",
            hint="the file is damaged; fetch it again",
        ) from None
