"""The runner behind ``zoo.compress``: data, the method, measurements, registration, and
the rebuild of a registered result for ``zoo.get``."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.compression._rebuild import load_registered, method_runner
from zoo.compression.result import CompressResult
from zoo.compression.runner import CompressContext, Compressed
from zoo.errors import ZooCompressError, ZooError, ZooValidationError

__all__ = ["load_registered", "run"]  # load_registered: see zoo.compression._rebuild

_MB = 1024 * 1024


# -- data ----------------------------------------------------------------------------------


class _Data:
    """Inputs in batches (tensors, or the tokenizer's mappings), labels when given."""

    def __init__(self, batches: list[Any], labels: torch.Tensor | None, count: int) -> None:
        self.batches, self.labels, self.count = batches, labels, count

    def inputs(self) -> Any:
        """All inputs as one batch (vision) — for training methods."""
        return torch.cat(self.batches) if isinstance(self.batches[0], torch.Tensor) else self.batches


def _is_text(seq: Any) -> bool:
    return isinstance(seq, (list, tuple)) and bool(seq) and all(isinstance(s, str) for s in seq)


def _as_data(data: Any, argument: str, tokenizer: Any, batch_size: int = 32) -> _Data | None:
    if data is None:
        return None
    labels = None
    if isinstance(data, tuple) and len(data) == 2 and not _is_text(data):
        data, labels = data
        labels = torch.as_tensor(labels)
    if isinstance(data, Mapping) and data and all(isinstance(v, torch.Tensor) for v in data.values()):
        # already tokenized: {"input_ids": [N, T], "attention_mask": [N, T], ...}
        count = int(next(iter(data.values())).shape[0])
        batches = [{k: v[i : i + batch_size] for k, v in data.items()} for i in range(0, count, batch_size)]
    elif _is_text(data):
        if tokenizer is None:
            raise ZooValidationError(
                argument,
                "is a list of sentences, but the model has no tokenizer",
                hint="give image tensors for a vision model",
            )
        sentences = list(data)
        batches = [
            tokenizer(sentences[i : i + batch_size], padding=True, truncation=True, return_tensors="pt")
            for i in range(0, len(sentences), batch_size)
        ]
        batches = [dict(b) for b in batches]
        count = len(sentences)
    else:
        if not isinstance(data, torch.Tensor):
            xs, ys = [], []
            try:
                for item in data:
                    x, y = item if isinstance(item, (tuple, list)) and len(item) == 2 else (item, None)
                    xs.append(torch.as_tensor(x))
                    if y is not None:
                        ys.append(torch.as_tensor(y))
            except TypeError:
                raise ZooValidationError(
                    argument,
                    f"cannot read a {type(data).__name__}",
                    hint="give tensors, (inputs, labels), a Dataset / DataLoader of "
                    "(input, label), or a list of sentences",
                ) from None
            if not xs:
                raise ZooValidationError(argument, "is empty", hint="give at least one sample")
            batched = xs[0].dim() >= 4 or (len(xs) > 1 and xs[0].shape != xs[-1].shape)
            data = torch.cat(xs) if batched else torch.stack(xs)
            if ys and labels is None:
                labels = torch.cat([y.reshape(-1) for y in ys])
        if data.dim() < 2 or data.shape[0] == 0:
            raise ZooValidationError(
                argument,
                f"needs a batch of inputs, got shape {list(data.shape)}",
                hint="e.g. a float tensor [N, 3, H, W]",
            )
        data = data.float()
        batches = list(data.split(batch_size))
        count = int(data.shape[0])
    if labels is not None and labels.numel() != count:
        raise ZooValidationError(argument, f"has {count} inputs but {labels.numel()} labels")
    return _Data(batches, labels.long() if labels is not None else None, count)


def _rows(batch: Any, n: int) -> Any:
    """The first ``n`` rows of a batch, repeated when it has fewer."""

    def take(t: torch.Tensor) -> torch.Tensor:
        if t.shape[0] < n:
            t = t.repeat(-(-n // t.shape[0]), *([1] * (t.dim() - 1)))
        return t[:n].contiguous()

    return {k: take(v) for k, v in batch.items()} if isinstance(batch, Mapping) else take(batch)


def _call(module: Any, batch: Any) -> Any:
    return module(**batch) if isinstance(batch, Mapping) else module(batch)


def _tensor(output: Any, batch: Any) -> torch.Tensor:
    """A model's output as one tensor; a text backbone's hidden states are mean-pooled
    over the attention mask (as sentence-transformers does)."""
    hidden = getattr(output, "last_hidden_state", None)
    if hidden is not None:
        output = hidden
    elif isinstance(output, (tuple, list)):
        output = output[0]
    if (
        isinstance(output, torch.Tensor)
        and output.dim() == 3
        and isinstance(batch, Mapping)
        and "attention_mask" in batch
    ):
        mask = batch["attention_mask"].unsqueeze(-1).to(output.dtype)
        output = (output * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return output.float()


def _outputs(module: Any, data: _Data) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([_tensor(_call(module, b), b) for b in data.batches])


# -- measurements --------------------------------------------------------------------------


def _latencies_ms(modules: list[Any], batch: Any, repeats: int) -> list[float]:
    """Median wall time of one forward pass of each module. The modules take turns, run
    by run, so that a load on the machine that comes and goes hits them alike."""
    times: list[list[float]] = [[] for _ in modules]
    with torch.inference_mode():
        for module in modules:
            for _ in range(2):
                _call(module, batch)
        for _ in range(repeats):
            for module, row in zip(modules, times, strict=True):
                t0 = time.perf_counter()
                _call(module, batch)
                row.append(time.perf_counter() - t0)
    return [round(1000 * statistics.median(row), 4) for row in times]


def _rss_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _peak_mb(module: Any, batch: Any) -> float | None:
    """Resident memory one forward pass adds at its peak (Linux/glibc: freed heap memory
    is handed back first, then the high-water mark is reset through
    /proc/self/clear_refs); ``None`` where that cannot be measured."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        before = _rss_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except (OSError, AttributeError):
        return None
    with torch.inference_mode():
        _call(module, batch)
    peak = _rss_kb("VmHWM")
    return round(max(0, peak - before) / 1024, 3) if peak is not None and before is not None else None


def _state_bytes(module: nn.Module) -> int:
    from safetensors.torch import save

    from zoo.compression.runner import encode_state

    tensors, meta = encode_state(module.state_dict())
    return len(save(_untied(tensors), metadata=meta))


def _untied(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    seen, out = set(), {}
    for key, t in tensors.items():
        ptr = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape)) if t.numel() else None
        out[key] = t.clone() if ptr in seen else t
        seen.add(ptr)
    return out


def _measure(
    parent: nn.Module,
    child: Any,
    child_bytes: int,
    example: Any,
    eval_data: _Data | None,
    text: bool,
    repeats: int,
    threads: int,
) -> dict[str, Any]:
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        m: dict[str, Any] = {
            "threads": threads,
            "repeats": repeats,
            "parent": {"file_bytes": _state_bytes(parent)},
            "child": {"file_bytes": child_bytes},
        }
        for batch_size, n in ((1, repeats), (32, max(3, repeats // 2))):
            p, c = _latencies_ms([parent, child], _rows(example, batch_size), n)
            m["parent"][f"latency_ms_b{batch_size}"], m["child"][f"latency_ms_b{batch_size}"] = p, c
        for role, module in (("parent", parent), ("child", child)):
            m[role]["peak_mb"] = _peak_mb(module, _rows(example, 32))
    finally:
        torch.set_num_threads(old)
    if eval_data is not None:
        a, b = _outputs(parent, eval_data), _outputs(child, eval_data)
        m["eval_samples"] = eval_data.count
        m["max_abs_diff"] = float((a - b).abs().max())
        if eval_data.labels is not None and a.dim() == 2 and a.shape[1] > 1:
            acc_p = float((a.argmax(1) == eval_data.labels).float().mean())
            acc_c = float((b.argmax(1) == eval_data.labels).float().mean())
            m.update(parent_accuracy=acc_p, child_accuracy=acc_c, accuracy_drop_pt=round(100 * (acc_p - acc_c), 4))
        if text or eval_data.labels is None:
            cos = torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)
            m.update(cosine_mean=float(cos.mean()), cosine_min=float(cos.min()))
    return m


# -- the run -------------------------------------------------------------------------------


def _tokenizer(model: nn.Module, registry: Any, host: Any) -> Any:
    info = getattr(model, "zoo", None)
    if info is None or info.modality != "text":
        return None
    from zoo.resolve import preprocess

    return preprocess(info.qualified_name or info.arch, registry=registry, host=host)


def run(
    model_or_name: Any,
    method: str,
    *,
    calibration: Any,
    eval_data: Any,
    register_as: str | None,
    registry: Any,
    host: Any,
    threads: int | None,
    repeats: int,
    eval_name: str | None,
    measure: bool,
    options: Mapping[str, Any],
) -> CompressResult:
    from zoo.plugins import default_host

    host = host or default_host()
    record, runner = method_runner(host, method, options)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ZooValidationError("repeats", f"must be a positive integer, not {repeats!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ZooValidationError("threads", f"must be a positive integer, not {threads!r}")
    if register_as is not None:
        _check_name(register_as)
        from zoo.registry._reads import RegistryReads
        from zoo.weights._publish import check_default_store

        check_default_store(registry if isinstance(registry, RegistryReads) else None, host)
    if isinstance(model_or_name, str):
        from zoo.resolve import get

        model = get(model_or_name, device="cpu", registry=registry, host=host)
    elif isinstance(model_or_name, nn.Module):
        model = model_or_name
    else:
        raise ZooValidationError(
            "model_or_name",
            f"must be a model name or an nn.Module, not {type(model_or_name).__name__}",
            hint="e.g. 'tf_efficientnet_lite0'",
        )
    card = getattr(model, "zoo", None)
    if register_as is not None and getattr(card, "record", None) is None:
        raise ZooValidationError(
            "register_as",
            "needs a model that zoo.get built (model.zoo names its weights)",
            hint="compress the model by name, or a model from zoo.get(...)",
        )
    model = model.to("cpu").eval()
    tokenizer = _tokenizer(model, registry, host)
    text = tokenizer is not None
    calib = _as_data(calibration, "calibration", tokenizer)
    evald = _as_data(eval_data, "eval", tokenizer)
    example = (calib or evald).batches[0] if (calib or evald) else None
    ctx = CompressContext(
        modality="text" if text else (card.modality if card else "vision"),
        example=example,
        calibration=calib.batches if calib else [],
        train=(calib.inputs(), calib.labels) if calib and calib.labels is not None else None,
        record=getattr(card, "record", None),
        host=host,
        registry=registry,
    )
    import copy

    try:
        out = runner.compress(copy.deepcopy(model), ctx)
    except ZooError:
        raise
    except Exception as exc:  # a method's own failure: name it, register nothing
        raise ZooCompressError(
            f"method {record.name!r} failed on this model: {type(exc).__name__}: {exc}",
            hint="check the method's options (`zoo compressors`), or try another method",
        ) from exc
    if not isinstance(out, Compressed):
        raise ZooCompressError(
            f"method {record.name!r} ({record.runner}) returned a {type(out).__name__}, "
            "not a zoo.compression.runner.Compressed",
            hint="fix the plugin's runner",
        )
    from safetensors.torch import save

    payload = save(_untied(out.tensors), metadata={"format": "pt", **out.metadata})
    result = CompressResult(
        model=out.module,
        method=record.name,
        relation=record.relation.value,
        options=dict(runner.options if hasattr(runner, "options") else options),
        parent=card.qualified_name if card is not None else None,
        info=dict(out.info),
    )
    if measure:
        if example is None:
            raise ZooValidationError(
                "eval", "measuring needs input data", hint="pass eval= (or calibration=), or measure=False"
            )
        result.measured = _measure(
            model, out.module, len(payload), example, evald, text, repeats, threads or torch.get_num_threads()
        )
    else:
        result.measured = {"child": {"file_bytes": len(payload)}}
    if register_as is not None:
        result.registered = _register(
            result,
            out,
            payload,
            card,
            record,
            host,
            registry,
            register_as.strip().lower(),
            eval_name or "eval-data",
            evald,
        )
    return result


def _check_name(name: Any) -> None:
    from zoo.records import MODEL_NAME_RE

    if not isinstance(name, str) or "@" in name or not MODEL_NAME_RE.match(name.strip().lower()):
        raise ZooValidationError(
            "register_as",
            f"{name!r} is not a registered-model name",
            hint="write 'team/name' (lower case; the registry assigns the version)",
        )


# -- registration --------------------------------------------------------------------------


def _metrics(m: Mapping[str, Any], eval_name: str) -> list[Any]:
    from zoo.records import Metric

    split = f"cpu-{m.get('threads', 0)}t"
    out = []
    for key in ("file_bytes", "latency_ms_b1", "latency_ms_b32", "peak_mb"):
        for role in ("child", "parent"):
            value = m.get(role, {}).get(key)
            if value is not None:
                out.append(Metric("deploy", key if role == "child" else f"parent_{key}", value, split=split))
    for key in ("child_accuracy", "accuracy_drop_pt", "cosine_mean", "cosine_min", "max_abs_diff"):
        if key in m:
            name = "acc@1" if key == "child_accuracy" else key
            value = 100 * m[key] if key == "child_accuracy" else m[key]
            out.append(Metric(eval_name, name, round(value, 6), split="eval"))
    return out


def _register(
    result: CompressResult,
    out: Compressed,
    payload: bytes,
    card: Any,
    record: Any,
    host: Any,
    registry: Any,
    name: str,
    eval_name: str,
    evald: _Data | None,
) -> str:
    import zoo
    from zoo.finetuning.lineage import inherited_license
    from zoo.records import DATASET_RE, CardSection, DatasetRole, DatasetUse, ParentLink, Source, Weights
    from zoo.weights import WeightsCache

    if not DATASET_RE.match(eval_name):
        raise ZooValidationError("eval_name", f"{eval_name!r} is not a dataset name", hint="e.g. 'uci-digits'")
    info = card.record
    parent, pw = info.qualified_name, info.weights
    spec = {
        "method": result.method,
        "relation": result.relation,
        "runner": record.runner,
        "plugin": host.owner("compressors", result.method),
        "options": result.options,
        "rebuild": out.rebuild,
        "info": result.info,
    }
    recipe = json.dumps(
        {"compress": spec, "measured": result.measured, "tool": f"zoo.compress {zoo.__version__}"},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    # The parent's datasets and notes are not copied: the registry reads them through the
    # lineage (the one inheritance rule of register(parents=...) and zoo.finetune).
    datasets = [DatasetUse(eval_name, DatasetRole.EVAL)] if evald is not None else []
    quality = result.summary()
    own = CardSection(
        "limitations",
        f"Made from {parent} by {result.method} ({result.relation}). Measured: "
        f"{quality}. Quality was measured on "
        + (f"{evald.count} samples of {eval_name}" if evald else "no eval data")
        + "; behaviour elsewhere may differ more than the parent's.",
        title="Compression",
        severity="medium",
    )
    module = out.module
    num_params = pw.num_params
    if isinstance(module, nn.Module) and result.relation in ("prune", "distill"):
        num_params = sum(p.numel() for p in module.parameters())
    cache = WeightsCache()
    cache.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".compress-", dir=cache.root) as tmp:
        path = Path(tmp) / "model.safetensors"
        path.write_bytes(payload)
        fetched = cache.add_file(path)
    if registry is None:
        from zoo.resolve import _context

        registry = _context(None, host)[0]
    from zoo.weights._publish import publish

    # The default store (ZOO_STORE) holds the complete, verified object before the row.
    stored = publish(fetched.path, sha256=fetched.sha256, size=fetched.size, registry=registry, host=host)
    weights = Weights(
        arch=out.arch or card.arch,
        name=name,
        sources=(Source(stored or fetched.path.resolve().as_uri()),),
        sha256=fetched.sha256,
        size_bytes=fetched.size,
        format="safetensors",
        license=inherited_license(pw.license, parent),
        publisher=os.environ.get("ZOO_ACTOR") or None,
        paper_title=pw.paper_title,
        paper_url=pw.paper_url,
        recipe=recipe,
        datasets=tuple(datasets),
        metrics=tuple(_metrics(result.measured, eval_name)),
        preprocessing=dict(pw.preprocessing or {}) or None,
        num_params=num_params,
        num_classes=out.num_classes if out.num_classes is not None else pw.num_classes,
        card=(own,),
        parents=(ParentLink(parent, result.relation),),
        tags=("compressed", result.relation),
        description=f"{parent}, {result.method}: {quality}.",
    )
    return registry.register(weights).qualified_name
