"""The loop behind ``zoo.finetune``: checks, plan, phases, epochs, checkpoints, export,
registration. Recipes only plan (:mod:`zoo.finetuning.runner`); everything here is the
same for all of them."""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ZooNotFoundError, ZooRecipeError, ZooStoreError, ZooValidationError
from zoo.finetuning import data as _data
from zoo.finetuning import layers as _layers
from zoo.finetuning.checkpoint import Checkpointer, join_optimizer, model_state, restore_rng
from zoo.finetuning.dist import Dist
from zoo.finetuning.dist import setup as dist_setup
from zoo.finetuning.options import FinetuneOptions
from zoo.finetuning.result import EpochMetrics, FinetuneResult, PhaseInfo
from zoo.finetuning.runner import FinetuneContext, Phase, check_runner
from zoo.heads import find_head

_log = logging.getLogger("zoo.finetune")

__all__ = ["run"]


# -- arguments ----------------------------------------------------------------------------------


def _device(device: Any, dist: Dist) -> torch.device:
    if dist.enabled and torch.cuda.is_available() and device in (None, "auto", "cuda"):
        return torch.device("cuda", dist.local_rank)
    from zoo._loading import target_device  # the resolver's rule: cuda, then mps, then cpu

    return target_device(device)  # refuses 'meta' and unavailable devices with a typed error


