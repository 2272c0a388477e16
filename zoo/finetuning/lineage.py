"""``register_as``: a fine-tuned model goes back into the registry with its lineage.

The weights are saved as safetensors into zoo's content-addressed cache (named by their
sha256), and a :class:`~zoo.records.Weights` record ``team/name`` gets the registry's
next version (nothing is ever overwritten). Its source is the cache file
(``file://…``), so ``zoo.get("team/name@N")`` loads it like any other checkpoint, and
on another machine the same bytes can be placed with ``zoo.weights.add_file``. With a
default store (``ZOO_STORE=s3://bucket/prefix``, :mod:`zoo.weights._publish`) the store
receives the bytes first, and the record's source is the object's URI: any machine that
reaches the store and the registry loads it by name.

The record carries: the parent weights (relation ``finetune``), the recipe with its
hyper-parameters, seed and data fingerprints as compact JSON in ``recipe``, the
fine-tuning data (role ``finetune``, and ``eval`` when validation data was given), the
final metrics, the parent's licence (a derivative keeps the terms it was made under; the
note says so), a limitations note of its own, ``num_classes``, the parameter count and
the preprocessing the training data was prepared with. What it inherits from the
parent — the parent's datasets and their notes, the parent's own bias notes, the
training data's terms — is not copied: the registry computes it through the lineage when
the record is read, the same rule as for ``Registry.register(parents=...)``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from zoo.records import CardSection, DatasetRole, DatasetUse, License, Metric, ParentLink, Source, Weights
from zoo.weights._formats import write_safetensors
from zoo.weights._publish import publish

__all__ = ["inherited_license", "recipe_json", "register", "register_result", "save_weights"]


def save_weights(model: torch.nn.Module, path: Path, metadata: Mapping[str, str] | None = None) -> None:
    state, seen = {}, set()
    for key, value in model.state_dict().items():
        t = value.detach().to("cpu")
        ptr = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape)) if t.numel() else None
        if ptr in seen:
            t = t.clone()  # tied weights: safetensors stores each tensor once
        elif ptr is not None:
            seen.add(ptr)
        state[key] = t.contiguous()
    # zoo's writer: the same weights give the same bytes (and sha256) every time.
    write_safetensors(state, path, {"format": "pt", **(metadata or {})})


def recipe_json(
    recipe: Any,
    params: Mapping[str, Any],
    plugin: tuple[str | None, str | None],
    *,
    seed: int,
    world: int,
    train_scan: Any,
    val_scan: Any,
    epochs_run: int,
) -> str:
    import zoo

    data: dict[str, Any] = {
        "train": {"samples": train_scan.count, "classes": len(train_scan.classes), "sha256": train_scan.fingerprint}
    }
    if val_scan is not None:
        data["val"] = {"samples": val_scan.count, "classes": len(val_scan.classes), "sha256": val_scan.fingerprint}
    doc = {
        "recipe": recipe.name,
        "runner": recipe.runner,
        "plugin": " ".join(x for x in plugin if x) or None,
        "params": dict(params),
        "seed": seed,
        "epochs_run": epochs_run,
        "processes": world,
        "data": data,
        "fingerprint": "zoo-data-v1",
        "trainer": f"zoo.finetune {zoo.__version__}",
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)


def inherited_license(lic: License, parent: str) -> License:
    """A derivative keeps the terms its parent was published under; the note says so."""
    return License(
        lic.spdx,
        lic.commercial_use,
        url=lic.url,
        note=f"inherited from {parent}" + (f": {lic.note}" if lic.note else ""),
    )


def register_result(
    result: Any,
    name: str,
    *,
    registry: Any = None,
    dataset: str | None = None,
    preprocessing: Mapping[str, Any] | None = None,
) -> str:
    """Register a :class:`~zoo.finetuning.FinetuneResult`; see :func:`register`."""
    from zoo.errors import ZooValidationError
    from zoo.records import DATASET_RE, MODEL_NAME_RE

    context = result.lineage
    if not context or context.get("card") is None:
        raise ZooValidationError(
            "register_as",
            "needs a model that zoo.get built (model.zoo names its architecture and parent weights)",
            hint="fine-tune the model by name, or a model from zoo.get(...)",
        )
    if not isinstance(name, str) or "@" in name or not MODEL_NAME_RE.match(name.strip().lower()):
        raise ZooValidationError(
            "register_as",
            f"{name!r} is not a registered-model name",
            hint="write 'team/name' (lower case; the registry assigns the version)",
        )
    dataset = dataset or context.get("dataset")
    if dataset is not None and not DATASET_RE.match(dataset.strip().lower()):
        raise ZooValidationError("dataset", f"{dataset!r} is not a dataset name", hint="e.g. 'uci-digits'")
    return register(
        result.model,
        name=name.strip().lower(),
        card=context["card"],
        recipe=context["recipe"],
        runner_params=result.params,
        plugin=context["plugin"],
        seed=result.seed,
        world=result.world_size,
        train_scan=context["train_scan"],
        val_scan=context["val_scan"],
        history=result.metrics,
        dataset=dataset.strip().lower() if dataset else None,
        preprocessing=preprocessing if preprocessing is not None else context.get("preprocessing"),
        registry=registry if registry is not None else context.get("registry"),
        num_classes=result.num_classes,
        host=context.get("host"),
    )


def register(
    model: torch.nn.Module,
    *,
    name: str,
    card: Any,
    recipe: Any,
    runner_params: Mapping[str, Any],
    plugin: tuple[str | None, str | None],
    seed: int,
    world: int,
    train_scan: Any,
    val_scan: Any,
    history: Sequence[Any],
    dataset: str | None,
    preprocessing: Mapping[str, Any] | None,
    registry: Any,
    num_classes: int,
    host: Any = None,
) -> str:
    """Save, cache and register; returns ``name@version``. With a default store
    (``ZOO_STORE``) the weights are uploaded and verified before the row is written."""
    from zoo.weights import WeightsCache

    parent_info = getattr(card, "record", None)
    parent = parent_info.qualified_name if parent_info is not None else None
    dataset = dataset or f"data-{train_scan.fingerprint[:16]}"
    text = recipe_json(
        recipe,
        runner_params,
        plugin,
        seed=seed,
        world=world,
        train_scan=train_scan,
        val_scan=val_scan,
        epochs_run=len(history),
    )

    if registry is None:
        from zoo.registry import Registry

        registry = Registry()
    cache = WeightsCache()
    cache.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".finetune-", dir=cache.root) as tmp:
        path = Path(tmp) / "model.safetensors"
        save_weights(model, path, {"zoo.name": name, "zoo.parent": parent or "", "zoo.recipe": recipe.name})
        fetched = cache.add_file(path)
    # The team's default store (ZOO_STORE) receives the bytes, complete and verified,
    # before the registry row that points at them is written.
    stored = publish(fetched.path, sha256=fetched.sha256, size=fetched.size, registry=registry, host=host)
    source = Source(stored) if stored else Source(fetched.path.resolve().as_uri())

    final = history[-1] if history else None
    split = "val" if final is not None and final.val_accuracy is not None else "train"
    metrics = []
    if final is not None:
        metrics = [
            Metric(dataset, "acc@1", round(100.0 * final.accuracy, 4), split=split),
            Metric(dataset, "loss", round(final.loss, 6), split=split),
        ]

    pw = parent_info.weights if parent_info is not None else None
    if pw is not None:
        license_ = inherited_license(pw.license, parent)
    else:
        license_ = License()
    datasets = []
    datasets.append(DatasetUse(dataset, DatasetRole.FINETUNE))
    if val_scan is not None:
        datasets.append(DatasetUse(dataset, DatasetRole.EVAL))

    prep = dict(getattr(card, "preprocessing", None) or {})
    if train_scan.sample_shape is not None:
        prep["input_size"] = list(train_scan.sample_shape)
        prep.pop("resize_size", None)
        prep["crop_pct"] = 1.0
    prep.update(preprocessing or {})

    acc = f"{100 * final.accuracy:.2f}% {split} accuracy" if final is not None else "no metrics"
    own_note = CardSection(
        "limitations",
        f"Fine-tuned with recipe '{recipe.name}' on {train_scan.count} samples of {dataset} "
        f"(data fingerprint sha256:{train_scan.fingerprint[:16]}…, {len(train_scan.classes)} classes)"
        + (f" and evaluated on {val_scan.count} held-out samples" if val_scan is not None else "")
        + f": {acc}. Its behaviour outside that data was not measured.",
        title="Fine-tuning data",
        severity="medium",
    )
    record = Weights(
        arch=card.arch,
        name=name,
        sources=(source,),
        sha256=fetched.sha256,
        size_bytes=fetched.size,
        format="safetensors",
        license=license_,
        publisher=os.environ.get("ZOO_ACTOR") or None,
        paper_title=pw.paper_title if pw else None,
        paper_url=pw.paper_url if pw else None,
        recipe=text,
        datasets=tuple(datasets),
        metrics=tuple(metrics),
        preprocessing=prep,
        num_params=sum(p.numel() for p in model.parameters()),
        num_classes=num_classes,
        card=(own_note,),
        parents=(ParentLink(parent, "finetune"),) if parent else (),
        tags=("finetuned", recipe.name) if _tag_ok(recipe.name) else ("finetuned",),
        description=(f"{parent or card.arch} fine-tuned with zoo recipe '{recipe.name}' on {dataset}: {acc}."),
    )
    info = registry.register(record)
    return info.qualified_name


def _tag_ok(tag: str) -> bool:
    from zoo.records import ALIAS_RE

    return bool(ALIAS_RE.match(tag))
