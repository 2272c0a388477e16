"""``zoo.rank``, ``zoo.advise``, ``zoo.drift``: the transfer advisor's core.

It names no method: scores and drift tests are plugins (hook ``zoo_transfer_methods``;
the built-in ones are the ``zoo-transfer`` distribution). The core resolves the
candidates, checks the data, extracts pooled features once per (weights, data) into
the shared feature cache (:mod:`zoo.finetuning.features`), calls the scores by name and
stores the results in the registry (tables ``transfer_scores``, ``drift_references``).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zoo.errors import ZooTransferError
from zoo.plugins import default_host, import_object
from zoo.records import TransferKind
from zoo.transfer.data import Prepared, check_classes, prepare

__all__ = ["Advice", "CandidateScores", "DriftResult", "RankResult", "advise", "decide", "drift", "rank", "reference"]

PROJECTION_DIM = 64
REFERENCE_SAMPLES = 256


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateScores:
    candidate: str  # the name it was asked for (a control: "ARCH (random init)")
    weights: str | None  # name@version of the registered weights (None for a control)
    arch: str
    pretrained: bool
    scores: Mapping[str, float | None]  # method -> value (None: not applicable, e.g. no source head)
    feature_dim: int
    feature_s: float  # extracting the features (0 when they came from the cache)
    score_s: float
    cached: bool


@dataclass(frozen=True)
class RankResult:
    data_fingerprint: str
    data_name: str | None
    num_examples: int
    num_classes: int
    min_per_class: int
    methods: Mapping[str, bool]  # method -> higher_is_better
    candidates: tuple[CandidateScores, ...]
    stored: int = 0

    def best(self, method: str) -> CandidateScores:
        if method not in self.methods:
            raise ZooTransferError("method", f"{method!r} was not computed", hint=f"one of {', '.join(self.methods)}")
        sign = 1 if self.methods[method] else -1
        scored = [c for c in self.candidates if c.scores.get(method) is not None]
        return max(scored, key=lambda c: sign * c.scores[method])

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_fingerprint": self.data_fingerprint,
            "data_name": self.data_name,
            "num_examples": self.num_examples,
            "num_classes": self.num_classes,
            "min_per_class": self.min_per_class,
            "methods": dict(self.methods),
            "stored": self.stored,
            "candidates": [
                {
                    "candidate": c.candidate,
                    "weights": c.weights,
                    "arch": c.arch,
                    "pretrained": c.pretrained,
                    "scores": dict(c.scores),
                    "feature_dim": c.feature_dim,
                    "feature_s": round(c.feature_s, 3),
                    "score_s": round(c.score_s, 3),
                    "cached": c.cached,
                }
                for c in self.candidates
            ],
        }


@dataclass(frozen=True)
class Advice:
    name: str
    recipe: str  # a recipe name from `zoo recipes`
    params: Mapping[str, Any]
    negative_transfer: bool
    reasons: tuple[str, ...]
    numbers: Mapping[str, Any]
    rank: RankResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "recipe": self.recipe,
            "params": dict(self.params),
            "negative_transfer": self.negative_transfer,
            "reasons": list(self.reasons),
            "numbers": dict(self.numbers),
            "rank": self.rank.to_dict(),
        }


@dataclass(frozen=True)
class DriftResult:
    name: str
    method: str
    statistic: float
    p_value: float
    effect_size: float
    z: float
    drifted: bool
    alpha: float
    num_reference: int
    num_new: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- candidates and features -----------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    asked: str
    name: str  # what zoo.get takes
    arch: str
    modality: str
    pretrained: bool
    head: str | None
    source_classes: int | None


def _resolve(name: str, registry: Any, pretrained: bool = True) -> _Candidate:
    info = registry.resolve(name)
    family = info.family
    if not pretrained:
        return _Candidate(
            f"{family.name} (random init)", family.name, family.name, family.modality.value, False, None, None
        )
    return _Candidate(
        name,
        info.qualified_name,
        family.name,
        family.modality.value,
        True,
        family.head,
        info.weights.num_classes,
    )


def _check_modality(candidate: _Candidate, data: Prepared) -> None:
    if candidate.modality != data.modality:
        raise ZooTransferError(
            "candidates",
            f"{candidate.asked} is a {candidate.modality} backbone but the data is {data.modality}",
            hint=f"rank {data.modality} backbones on this data (`zoo list` shows each model's modality)",
        )


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


@torch.no_grad()
def _extract(
    candidate: _Candidate,
    data: Prepared,
    *,
    registry: Any,
    device: str,
    batch_size: int,
    seed: int,
    cache: Any,
    bar: Any,
) -> tuple[np.ndarray, np.ndarray | None, float, bool]:
    import zoo

    model_id = None
    if candidate.pretrained:
        model_id = registry.resolve(candidate.name).weights.sha256 or candidate.name
    else:
        model_id = f"random:{candidate.arch}:{seed}"
    use_head = candidate.pretrained and candidate.head is not None and bool(candidate.source_classes)
    # Two entries: the pooled features (shared with the linear probe of zoo.finetune, which
    # writes the same key for the same weights and data) and the source head's logits.
    key = cache.key(model_id, data.fingerprint)
    source_key = cache.key(model_id, data.fingerprint, "source-logits")
    hit = cache.load(key)
    if hit is not None and len(hit["features"]) != len(data):
        hit = None
    source = cache.load(source_key) if use_head else None
    if hit is not None and (not use_head or source is not None):
        bar.update(len(data))
        probs = torch.softmax(source["logits"].double(), 1).numpy() if source is not None else None
        return hit["features"].numpy(), probs, 0.0, True
    t = time.perf_counter()
    if candidate.pretrained:
        model = zoo.get(candidate.name, num_classes=None if use_head else 0, device=device, registry=registry)
    else:
        torch.manual_seed(seed)
        model = zoo.get(candidate.arch, num_classes=0, pretrained=False, device=device, registry=registry)
    model.eval()
    if hit is not None:  # features cached (e.g. by a linear probe): only the head is missing
        head = model.get_submodule(candidate.head)
        logits = head(hit["features"].to(device)).float().cpu()
        cache.save(source_key, {"logits": logits})
        bar.update(len(data))
        probs = torch.softmax(logits.double(), 1).numpy()
        return hit["features"].numpy(), probs, time.perf_counter() - t, True
    captured: list[torch.Tensor] = []
    hook = None
    if use_head:
        head = model.get_submodule(candidate.head)
        hook = head.register_forward_hook(lambda m, args, out: captured.append(args[0].detach().float().cpu()))
    tokenizer = zoo.preprocess(candidate.name, registry=registry) if data.modality == "text" else None
    feats, logits = [], []
    try:
        for part in _batches(len(data), batch_size):
            if tokenizer is not None:
                batch = tokenizer(data.inputs[part], padding=True, truncation=True, return_tensors="pt")
                out = model(**{k: v.to(device) for k, v in batch.items()})
            else:
                out = model(data.inputs[part].to(device))
            out = out.float().cpu()
            if use_head:
                feats.append(captured.pop())
                logits.append(out)
            else:
                feats.append(out.reshape(len(out), -1))
            bar.update(part.stop - part.start)
    finally:
        if hook is not None:
            hook.remove()
    features = torch.cat(feats)
    entry = {"features": features}
    if data.labels is not None:
        entry["labels"] = torch.as_tensor(data.labels)
    cache.save(key, entry)
    probs = None
    if use_head:
        source_logits = torch.cat(logits)
        cache.save(source_key, {"logits": source_logits})
        probs = torch.softmax(source_logits.double(), 1).numpy()
    return features.numpy(), probs, time.perf_counter() - t, False


class _Bar:
    """A rich progress bar on stderr over every candidate's examples (``progress``:
    ``None`` = when stderr is a terminal)."""

    def __init__(self, total: int, progress: Any) -> None:
        show = sys.stderr.isatty() if progress is None else bool(progress)
        self.progress = None
        if show:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("features"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("features", total=total)

    def update(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _methods(host: Any, names: Sequence[str] | None, kind: TransferKind):
    available = {n: m for n, m in host.transfer_methods().items() if m.kind == kind}
    if not available:
        raise ZooTransferError(
            "scores", f"no {kind.value} method is installed", hint="pip install zoo-transfer (the built-in ones)"
        )
    if names is None:
        return list(available.values())
    chosen = []
    for name in names:
        if name not in available:
            raise ZooTransferError(
                "scores", f"unknown {kind.value} method {name!r}", hint=f"one of {', '.join(sorted(available))}"
            )
        chosen.append(available[name])
    return chosen


def _check_per_class(methods, data: Prepared, num_classes: int) -> int:
    counts = data.counts(num_classes)
    present = counts[counts > 0]
    smallest = int(present.min())
    if len(present) < 2:
        raise ZooTransferError("labels", "hold a single class: a transfer score needs at least two")
    for m in methods:
        if smallest < m.min_per_class:
            worst = int(np.flatnonzero((counts > 0) & (counts < m.min_per_class))[0])
            raise ZooTransferError(
                "data",
                f"score {m.name!r} needs at least {m.min_per_class} examples per class; class {worst} has "
                f"{int(counts[worst])}",
                hint=f"add examples to the small classes, or leave {m.name!r} out (scores=...)",
            )
    return smallest


def _open_registry(registry: Any, host: Any = None):
    """The registry to use (``$ZOO_REGISTRY_URL`` / ``$ZOO_HOME`` by default), synced with
    the installed plugins as ``zoo.get`` does; ``(registry, close_it)``."""
    from zoo.plugins import ensure_synced

    close = registry is None
    if registry is None:
        from zoo.registry import open_registry

        registry = open_registry()
    writer = registry.writer()  # None: a read-only view, whose opener checked the plugins
    if writer is not None:
        ensure_synced(writer, host or default_host())
    return registry, close


# -- rank --------------------------------------------------------------------------------------


def rank(
    data: Any,
    candidates: Sequence[str] | str,
    *,
    num_classes: int | None = None,
    scores: Sequence[str] | None = None,
    controls: bool = False,
    registry: Any = None,
    store: bool = True,
    data_name: str | None = None,
    device: str = "cpu",
    batch_size: int = 64,
    seed: int = 0,
    progress: Any = None,
    host: Any = None,
    cache: Any = None,
    actor: str | None = None,
) -> RankResult:
    """Transferability of each candidate backbone to labelled ``data`` from frozen
    features, without fine-tuning; returns a :class:`RankResult`.

    ``data``: ``(images N x C x H x W, labels)``, ``(list of strings, labels)`` or a
    Dataset of ``(input, label)``. ``scores``: method names (default: every installed
    score; LEEP / NCE only where the candidate has its source head). ``controls=True``
    adds each architecture with random weights. Each result is stored in the registry
    (``transfer_scores``) linked to the weights and the data's fingerprint, unless
    ``store=False``. Every bad input is a ``ZooTransferError`` raised before anything
    is computed or stored.
    """
    from zoo.finetuning.features import FeatureCache

    if isinstance(candidates, str):
        candidates = [candidates]
    if not candidates:
        raise ZooTransferError("candidates", "name at least one backbone to rank")
    host = host or default_host()
    prepared = prepare(data, name=data_name)
    num_classes = check_classes(prepared, num_classes)
    methods = _methods(host, scores, TransferKind.SCORE)
    smallest = _check_per_class(methods, prepared, num_classes)
    registry, close = _open_registry(registry, host)
    try:
        resolved = [_resolve(n, registry) for n in candidates]
        for c in resolved:
            _check_modality(c, prepared)
        if controls:
            seen = set()
            for c in list(resolved):
                if c.arch not in seen:
                    seen.add(c.arch)
                    resolved.append(_resolve(c.name, registry, pretrained=False))
        cache = cache or FeatureCache()
        bar = _Bar(len(resolved) * len(prepared), progress)
        rows = []
        try:
            for c in resolved:
                feats, probs, feature_s, cached = _extract(
                    c,
                    prepared,
                    registry=registry,
                    device=device,
                    batch_size=batch_size,
                    seed=seed,
                    cache=cache,
                    bar=bar,
                )
                t = time.perf_counter()
                values: dict[str, float | None] = {}
                for m in methods:
                    if m.needs_source_head and probs is None:
                        values[m.name] = None
                        continue
                    function = import_object(m.function, what="transfer method")
                    value = float(
                        function(
                            feats,
                            prepared.labels,
                            num_classes=num_classes,
                            source_probs=probs,
                            seed=seed,
                            **dict(m.params or {}),
                        )
                    )
                    if not math.isfinite(value):
                        raise ZooTransferError(
                            "scores",
                            f"{m.name} of {c.asked} is {value} (degenerate features?)",
                            hint="nothing was stored",
                        )
                    values[m.name] = value
                rows.append(
                    CandidateScores(
                        c.asked,
                        c.name if c.pretrained else None,
                        c.arch,
                        c.pretrained,
                        values,
                        int(feats.shape[1]),
                        feature_s,
                        time.perf_counter() - t,
                        cached,
                    )
                )
        finally:
            bar.close()
        result = RankResult(
            prepared.fingerprint,
            prepared.name,
            len(prepared),
            num_classes,
            smallest,
            {m.name: m.higher_is_better for m in methods},
            tuple(rows),
        )
        stored = 0
        if store:
            from zoo.transfer.store import save_scores

            owner = {m.name: host.owner("transfer_methods", m.name) for m in methods}
            stored = save_scores(
                registry,
                [
                    {
                        "weights": r.weights,
                        "candidate": r.weights or r.candidate,
                        "data_fingerprint": result.data_fingerprint,
                        "data_name": result.data_name,
                        "num_examples": result.num_examples,
                        "num_classes": num_classes,
                        "method": method,
                        "value": value,
                        "higher_is_better": result.methods[method],
                        "plugin": owner.get(method),
                    }
                    for r in rows
                    for method, value in r.scores.items()
                    if value is not None
                ],
                actor=actor,
            )
        return RankResult(**{**result.__dict__, "stored": stored})
    finally:
        if close:
            registry.close()


# -- advise ------------------------------------------------------------------------------------


def _scratch_accuracy(
    data: Prepared, num_classes: int, budget_s: float, seed: int, test_data: Prepared | None = None
) -> tuple[float, float]:
    """A small model trained from scratch on 75% of the data for at most ``budget_s``,
    accuracy on the held-out 25% (stratified) — or, given ``test_data``, trained on all of
    ``data`` and tested on that: an MLP on 16x16 grey pixels for images, a hashed
    bag-of-words logistic regression for text."""
    from sklearn.model_selection import train_test_split

    if test_data is not None:
        joined = (
            torch.cat([data.inputs, test_data.inputs])
            if isinstance(data.inputs, torch.Tensor)
            else list(data.inputs) + list(test_data.inputs)
        )
        data = Prepared(joined, np.concatenate([data.labels, test_data.labels]), data.modality, "", None)
        train, test = (
            np.arange(len(data.labels) - len(test_data.labels)),
            np.arange(len(data.labels) - len(test_data.labels), len(data.labels)),
        )
    y = data.labels
    if test_data is None:
        idx = np.arange(len(y))
        counts = np.bincount(y)
        stratify = y if counts[counts > 0].min() >= 2 else None
        train, test = train_test_split(idx, test_size=0.25, random_state=seed, stratify=stratify)
    t = time.perf_counter()
    if data.modality == "text":
        from sklearn.feature_extraction.text import HashingVectorizer
        from sklearn.linear_model import LogisticRegression

        x = HashingVectorizer(n_features=2**14, ngram_range=(1, 2)).transform(data.inputs)
        model = LogisticRegression(max_iter=200).fit(x[train], y[train])
        return float((model.predict(x[test]) == y[test]).mean()), time.perf_counter() - t
    torch.manual_seed(seed)
    x = torch.nn.functional.adaptive_avg_pool2d(data.inputs.float().mean(1, keepdim=True), 16).flatten(1)
    x = (x - x[train].mean(0)) / (x[train].std(0) + 1e-6)
    yt = torch.as_tensor(y)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, num_classes))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    train_t = torch.as_tensor(train)
    generator = torch.Generator().manual_seed(seed)
    epochs = 0
    while epochs < 200 and (epochs < 5 or time.perf_counter() - t < budget_s):
        for part in torch.randperm(len(train_t), generator=generator).split(64):
            b = train_t[part]
            loss = torch.nn.functional.cross_entropy(net(x[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        epochs += 1
    with torch.no_grad():
        accuracy = float((net(x[test]).argmax(1) == yt[test]).float().mean())
    return accuracy, time.perf_counter() - t


FEW_PER_CLASS = 20  # below this, a new head on frozen features (linear probe)
FREEZE_PER_CLASS = 50  # from this on, with good features, freeze the first stages
MANY_PER_CLASS = 200  # from this on, fine-tune every layer
SEPARATED = 0.95  # few-shot accuracy at which the frozen features already separate the classes


def decide(numbers: Mapping[str, Any], *, margin: float = 0.0) -> tuple[str, dict[str, Any], bool, list[str]]:
    """The advice from its numbers (what :func:`advise` measured): ``(recipe, params,
    negative_transfer, reasons)``. A pure function, so the benchmark can replay it.

    - negative transfer: the pretrained features' few-shot accuracy is no better (by
      ``margin``) than the best control (same architecture with random weights; a small
      model from scratch);
    - recipe: fewer than 20 examples per class, or features that already separate the
      classes (>= 0.95), -> ``linear-probe`` (more than a head overfits, and costs many
      times more); 200 or more per class -> ``full``; 50-200 with good features (>= 0.8,
      no negative transfer) -> ``freeze-stages`` (the first 3 stages: generic edges and
      textures); otherwise -> ``lp-ft`` (probe, then fine-tune every layer from the probed
      head: Kumar et al. 2022 — the features must adapt, and a good head first keeps them
      from being distorted).
    """
    pre, rnd = numbers["pretrained"], numbers["random_init"]
    metric = "linear" if pre.get("linear") is not None else "knn"
    accuracy, control, scratch = pre[metric], rnd[metric], numbers["scratch_accuracy"]
    per_class = numbers["examples_per_class"]
    best_control = max(control, scratch)
    negative = accuracy <= best_control + margin
    reasons: list[str] = []
    params: dict[str, Any] = {}
    if negative:
        which = (
            "a small model trained from scratch" if scratch >= control else "the same architecture with random weights"
        )
        reasons.append(
            f"NEGATIVE TRANSFER: the pretrained features ({accuracy:.3f}) are no better than {which} "
            f"({best_control:.3f}): the source's features carry no extra signal for this data"
        )
        if scratch > accuracy:
            reasons.append(
                f"instead: train a small model from scratch (it reached {scratch:.3f} in {numbers['scratch_s']:.1f} s), "
                "or collect more data and fine-tune every layer"
            )
    if per_class < FEW_PER_CLASS or (accuracy >= SEPARATED and not negative):
        recipe = "linear-probe"
        reasons.append(
            f"the frozen features already separate the classes ({accuracy:.3f} >= {SEPARATED})"
            if per_class >= FEW_PER_CLASS
            else f"few examples per class ({per_class:.1f} < {FEW_PER_CLASS}): more than a new head overfits "
            "and costs many times more"
        )
    elif per_class >= MANY_PER_CLASS:
        recipe = "full"
        reasons.append(f"{per_class:.0f} examples per class are enough to fine-tune every layer")
    elif per_class >= FREEZE_PER_CLASS and accuracy >= 0.8 and not negative:
        recipe, params = "freeze-stages", {"frozen_stages": 3}
        reasons.append(
            f"good frozen features ({accuracy:.3f}) and {per_class:.0f} examples per class: keep the first 3 "
            "stages (generic edges and textures) frozen, adapt the rest"
        )
    else:
        recipe = "lp-ft"
        reasons.append(
            (
                "the pretrained features do not fit this data"
                if negative
                else f"the frozen features carry signal ({accuracy:.3f} vs {best_control:.3f}) but leave accuracy "
                "on the table"
            )
            + f", and {per_class:.0f} examples per class are enough to adapt them: probe first, then fine-tune "
            "every layer from the probed head (LP-FT)"
        )
    return recipe, params, negative, reasons


def advise(
    name: str,
    data: Any,
    *,
    num_classes: int | None = None,
    registry: Any = None,
    store: bool = True,
    data_name: str | None = None,
    device: str = "cpu",
    seed: int = 0,
    margin: float = 0.0,
    progress: Any = None,
    host: Any = None,
    cache: Any = None,
    time_budget_s: float | None = None,
) -> Advice:
    """Recommend a fine-tuning recipe for backbone ``name`` on labelled ``data`` and say
    why, in numbers: examples per class, the scores, and two controls on the same data
    (the architecture with random weights; a small model trained from scratch within the
    same time budget as extracting the features and probing them). When the pretrained
    features are no better than a control (by ``margin`` in few-shot accuracy) it warns of
    negative transfer."""
    prepared = prepare(data, name=data_name)
    result = rank(
        prepared,
        [name],
        num_classes=num_classes,
        controls=True,
        registry=registry,
        store=store,
        data_name=data_name,
        device=device,
        seed=seed,
        progress=progress,
        host=host,
        cache=cache,
    )
    pre, rnd = result.candidates[0], result.candidates[1]
    budget = time_budget_s if time_budget_s is not None else max(1.0, pre.feature_s + pre.score_s)
    scratch, scratch_s = _scratch_accuracy(prepared, result.num_classes, budget, seed)
    accuracy = pre.scores.get("linear") if pre.scores.get("linear") is not None else pre.scores.get("knn")
    control = rnd.scores.get("linear") if rnd.scores.get("linear") is not None else rnd.scores.get("knn")
    per_class = result.num_examples / result.num_classes
    numbers = {
        "examples": result.num_examples,
        "classes": result.num_classes,
        "examples_per_class": round(per_class, 1),
        "min_per_class": result.min_per_class,
        "pretrained": dict(pre.scores),
        "random_init": dict(rnd.scores),
        "scratch_accuracy": round(scratch, 4),
        "scratch_s": round(scratch_s, 2),
        "budget_s": round(budget, 2),
    }
    reasons = [f"{result.num_examples} examples, {result.num_classes} classes ({per_class:.1f} per class)"]
    if accuracy is None:
        raise ZooTransferError("scores", "advice needs the 'linear' or 'knn' score", hint="install zoo-transfer")
    reasons.append(
        f"few-shot accuracy from frozen pretrained features {accuracy:.3f}; same architecture with random "
        f"weights {control:.3f}; small model from scratch ({scratch_s:.1f} s) {scratch:.3f}"
    )
    recipe, params, negative, why = decide(numbers, margin=margin)
    reasons += why
    return Advice(name, recipe, params, negative, tuple(reasons), numbers, result)


# -- drift ---------------------------------------------------------------------------------------


def _projection(dim: int, k: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(dim, k, generator=generator) / math.sqrt(k)


@torch.no_grad()
def _model_features(model: Any, data: Prepared, head: str | None, tokenizer: Any, batch_size: int = 64) -> torch.Tensor:
    from torch import nn

    parent = None
    if head:
        parent_path, _, leaf = head.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        original = getattr(parent, leaf)
        setattr(parent, leaf, nn.Identity())
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    try:
        for part in _batches(len(data), batch_size):
            if tokenizer is not None:
                batch = tokenizer(data.inputs[part], padding=True, truncation=True, return_tensors="pt")
                y = model(**{k: v.to(device) for k, v in batch.items()})
            else:
                y = model(data.inputs[part].to(device))
            out.append(y.float().cpu().reshape(len(y), -1))
    finally:
        if parent is not None:
            setattr(parent, leaf, original)
        model.train(was_training)
    return torch.cat(out)


def reference_blob(model: Any, data: Any, *, head: str | None, tokenizer: Any = None, seed: int = 0) -> dict[str, Any]:
    """The compact drift reference of ``model`` on its training ``data``: up to 256
    examples' pooled features (seeded sample), projected to 64 dimensions by a seeded
    Gaussian random projection (the seed is stored, not the matrix); safetensors bytes."""
    from safetensors.torch import save

    prepared = prepare(data, labelled=False)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(prepared), generator=generator)[:REFERENCE_SAMPLES].sort().values
    sample = Prepared(
        prepared.inputs[order] if isinstance(prepared.inputs, torch.Tensor) else [prepared.inputs[i] for i in order],
        None,
        prepared.modality,
        prepared.fingerprint,
        None,
    )
    feats = _model_features(model, sample, head, tokenizer)
    k = min(PROJECTION_DIM, feats.shape[1])
    projected = feats @ _projection(feats.shape[1], k, seed)
    return {
        "blob": save({"sample": projected.contiguous()}),
        "data_fingerprint": prepared.fingerprint,
        "num_samples": int(len(projected)),
        "feature_dim": int(feats.shape[1]),
        "projection_dim": int(k),
        "projection_seed": int(seed),
    }


def reference(name: str, data: Any, *, registry: Any = None, seed: int = 0, actor: str | None = None) -> str:
    """Compute and store the drift reference of registered weights ``name`` from its
    training ``data`` (``zoo.finetune(register_as=...)`` does this itself); returns the
    reference's sha256."""
    import zoo
    from zoo.transfer.store import save_drift_reference

    registry, close = _open_registry(registry)
    try:
        info = registry.resolve(name)
        model = zoo.get(name, num_classes=0, device="cpu", registry=registry)
        tokenizer = zoo.preprocess(name, registry=registry) if info.family.modality.value == "text" else None
        ref = reference_blob(model, data, head=None, tokenizer=tokenizer, seed=seed)
        blob = ref.pop("blob")
        return save_drift_reference(registry, info.qualified_name, blob, actor=actor, **ref)
    finally:
        if close:
            registry.close()