def _amp(amp: Any, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use a GradScaler)."""
    if amp is None:
        amp = device.type == "cuda"
    if amp is False:
        return None, False
    if amp is True:
        if device.type == "cuda":
            if torch.cuda.is_bf16_supported():
                return torch.bfloat16, False
            return torch.float16, True
        return (torch.float16 if device.type == "mps" else torch.bfloat16), False
    if isinstance(amp, str) and amp in ("bf16", "bfloat16"):
        return torch.bfloat16, False
    if isinstance(amp, str) and amp in ("fp16", "float16"):
        return torch.float16, device.type == "cuda"
    raise ZooValidationError("amp", f"must be None (auto), True, False, 'bf16' or 'fp16', not {amp!r}")


def _check_int(value: Any, name: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ZooValidationError(name, f"must be an integer >= {low}, not {value!r}")
    return value


def _recipe(host: Any, name: Any) -> Any:
    if not isinstance(name, str) or not name.strip():
        raise ZooValidationError("recipe", f"must be a recipe name, not {name!r}", hint="`zoo recipes` lists them")
    known = host.recipes()
    key = name.strip().lower()
    if key not in known:
        import difflib

        raise ZooNotFoundError(
            "recipe",
            name,
            difflib.get_close_matches(key, list(known), 3),
            hint="known recipes: "
            + (", ".join(sorted(known)) or "none — install zoo-recipes (pip install -e plugins/zoo-recipes)"),
        )
    return known[key]


# -- the run ------------------------------------------------------------------------------------


def run(model_or_name: Any, train: Any, val: Any, options: FinetuneOptions) -> FinetuneResult:
    """One fine-tuning run (``zoo.finetune``); ``options`` were checked when they were made."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    o = options
    seed, registry, host = o.seed, o.registry, o.host

    # The recipe and its hyper-parameters: every mistake here costs nothing yet.
    if host is None:
        from zoo.plugins import default_host

        host = default_host()
    record = _recipe(host, o.recipe)
    if o.register_as is not None:
        # The team's default store (ZOO_STORE) is checked before any training.
        from zoo.registry._reads import RegistryReads
        from zoo.weights._publish import check_default_store

        check_default_store(registry if isinstance(registry, RegistryReads) else None, host)
    from zoo.plugins import import_object

    runner_cls = import_object(record.runner, what=f"runner of recipe {record.name!r}")
    params = dict(record.params or {})
    params.update(o.recipe_params)
    batch_size = o.batch_size
    if batch_size is None and isinstance(train, torch.utils.data.DataLoader) and train.batch_size:
        batch_size = train.batch_size  # the loader's batch size, unless told otherwise
    for key, value in (("epochs", o.epochs), ("batch_size", batch_size), ("lr", o.lr)):
        if value is not None:
            params[key] = value
    runner = runner_cls(**params)
    check_runner(runner, record.name, record.runner)
    params = dict(getattr(runner, "params", params))
    for key in ("epochs", "batch_size", "lr"):
        if key not in params:
            raise ZooRecipeError(
                f"recipe {record.name!r}: its runner has no {key!r} hyper-parameter",
                hint="every runner's params hold epochs, batch_size and lr",
            )
    total_epochs, global_batch = int(params["epochs"]), int(params["batch_size"])

    dist = dist_setup(want_cuda=o.device in (None, "auto") or "cuda" in str(o.device))
    try:
        target = _device(o.device, dist)
        autocast_dtype, use_scaler = _amp(o.amp, target)

        # The data, checked before anything is trained.
        t = time.perf_counter()
        train_spec = _data.as_spec(train, "train")
        val_spec = _data.as_spec(val, "val") if val is not None else None
        if dist.enabled and (train_spec.iterable or (val_spec is not None and val_spec.iterable)):
            raise ZooValidationError(
                "train",
                "a DataLoader over an IterableDataset cannot be split between processes by zoo",
                hint="pass a map-style Dataset under torchrun",
            )
        # One pass: labels checked, samples counted and fingerprinted (for lineage).
        train_scan = _data.scan(train_spec, fingerprint=True)
        val_scan = _data.scan(val_spec, fingerprint=True) if val_spec else None
        timings["scan_s"] = time.perf_counter() - t

        # The model.
        t = time.perf_counter()
        model, num_classes = _model(
            model_or_name, o.num_classes, train_scan, target, registry, seed, host, o.acknowledge, o.head
        )
        head = find_head(model, o.head)
        _data.check_labels(train_scan, num_classes, "train")
        if val_scan is not None:
            _data.check_labels(val_scan, num_classes, "val")
        card = getattr(model, "zoo", None)
        parent_record = getattr(card, "record", None)
        if o.register_as is not None and card is None:
            raise ZooValidationError(
                "register_as",
                "needs a model that zoo.get built (model.zoo names its architecture and parent weights)",
                hint="pass the model's name, or a model from zoo.get(...)",
            )
        if parent_record is not None:
            from zoo import policy  # the registry's usage policies, then the plugins' checks

            policy.enforce(
                parent_record, "finetune", registry=registry, host=host, acknowledge=o.acknowledge, stacklevel=3
            )
        model.to(target)
        timings["model_s"] = time.perf_counter() - t

        ctx = FinetuneContext(
            head=head,
            num_classes=num_classes,
            epochs=total_epochs,
            params=params,
            device=target,
            world_size=dist.world,
            family=getattr(card, "arch", None),
            modality=getattr(card, "modality", None),
            registry=registry,
            host=host,
        )
        torch.manual_seed(seed)
        phases = list(runner.plan(model, ctx))
        _check_phases(phases, record.name, total_epochs)
        model.to(target)  # adapters the plan added

        run_key = {
            "recipe": record.name,
            "params": params,
            "seed": seed,
            "num_classes": num_classes,
            "train_samples": train_scan.count,
            "val_samples": val_scan.count if val_scan else None,
            "parent": getattr(card, "qualified_name", None),
        }
        checkpointer = Checkpointer(o.checkpoint_dir, run_key) if o.checkpoint_dir is not None else None
        loop = _Loop(
            model=model,
            head=head,
            phases=phases,
            params=params,
            train=train_spec,
            val=val_spec,
            global_batch=global_batch,
            seed=seed,
            device=target,
            dist=dist,
            autocast_dtype=autocast_dtype,
            use_scaler=use_scaler,
            checkpointer=checkpointer,
            progress=o.progress,
            timings=timings,
            recipe=record.name,
            deadline=started + o.time_limit_s if o.time_limit_s else None,
            eval_every=o.eval_every,
        )
        sha = getattr(card, "sha256", None)
        if sha and not dist.enabled and autocast_dtype is None:
            # The on-disk feature cache shared with zoo.rank (zoo.finetuning.features): the
            # frozen pretrained backbone's features of this exact data are computed once.
            from zoo.finetuning.features import FeatureCache

            loop.feature_keys = {
                scan_arg: FeatureCache.key(sha, fingerprint)
                for scan_arg, fingerprint in (
                    ("train", train_scan.fingerprint),
                    ("val", val_scan.fingerprint if val_scan else None),
                )
                if fingerprint
            }
        if o.resume:
            loop.resume()
        loop.train()

        export = getattr(runner, "export", None)  # optional in the protocol
        model = export(model) if callable(export) else model
        model.eval()
        if card is not None and getattr(model, "zoo", None) is None:
            model.zoo = card
        result = FinetuneResult(
            model=model,
            recipe=record.name,
            params=params,
            metrics=loop.history,
            timings=timings,
            trainable_params=loop.trained_numel,
            total_params=sum(p.numel() for p in model.parameters()),
            phases=loop.phase_infos,
            num_classes=num_classes,
            train_samples=train_scan.count,
            val_samples=val_scan.count if val_scan else None,
            data_fingerprint=train_scan.fingerprint,
            resumed_from_epoch=loop.resumed_from,
            seed=seed,
            world_size=dist.world,
            checkpoint=str(checkpointer.directory) if checkpointer else None,
        )
        if loop.stopped_early:
            result.extra["stopped_early"] = True
        plugin = host.owner("recipes", record.name)
        info = next((i for i in host.plugins if i.name == plugin), None)
        result.lineage = {
            "card": card,
            "recipe": record,
            "plugin": (plugin, getattr(info, "version", None)),
            "train_scan": train_scan,
            "val_scan": val_scan,
            "dataset": o.dataset,
            "preprocessing": o.preprocessing,
            "registry": registry,
            "host": host,
        }

        if o.register_as is not None:
            t = time.perf_counter()
            # The drift reference (zoo drift) is computed before registering, stored right after.
            reference = None
            if dist.main and not train_spec.iterable:
                from zoo.transfer.core import finetune_reference

                reference = finetune_reference(
                    model, loop.head, train_spec.dataset, fingerprint=train_scan.fingerprint, seed=seed
                )
            try:
                name = result.register(o.register_as) if dist.main else None
            except ZooStoreError as exc:
                # The trained model is not lost: the caller retries the upload (it resumes).
                exc.result = result  # type: ignore[attr-defined]
                exc.hint = (exc.hint + "; " if exc.hint else "") + (
                    "the fine-tuned model is on this error: exc.result.register(NAME) tries again"
                )
                exc.args = (f"{exc.message}\n  hint: {exc.hint}",)
                raise
            if reference is not None and name is not None:
                from zoo.transfer.core import store_finetune_reference

                store_finetune_reference(name, reference, registry)
                result.extra["drift_reference"] = True
            result.registered = dist.broadcast(name)
            timings["register_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        return result
    finally:
        dist.close()


def _check_phases(phases: list[Phase], recipe: str, epochs: int) -> None:
    if not phases or not all(isinstance(p, Phase) for p in phases):
        raise ZooRecipeError(f"recipe {recipe!r}: plan() must return a non-empty list of zoo.finetuning.Phase")
    for p in phases:
        if isinstance(p.epochs, bool) or not isinstance(p.epochs, int) or p.epochs < 0:
            raise ZooRecipeError(f"recipe {recipe!r}: phase {p.name!r} has {p.epochs!r} epochs")
        if not p.groups or not any(g.params for g in p.groups):
            raise ZooRecipeError(f"recipe {recipe!r}: phase {p.name!r} trains no parameters")
    if sum(p.epochs for p in phases) != epochs:
        raise ZooRecipeError(
            f"recipe {recipe!r}: its phases add up to {sum(p.epochs for p in phases)} epochs, "
            f"not the {epochs} asked for"
        )


def seeded_get(name: str, seed: int, **kwargs: Any) -> nn.Module:
    """``zoo.get(name, **kwargs)`` whose new head is initialised from ``seed`` alone:
    the same seed gives the same head whatever ran before, and the caller's global RNG
    is left as it was (the CLI and the API build the same model)."""
    import zoo

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return zoo.get(name, **kwargs)


def _model(
    model_or_name: Any,
    num_classes: int | None,
    scan: _data.ScanResult,
    device: torch.device,
    registry: Any,
    seed: int,
    host: Any,
    acknowledge: Any,
    head: str | None,
) -> tuple[nn.Module, int]:
    if isinstance(model_or_name, str):
        if num_classes is None:
            num_classes = scan.max_label + 1
        model = seeded_get(
            model_or_name,
            seed,
            num_classes=num_classes,
            device=device,
            registry=registry,
            host=host,
            progress=False,
            acknowledge=acknowledge,
        )
        return model, num_classes
    if not isinstance(model_or_name, nn.Module):
        raise ZooValidationError(
            "model_or_name",
            f"must be a model name or an nn.Module, not {type(model_or_name).__name__}",
            hint="e.g. zoo.finetune('resnet50', train, num_classes=10)",
        )
    model = _layers.unwrap(model_or_name)
    outputs = _outputs(model, head)
    if num_classes is None:
        if outputs is None:
            raise ZooValidationError(
                "num_classes", "cannot tell how many classes this model's head has", hint="pass num_classes="
            )
        num_classes = outputs
    elif outputs is not None and outputs != num_classes:
        raise ZooValidationError(
            "num_classes",
            f"is {num_classes}, but the model's head has {outputs} outputs",
            hint="give the model a head of that size (zoo.get(name, num_classes=k)), "
            "or pass the name instead of the model",
        )
    return model, num_classes


def _outputs(model: nn.Module, head: str | None) -> int | None:
    try:
        head = model.get_submodule(find_head(model, head))
    except ZooValidationError:
        return None
    weight = getattr(head, "weight", None)
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) else None


