"""Per-epoch checkpoints: ``epoch-NNNN.safetensors`` (model, optimizer tensors, RNG
states) and ``state.json`` (where the run is, the optimizer's and schedule's scalars,
the metrics so far). Both are written atomically (temp file, fsync, rename), the JSON
last: it is the commit mark, so a crash mid-write leaves the previous epoch's pair
intact. No pickle anywhere. The two newest epoch files are kept.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from zoo.errors import ZooValidationError

__all__ = ["Checkpointer"]

FORMAT = 1
KEEP = 2


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _tensors(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    out, seen = {}, set()
    for key, value in state.items():
        t = value.detach().to("cpu")
        # safetensors refuses shared storage (tied weights): store a copy.
        ptr = (t.untyped_storage().data_ptr(), t.storage_offset()) if t.numel() else None
        if ptr in seen:
            t = t.clone()
        elif ptr is not None:
            seen.add(ptr)
        out[prefix + key] = t.contiguous()
    return out


def split_optimizer(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer state dict as (tensors, JSON-ready rest)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"scalars": scalars, "param_groups": state["param_groups"]}


def join_optimizer(tensors: Mapping[str, torch.Tensor], rest: Mapping[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    for pid, values in rest["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    return {"state": state, "param_groups": rest["param_groups"]}


class Checkpointer:
    """Checkpoints of one run in ``directory``; ``run_key`` identifies the run, so that
    ``resume`` refuses a directory written by a different one."""

    def __init__(self, directory: str | os.PathLike[str], run_key: Mapping[str, Any]) -> None:
        self.directory = Path(directory).expanduser()
        self.run_key = json.loads(json.dumps(dict(run_key), sort_keys=True, default=str))

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    def save(
        self,
        *,
        epoch: int,
        phase: int,
        model: torch.nn.Module,
        optimizer: Any,
        scheduler: Any,
        history: list[dict[str, Any]],
        scaler: Any = None,
    ) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        tensors = _tensors(model.state_dict(), "model.")
        opt_tensors, opt_rest = split_optimizer(optimizer.state_dict())
        tensors.update(opt_tensors)
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda{i}"] = s
        name = f"epoch-{epoch:04d}.safetensors"
        tmp = self.directory / f".{name}.{os.getpid()}.tmp"
        save_file(tensors, str(tmp), metadata={"format": "pt", "zoo.epoch": str(epoch)})
        _replace(tmp, self.directory / name)
        sched = scheduler.state_dict()  # a schedule given by a function saves as lr_lambdas [None, ...]
        state = {
            "format": FORMAT,
            "run": self.run_key,
            "epoch": epoch,
            "phase": phase,
            "file": name,
            "optimizer": opt_rest,
            "scheduler": sched,
            "history": history,
            "scaler": scaler.state_dict() if scaler is not None else None,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp_json = self.directory / f".state.json.{os.getpid()}.tmp"
        with open(tmp_json, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, default=_json_default)
        _replace(tmp_json, self.state_path)
        for old in sorted(self.directory.glob("epoch-*.safetensors"))[:-KEEP]:
            old.unlink(missing_ok=True)
        return self.directory / name

    def load(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
        """``(state, tensors)`` of the last completed epoch, or ``None``."""
        if not self.state_path.exists():
            return None
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ZooValidationError(
                "checkpoint_dir",
                f"{self.state_path} is not readable: {exc}",
                hint="remove the directory to start afresh",
            ) from None
        if state.get("format") != FORMAT:
            raise ZooValidationError(
                "checkpoint_dir",
                f"{self.state_path} has checkpoint format {state.get('format')!r}, this zoo writes {FORMAT}",
                hint="use another checkpoint_dir, or remove this one",
            )
        if state.get("run") != self.run_key:
            theirs, ours = state.get("run") or {}, self.run_key
            diff = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            raise ZooValidationError(
                "resume",
                f"the checkpoint in {self.directory} belongs to another run (differs in: {', '.join(diff)})",
                hint="resume with the same recipe, hyper-parameters, seed and data, or use another checkpoint_dir",
            )
        path = self.directory / state["file"]
        if not path.exists():
            raise ZooValidationError(
                "checkpoint_dir",
                f"{path} is missing although state.json names it",
                hint="remove the directory to start afresh",
            )
        return state, load_file(str(path))


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def restore_rng(tensors: Mapping[str, torch.Tensor]) -> None:
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        states = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda"))]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)


def model_state(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