def drift(
    name: str,
    data: Any,
    *,
    registry: Any = None,
    method: str = "mmd",
    alpha: float = 0.05,
    seed: int = 0,
    host: Any = None,
    **params: Any,
) -> DriftResult:
    """Test whether ``data`` (inputs; labels are ignored) departs from the training data
    of registered model ``name``: its features against the stored reference, by the
    drift method ``method`` (default: MMD with a permutation p-value). ``drifted`` when
    ``p_value < alpha``; ``effect_size`` says how far."""
    from safetensors.torch import load

    import zoo
    from zoo.transfer.store import drift_reference

    host = host or default_host()
    (m,) = _methods(host, [method], TransferKind.DRIFT)
    prepared = prepare(data, labelled=False)
    registry, close = _open_registry(registry, host)
    try:
        info = registry.resolve(name)
        if info.family.modality.value != prepared.modality:
            raise ZooTransferError(
                "data", f"{name} is a {info.family.modality.value} model but the data is {prepared.modality}"
            )
        meta, blob = drift_reference(registry, name)
        if len(prepared) < 10:
            raise ZooTransferError("data", f"has {len(prepared)} examples; a drift test needs at least 10")
        model = zoo.get(name, num_classes=0, device="cpu", registry=registry)
        tokenizer = zoo.preprocess(name, registry=registry) if prepared.modality == "text" else None
        feats = _model_features(model, prepared, None, tokenizer)
        if feats.shape[1] != meta["feature_dim"]:
            raise ZooTransferError(
                "data", f"gives {feats.shape[1]}-d features, the reference has {meta['feature_dim']}"
            )
        new = (feats @ _projection(meta["feature_dim"], meta["projection_dim"], meta["projection_seed"])).numpy()
        ref = load(blob)["sample"].numpy()
        out = import_object(m.function, what="drift method")(ref, new, seed=seed, **{**dict(m.params or {}), **params})
        return DriftResult(
            info.qualified_name,
            m.name,
            float(out["statistic"]),
            float(out["p_value"]),
            float(out["effect_size"]),
            float(out.get("z", float("nan"))),
            float(out["p_value"]) < alpha,
            alpha,
            len(ref),
            len(new),
        )
    finally:
        if close:
            registry.close()