# -- the loop -----------------------------------------------------------------------------------


class _Progress:
    """A rich progress bar on stderr (rank 0), or a callable that gets events, or nothing."""

    def __init__(self, progress: Any, dist: Dist) -> None:
        self.callback: Callable[[dict[str, Any]], None] | None = None
        self.bar = None
        if not dist.main or progress is False:
            return
        if callable(progress):
            self.callback = progress
            return
        if progress is None and not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]} acc {task.fields[acc]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.bar.start()
        self.task = None

    def start_epoch(self, description: str, total: int) -> None:
        if self.bar is None:
            return
        if self.task is None:  # one line per run, reused epoch after epoch
            self.task = self.bar.add_task(description, total=total, loss="-", acc="-")
        else:
            self.bar.reset(self.task, total=total, description=description)

    def step(self, loss: float | None = None, acc: float | None = None) -> None:
        if self.bar is not None and self.task is not None:
            fields = {}
            if loss is not None:
                fields = {"loss": f"{loss:.3f}", "acc": f"{100 * acc:.1f}%"}
            self.bar.update(self.task, advance=1, **fields)

    def event(self, **event: Any) -> None:
        if self.callback is not None:
            self.callback(event)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _Loop:
    def __init__(
        self,
        *,
        model: nn.Module,
        head: str,
        phases: list[Phase],
        params: Mapping[str, Any],
        train: _data.DataSpec,
        val: _data.DataSpec | None,
        global_batch: int,
        seed: int,
        device: torch.device,
        dist: Dist,
        autocast_dtype: torch.dtype | None,
        use_scaler: bool,
        checkpointer: Checkpointer | None,
        progress: Any,
        timings: dict[str, float],
        recipe: str,
        deadline: float | None = None,
        eval_every: int = 1,
    ) -> None:
        self.model, self.head, self.phases, self.params = model, head, phases, params
        self.train_spec, self.val_spec = train, val
        self.global_batch, self.seed, self.device, self.dist = global_batch, seed, device, dist
        self.autocast_dtype, self.use_scaler = autocast_dtype, use_scaler
        self.checkpointer, self.timings, self.recipe = checkpointer, timings, recipe
        self.progress_arg = progress
        self.deadline = deadline
        self.eval_every = eval_every
        self.stopped_early = False
        self.history: list[EpochMetrics] = []
        self.phase_infos: list[PhaseInfo] = []
        self.trained: dict[int, int] = {}  # id -> numel of every parameter that ever trained
        self.resumed_from: int | None = None
        self._resume_state: tuple[dict[str, Any], dict[str, torch.Tensor]] | None = None
        self._features: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.feature_keys: dict[str, str] = {}  # spec.argument -> shared on-disk cache key
        self._pristine = True  # no parameter of the backbone has trained yet
        for key in ("features_s", "train_s", "eval_s", "checkpoint_s"):
            timings.setdefault(key, 0.0)

    @property
    def trained_numel(self) -> int:
        return sum(self.trained.values())

    # -- resume ---------------------------------------------------------------------------------

    def resume(self) -> None:
        assert self.checkpointer is not None
        loaded = self.checkpointer.load()
        if loaded is None:
            _log.info("resume: no checkpoint in %s, starting afresh", self.checkpointer.directory)
            return
        state, tensors = loaded
        missing, unexpected = self.model.load_state_dict(model_state(tensors), strict=False)
        if missing or unexpected:
            raise ZooValidationError(
                "resume",
                f"the checkpoint does not fit the model (missing {missing[:5]}, unexpected {unexpected[:5]})",
                hint="use another checkpoint_dir",
            )
        self.history = [EpochMetrics(**m) for m in state["history"]]
        self.resumed_from = int(state["epoch"])
        self._resume_state = (state, tensors)

    # -- helpers --------------------------------------------------------------------------------

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _sampler(self, spec: _data.DataSpec, shuffle: bool, batch: int | None = None) -> _data.GlobalBatchSampler:
        return _data.GlobalBatchSampler(
            len(spec),
            batch or self.global_batch,
            shuffle=shuffle,
            seed=self.seed,
            rank=self.dist.rank,
            world=self.dist.world,
        )

    def _batches(self, spec: _data.DataSpec, sampler: _data.GlobalBatchSampler | None):
        if spec.iterable:
            yield from ((b, None) for b in spec.loader)
            return
        sizes = [len(b) for b in sampler.global_batches()]
        for size, batch in zip(sizes, _data.loader(spec, sampler), strict=True):
            yield batch, size

    def _optimizer(self, phase: Phase) -> torch.optim.Optimizer:
        wd = float(self.params.get("weight_decay", 0.0))
        names = {id(p): n for n, p in self.model.named_parameters()}
        groups = []
        for g in phase.groups:
            decay = g.weight_decay if g.weight_decay is not None else wd
            with_decay = [p for p in g.params if not _layers.no_decay(names.get(id(p), ""), p)]
            without = [p for p in g.params if _layers.no_decay(names.get(id(p), ""), p)]
            if with_decay:
                groups.append({"params": with_decay, "lr": g.lr, "weight_decay": decay, "name": g.name})
            if without:
                groups.append({"params": without, "lr": g.lr, "weight_decay": 0.0, "name": f"{g.name} (no decay)"})
        if self.params.get("optimizer", "adamw") == "sgd":
            return torch.optim.SGD(groups, lr=phase.groups[0].lr, momentum=float(self.params.get("momentum", 0.9)))
        fused = {"fused": True} if self.device.type == "cuda" else {}
        return torch.optim.AdamW(groups, lr=phase.groups[0].lr, **fused)

    def _scheduler(self, optimizer: torch.optim.Optimizer, phase: Phase, steps_per_epoch: int):
        total = max(1, phase.epochs * steps_per_epoch)
        warm_epochs = (
            phase.warmup_epochs if phase.warmup_epochs is not None else float(self.params.get("warmup_epochs", 0.0))
        )
        warmup = min(total - 1, int(round(warm_epochs * steps_per_epoch)))
        cosine = self.params.get("schedule", "cosine") == "cosine"

        def factor(step: int) -> float:
            if warmup and step < warmup:
                return (step + 1) / (warmup + 1)
            if not cosine:
                return 1.0
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def _set_trainable(self, phase: Phase) -> None:
        for p in self.model.parameters():
            p.requires_grad_(False)
        for g in phase.groups:
            for p in g.params:
                p.requires_grad_(True)
        if phase.setup is not None:
            phase.setup(self.model)

    def _trainable(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _train_mode(self, phase: Phase) -> None:
        self.model.train()
        if phase.features or phase.backbone_eval:
            self.model.eval()
            self.model.get_submodule(self.head).train()
        _layers.freeze_frozen_batchnorm(self.model)
        if phase.freeze_bn_stats or self.params.get("freeze_bn_stats"):
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    # -- features -------------------------------------------------------------------------------

    def _headless(self):
        from zoo.heads import headless

        return headless(self.model, self.head)

    @torch.no_grad()
    def features(self, spec: _data.DataSpec) -> tuple[torch.Tensor, torch.Tensor]:
        """The frozen backbone's pooled features of every sample of ``spec``, in order,
        computed once (each process its share, then gathered)."""
        key = spec.argument
        if key in self._features:
            return self._features[key]
        t = time.perf_counter()
        shared = self.feature_keys.get(key) if self._pristine and self.resumed_from is None else None
        if shared is not None:
            from zoo.finetuning.features import FeatureCache

            hit = FeatureCache().load(shared)
            if hit is not None and "labels" in hit and len(hit["features"]) == len(spec):
                self._features[key] = (hit["features"].to(self.device), hit["labels"].long().to(self.device))
                self.timings["features_s"] += time.perf_counter() - t
                return self._features[key]
        was_training = self.model.training
        self.model.eval()
        feats, labels = [], []
        sampler = (
            None
            if spec.iterable
            else self._sampler(spec, shuffle=False, batch=max(self.global_batch, 64 * self.dist.world))
        )
        with self._headless():
            for batch, _ in self._batches(spec, sampler):
                inputs, y = _data.split_batch(batch, spec.argument)
                with self._autocast():
                    out = _data.forward(self.model, _data.to_device(inputs, self.device))
                feats.append(out.float())
                labels.append(torch.as_tensor(y).to(self.device).long().reshape(-1))
        x, y = torch.cat(feats), torch.cat(labels)
        if self.dist.enabled:
            x, y = self._gather(spec, sampler, x, y)
        self.model.train(was_training)
        self._features[key] = (x, y)
        if shared is not None:
            from zoo.finetuning.features import FeatureCache

            FeatureCache().save(shared, {"features": x, "labels": y})
        self.timings["features_s"] += time.perf_counter() - t
        return x, y

    def _gather(self, spec, sampler, x, y):
        # Put every process's rows back at their sample index.
        mine = [i for b in sampler.global_batches() for i in b[self.dist.rank :: self.dist.world]]
        counts = [sum(len(b[r :: self.dist.world]) for b in sampler.global_batches()) for r in range(self.dist.world)]
        width = max(counts)
        pad_x = torch.zeros(width, x.shape[1], device=x.device, dtype=x.dtype)
        pad_x[: len(x)] = x
        pad_y = torch.full((width,), -1, device=y.device, dtype=y.dtype)
        pad_y[: len(y)] = y
        index = torch.full((width,), -1, device=x.device, dtype=torch.long)
        index[: len(mine)] = torch.tensor(mine, device=x.device)
        xs, ys, idx = self.dist.all_gather(pad_x), self.dist.all_gather(pad_y), self.dist.all_gather(index)
        out_x = torch.empty(len(spec), x.shape[1], device=x.device, dtype=x.dtype)
        out_y = torch.empty(len(spec), device=y.device, dtype=y.dtype)
        for r in range(self.dist.world):
            keep = idx[r] >= 0
            out_x[idx[r][keep]] = xs[r][keep]
            out_y[idx[r][keep]] = ys[r][keep]
        return out_x, out_y

    # -- training -------------------------------------------------------------------------------

    def train(self) -> None:
        bar = _Progress(self.progress_arg, self.dist)
        try:
            self._train(bar)
        finally:
            bar.close()

    def _train(self, bar: _Progress) -> None:
        total_epochs = sum(p.epochs for p in self.phases)
        done = self.resumed_from or 0
        first_epoch_of_phase = 0
        resume_state = self._resume_state
        for index, phase in enumerate(self.phases):
            end = first_epoch_of_phase + phase.epochs
            self._set_trainable(phase)
            optimizer = self._optimizer(phase)
            steps = self._steps(phase)
            scheduler = self._scheduler(optimizer, phase, steps)
            scaler = torch.amp.GradScaler(self.device.type) if self.use_scaler else None
            self.phase_infos.append(
                PhaseInfo(
                    phase.name,
                    phase.epochs,
                    phase.features,
                    tuple(
                        {
                            "name": g["name"],
                            "lr": g["initial_lr"],
                            "weight_decay": g["weight_decay"],
                            "params": len(g["params"]),
                            "numel": sum(p.numel() for p in g["params"]),
                        }
                        for g in optimizer.param_groups
                    ),
                )
            )
            if end <= done or phase.epochs == 0:
                first_epoch_of_phase = end
                continue
            if resume_state is not None and done > first_epoch_of_phase:
                state, tensors = resume_state
                optimizer.load_state_dict(join_optimizer(tensors, state["optimizer"]))
                scheduler.load_state_dict(state["scheduler"])
                if scaler is not None and state.get("scaler"):
                    scaler.load_state_dict(state["scaler"])
            if resume_state is not None:
                restore_rng(resume_state[1])
                resume_state = None
            for epoch in range(max(done, first_epoch_of_phase), end):
                local = epoch - first_epoch_of_phase
                if phase.on_epoch is not None:
                    phase.on_epoch(self.model, local)
                metrics = self._epoch(phase, epoch, total_epochs, optimizer, scheduler, scaler, bar)
                self.history.append(metrics)
                if self.stopped_early:
                    return  # the time budget ran out mid-epoch: no checkpoint of a partial epoch
                if self.checkpointer is not None:
                    t = time.perf_counter()
                    if self.dist.main:
                        self.checkpointer.save(
                            epoch=epoch + 1,
                            phase=index,
                            model=self.model,
                            optimizer=optimizer,
                            scheduler=scheduler,
                            scaler=scaler,
                            history=[vars(m) for m in self.history],
                        )
                    self.dist.barrier()
                    self.timings["checkpoint_s"] += time.perf_counter() - t
                bar.event(event="epoch", epoch=epoch + 1, epochs=total_epochs, phase=phase.name, metrics=vars(metrics))
            first_epoch_of_phase = end
            done = end

    def _steps(self, phase: Phase) -> int:
        if self.train_spec.iterable:
            try:
                return len(self.train_spec.loader)
            except TypeError:
                return 1000
        return len(self._sampler(self.train_spec, shuffle=True))

    def _epoch(
        self, phase: Phase, epoch: int, total: int, optimizer, scheduler, scaler, bar: _Progress
    ) -> EpochMetrics:
        t0 = time.perf_counter()
        if not phase.features:
            self._pristine = False
        if phase.features:
            train_x, train_y = self.features(self.train_spec)
        self._train_mode(phase)
        trainable = self._trainable()
        for p in trainable:
            self.trained[id(p)] = p.numel()
        head = self.model.get_submodule(self.head)
        module = head if phase.features else self.model
        net = module
        if self.dist.enabled:
            net = nn.parallel.DistributedDataParallel(
                module, device_ids=[self.device.index] if self.device.type == "cuda" else None, static_graph=True
            )  # one wrapper per epoch: the graph is fixed; unused parameters allowed
        smoothing = float(self.params.get("label_smoothing", 0.0))
        clip = float(self.params.get("grad_clip", 0.0))
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)  # loss, correct, count
        t_train = time.perf_counter()
        if phase.features:
            sampler = _data.GlobalBatchSampler(
                len(train_y),
                self.global_batch,
                shuffle=True,
                seed=self.seed,
                rank=self.dist.rank,
                world=self.dist.world,
            )
            sampler.set_epoch(epoch)
            batches = [(list(b), len(g)) for b, g in zip(sampler, sampler.global_batches(), strict=True)]
            bar.start_epoch(f"epoch {epoch + 1}/{total} {phase.name}", len(batches))
            for idx, size in batches:
                idx_t = torch.tensor(idx, device=self.device, dtype=torch.long)
                self._step(
                    net,
                    train_x[idx_t],
                    train_y[idx_t],
                    size,
                    phase,
                    optimizer,
                    scheduler,
                    scaler,
                    trainable,
                    smoothing,
                    clip,
                    sums,
                    features=True,
                )
                bar.step(*self._running(sums))
                if self._out_of_time():
                    break
        else:
            sampler = None
            if not self.train_spec.iterable:
                sampler = self._sampler(self.train_spec, shuffle=True)
                sampler.set_epoch(epoch)
            bar.start_epoch(f"epoch {epoch + 1}/{total} {phase.name}", self._steps(phase))
            for batch, size in self._batches(self.train_spec, sampler):
                inputs, y = _data.split_batch(batch, "train")
                inputs = _data.to_device(inputs, self.device, non_blocking=True)
                y = torch.as_tensor(y).to(self.device, non_blocking=True).long().reshape(-1)
                self._step(
                    net,
                    inputs,
                    y,
                    size or len(y),
                    phase,
                    optimizer,
                    scheduler,
                    scaler,
                    trainable,
                    smoothing,
                    clip,
                    sums,
                    features=False,
                )
                bar.step(*self._running(sums))
                if self._out_of_time():
                    break
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.timings["train_s"] += time.perf_counter() - t_train
        loss_sum, correct, count = self.dist.sum(sums.tolist(), self.device)
        t_eval = time.perf_counter()
        val_loss = val_acc = None
        last = epoch + 1 == sum(p.epochs for p in self.phases) or self.stopped_early
        if self.val_spec is not None and (last or (epoch + 1) % self.eval_every == 0):
            val_loss, val_acc = self.evaluate(phase)
        self.timings["eval_s"] += time.perf_counter() - t_eval
        head_lr = optimizer.param_groups[-1]["lr"]
        for g in optimizer.param_groups:
            if g.get("name", "").startswith("head"):
                head_lr = g["lr"]
        return EpochMetrics(
            epoch=epoch + 1,
            phase=phase.name,
            train_loss=loss_sum / max(count, 1),
            train_accuracy=correct / max(count, 1),
            val_loss=val_loss,
            val_accuracy=val_acc,
            time_s=time.perf_counter() - t0,
            lr=float(head_lr),
            trainable_params=sum(p.numel() for p in trainable),
        )

    def _out_of_time(self) -> bool:
        if self.deadline is None:
            return False
        # Every process must stop at the same step: rank 0's clock decides.
        late = (
            self.dist.broadcast(time.perf_counter() > self.deadline)
            if self.dist.enabled
            else time.perf_counter() > self.deadline
        )
        self.stopped_early = self.stopped_early or late
        return late

    @staticmethod
    def _running(sums: torch.Tensor) -> tuple[float, float]:
        loss, correct, count = sums.tolist()
        return loss / max(count, 1), correct / max(count, 1)

    def _step(
        self,
        net,
        inputs,
        y,
        global_size,
        phase,
        optimizer,
        scheduler,
        scaler,
        trainable,
        smoothing,
        clip,
        sums,
        *,
        features: bool,
    ) -> None:
        optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            logits = net(inputs) if features else _data.forward(net, inputs)
        losses = F.cross_entropy(logits.float(), y, reduction="sum", label_smoothing=smoothing)
        # Each process's share is scaled so that DDP's average is the global batch's mean.
        loss = losses * (self.dist.world / global_size)
        if phase.penalty is not None:
            loss = loss + phase.penalty(self.model)
        if scaler is not None:
            scaler.scale(loss).backward()
        else:
            loss.backward()
        if clip > 0:
            if scaler is not None:
                scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(trainable, clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        with torch.no_grad():
            sums[0] += losses.detach().double()
            sums[1] += (logits.detach().argmax(-1) == y).sum().double()
            sums[2] += len(y)

    @torch.no_grad()
    def evaluate(self, phase: Phase) -> tuple[float, float]:
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        was_training = self.model.training
        self.model.eval()
        if phase.features:
            x, y = self.features(self.val_spec)
            head = self.model.get_submodule(self.head)
            for start in range(0, len(y), 4096):
                logits = head(x[start : start + 4096])
                yy = y[start : start + 4096]
                sums[0] += F.cross_entropy(logits.float(), yy, reduction="sum").double()
                sums[1] += (logits.argmax(-1) == yy).sum().double()
                sums[2] += len(yy)
            loss_sum, correct, count = sums.tolist()  # every process holds all features
        else:
            sampler = (
                None
                if self.val_spec.iterable
                else self._sampler(self.val_spec, shuffle=False, batch=max(self.global_batch, 64))
            )
            for batch, _ in self._batches(self.val_spec, sampler):
                inputs, y = _data.split_batch(batch, "val")
                y = torch.as_tensor(y).to(self.device).long().reshape(-1)
                with self._autocast():
                    logits = _data.forward(self.model, _data.to_device(inputs, self.device))
                sums[0] += F.cross_entropy(logits.float(), y, reduction="sum").double()
                sums[1] += (logits.argmax(-1) == y).sum().double()
                sums[2] += len(y)
            loss_sum, correct, count = self.dist.sum(sums.tolist(), self.device)
        self.model.train(was_training)
        return loss_sum / max(count, 1), correct / max(count, 1)