def finetune_reference(model: Any, head: str | None, dataset: Any, *, fingerprint: str | None, seed: int = 0):
    """The drift reference ``zoo.finetune(register_as=...)`` stores with the model: a
    seeded sample of up to 256 training examples of a map-style dataset of image
    tensors (or strings), featurised by the fine-tuned model without its head. ``None``
    (logged) for data it cannot sample that way (tokenised mappings, iterable data)."""
    import logging

    try:
        n = len(dataset)
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(n, generator=generator)[:REFERENCE_SAMPLES].sort().values.tolist()
        items = [dataset[i] for i in order]
        inputs = [item[0] if isinstance(item, (tuple, list)) else item for item in items]
        if not (
            all(isinstance(x, torch.Tensor) and x.ndim == 3 for x in inputs) or all(isinstance(x, str) for x in inputs)
        ):
            raise TypeError("samples are not image tensors or strings")
        sample = torch.stack(inputs) if isinstance(inputs[0], torch.Tensor) else inputs
    except (TypeError, IndexError, KeyError) as exc:
        logging.getLogger("zoo.transfer").info("no drift reference: %s", exc)
        return None
    ref = reference_blob(model, sample, head=head, seed=seed)
    ref["data_fingerprint"] = fingerprint
    return ref


def store_finetune_reference(name: str, ref: dict[str, Any], registry: Any) -> str:
    from zoo.transfer.store import save_drift_reference

    registry, close = (registry, False) if registry is not None else _open_registry(None)
    try:
        ref = dict(ref)
        blob = ref.pop("blob")
        return save_drift_reference(registry, name, blob, **ref)
    finally:
        if close:
            registry.close()
