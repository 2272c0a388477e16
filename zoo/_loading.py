"""Model assembly for :func:`zoo.get`: build on ``meta``, load strictly except the head,
adapt the head, materialise, place. Imports torch (``zoo.resolve`` imports this module
only inside ``get``).

Why ``meta``: a backbone built on the meta device allocates nothing and initialises
nothing; ``load_state_dict(assign=True)`` then makes the checkpoint's tensors (memory-
mapped from the cache, or already on the GPU) the model's parameters without a copy.
Only the new head is initialised.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from zoo._load_report import LoadReport
from zoo.errors import ZooError, ZooLoadError, ZooValidationError
from zoo.heads import head_keys, head_outputs, submodule
from zoo.plugins import PluginHost, import_object
from zoo.records import Family
from zoo.weights import FetchedFile
from zoo.weights._open import begin_open

_log = logging.getLogger("zoo.resolve")

# In-place initialisers: on a meta tensor they compute nothing, yet torch runs several
# through Python decompositions (``normal_`` on meta costs ~4 ms a call, most of a
# ResNet-50 meta build). None of them can change a shape.
_INIT_OPS = frozenset(
    getattr(torch.Tensor, n)
    for n in (
        "normal_",
        "uniform_",
        "fill_",
        "zero_",
        "erfinv_",
        "mul_",
        "add_",
        "sub_",
        "div_",
        "clamp_",
        "clamp_min_",
        "clamp_max_",
        "copy_",
        "exponential_",
        "log_normal_",
        "cauchy_",
        "geometric_",
        "random_",
        "bernoulli_",
        "sqrt_",
        "exp_",
        "fmod_",
        "remainder_",
    )
    if hasattr(torch.Tensor, n)
) | frozenset(
    # nn.init's functions dispatch to the mode themselves; whatever they call inside
    # would no longer see it, so they are skipped as a whole.
    getattr(nn.init, n)
    for n in (
        "uniform_",
        "normal_",
        "trunc_normal_",
        "constant_",
        "ones_",
        "zeros_",
        "eye_",
        "dirac_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "orthogonal_",
        "sparse_",
    )
    if hasattr(nn.init, n)
)


class _SkipInitOnMeta(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _INIT_OPS:
            # nn.init passes the tensor by keyword when it dispatches to the mode
            first = args[0] if args else kwargs.get("tensor")
            if isinstance(first, torch.Tensor) and first.is_meta:
                return first
        return func(*args, **kwargs)


# -- devices and dtypes --------------------------------------------------------------------

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float64": torch.float64,
    "double": torch.float64,
}


def target_device(device: Any) -> torch.device:
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ZooValidationError(
            "device", f"{device!r} is not a device", hint="use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ZooValidationError(
                "device",
                f"{device!r}: CUDA is not available on this machine",
                hint="use device='auto' (cuda, then mps, then cpu) or 'cpu'",
            )
        index = torch.cuda.current_device() if dev.index is None else dev.index
        if index >= torch.cuda.device_count():
            raise ZooValidationError(
                "device",
                f"{device!r}: there are {torch.cuda.device_count()} CUDA devices",
                hint="use 'cuda:0' … or device='auto'",
            )
        return torch.device("cuda", index)
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ZooValidationError("device", "MPS is not available on this machine", hint="use 'auto' or 'cpu'")
    if dev.type == "meta":
        raise ZooValidationError("device", "a model on 'meta' has no weights", hint="use 'auto', 'cpu' or 'cuda'")
    return dev


def target_dtype(dtype: Any) -> torch.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str):
        resolved = _DTYPES.get(dtype.strip().lower().removeprefix("torch."))
        if resolved is None:
            raise ZooValidationError(
                "dtype", f"unknown dtype {dtype!r}", hint="use float32, float16, bfloat16 (or a torch.dtype)"
            )
        return resolved
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    raise ZooValidationError(
        "dtype", f"{dtype!r} is not a floating-point dtype", hint="use torch.float32, torch.float16 or torch.bfloat16"
    )


# -- building ------------------------------------------------------------------------------


def build_on_meta(host: PluginHost, family: Family, num_classes: int | None) -> nn.Module:
    with torch.device("meta"), _SkipInitOnMeta():
        return host.build(family, pretrained=True, num_classes=num_classes)


def build_fresh(
    host: PluginHost, family: Family, *, num_classes: int | None, device: torch.device
) -> tuple[nn.Module, LoadReport]:
    """``pretrained=False``: the architecture's own initialisation, on ``device``."""
    with torch.device(device):
        model = host.build(family, pretrained=False, num_classes=num_classes)
        if num_classes is not None:
            model = host.adapt_head(model, family, num_classes)
    head = head_keys(model, family.head) if num_classes else ()
    return model, LoadReport(
        pretrained=False,
        head_reinitialised=head,
        num_classes=num_classes if num_classes is not None else head_outputs(model, family.head),
    )


# -- loading -------------------------------------------------------------------------------


def _apply_adapter(host: PluginHost, family: Family, ref: str, state: dict[str, Any]) -> tuple[dict, str | None]:
    adapter = host.key_adapter_for(family.name, ref)
    if adapter is None:
        return state, None
    fn = import_object(adapter.function, what=f"key adapter {adapter.name!r}")
    try:
        adapted = fn(state)
    except ZooError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a plugin's adapter is a typed load error
        raise ZooLoadError(
            f"key adapter {adapter.name!r} ({adapter.function}) failed on {ref}: {type(exc).__name__}: {exc}",
            hint="the checkpoint is not in the layout the adapter was written for; check the record's "
            "source, or fix the plugin's adapter",
        ) from None
    if not isinstance(adapted, dict):
        adapted = dict(adapted)
    return adapted, adapter.name


def load_pretrained(
    host: PluginHost,
    family: Family,
    ref: str,
    fetched: FetchedFile,
    *,
    num_classes: int | None,
    device: torch.device,
    dtype: torch.dtype | None,
) -> tuple[nn.Module, LoadReport]:
    # Every byte is checked on load (xxh3 over the mapped file), in a thread while the
    # model is built on meta; the tensors are views of that same map.
    load_device = device if device.type in ("cuda", "mps") else torch.device("cpu")
    pending = begin_open(fetched, device=load_device)
    model = build_on_meta(host, family, num_classes)
    state, adapter = _apply_adapter(host, family, ref, pending())

    head = family.head
    prefix = f"{head}." if head else None
    ckpt_weight = state.get(f"{head}.weight") if head else None
    ckpt_classes = int(ckpt_weight.shape[0]) if isinstance(ckpt_weight, torch.Tensor) and ckpt_weight.dim() else None
    if ckpt_classes is not None and (submodule(model, head) is None or head_outputs(model, head) != ckpt_classes):
        # A fine-tuned checkpoint (10 classes) or in21k weights: give the model the
        # checkpoint's head first, so that it loads like every other tensor.
        with torch.device("meta"), _SkipInitOnMeta():
            model = host.adapt_head(model, family, ckpt_classes)

    expected = model.state_dict(keep_vars=True)  # meta tensors: nothing is copied

    def is_head(key: str) -> bool:
        return prefix is not None and key.startswith(prefix)

    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        (k, tuple(state[k].shape), tuple(expected[k].shape))
        for k in state
        if k in expected and state[k].shape != expected[k].shape
    ]
    # BatchNorm fills in a num_batches_tracked its checkpoint predates (old torchvision files).
    bad_missing = [k for k in missing if not is_head(k) and not k.endswith("num_batches_tracked")]
    bad_unexpected = [k for k in unexpected if not is_head(k)]
    bad_mismatched = [m for m in mismatched if not is_head(m[0])]
    if bad_missing or bad_unexpected or bad_mismatched:
        raise _load_error(ref, family, bad_missing, bad_unexpected, bad_mismatched, adapter)
    for key, _, _ in mismatched:
        del state[key]  # a head of a shape we could not adapt to: it is re-initialised below
    for key, value in state.items():
        # assign=True keeps the checkpoint's dtype: cast here, once, to what the model (or
        # the caller) wants, instead of converting the whole model afterwards.
        want = expected.get(key)
        if want is None or not value.is_floating_point() or not want.is_floating_point():
            continue
        target = dtype or want.dtype
        if value.dtype != target:
            state[key] = value.to(target)

    result = model.load_state_dict(state, strict=False, assign=True)
    loaded = len(state) - len(result.unexpected_keys)

    if num_classes is not None:
        model = host.adapt_head(model, family, num_classes)
    reinitialised, recomputed = materialise(model, host, family, device)
    if num_classes:
        reinitialised = tuple(dict.fromkeys(reinitialised + head_keys(model, head)))
    elif reinitialised and num_classes is None:
        warnings.warn(
            f"{ref}: the checkpoint has no usable head at {head!r}; it was initialised at "
            f"random ({', '.join(reinitialised)}). Pass num_classes=0 for features or k for a "
            "head to train",
            stacklevel=3,
        )
    report = LoadReport(
        pretrained=True,
        loaded=loaded,
        missing=tuple(k for k in result.missing_keys if is_head(k)),
        unexpected=tuple(result.unexpected_keys),
        mismatched=tuple(mismatched),
        head_reinitialised=reinitialised,
        adapter=adapter,
        checkpoint_classes=ckpt_classes,
        num_classes=num_classes if num_classes is not None else head_outputs(model, head),
        recomputed_buffers=recomputed,
    )
    return model, report


def _load_error(
    ref: str,
    family: Family,
    missing: list[str],
    unexpected: list[str],
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
    adapter: str | None,
) -> ZooLoadError:
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing from the checkpoint: {_list(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} not in the architecture: {_list(unexpected)}")
    if mismatched:
        parts.append(
            f"{len(mismatched)} of another shape: "
            + _list([f"{k} (checkpoint {list(a)}, model {list(b)})" for k, a, b in mismatched])
        )
    return ZooLoadError(
        f"the checkpoint of {ref} does not fit architecture {family.name!r} "
        f"({family.builder}{', key adapter ' + adapter if adapter else ''}); nothing was loaded:\n  - "
        + "\n  - ".join(parts),
        missing=missing,
        unexpected=unexpected,
        mismatched=mismatched,
        hint="the record names the wrong architecture or the checkpoint uses other key names; fix the "
        "record's arch, or declare a key adapter for it (hook zoo_key_adapters)",
    )


def _list(items: list[str], limit: int = 10) -> str:
    return ", ".join(items[:limit]) + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def materialise(
    model: nn.Module, host: PluginHost, family: Family, device: torch.device
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Give everything still on ``meta`` real storage: modules with meta parameters (a
    new head; a head the checkpoint lacks) get ``reset_parameters()``; non-persistent
    buffers no checkpoint carries are recomputed by building the architecture for real
    on CPU and copying them. Returns (re-initialised keys, recomputed buffers)."""
    reinitialised: list[str] = []
    meta_buffers: list[tuple[str, nn.Module, str]] = []
    for mname, module in model.named_modules():
        params = [n for n, p in module._parameters.items() if p is not None and p.is_meta]
        if params:
            for n in params:
                p = module._parameters[n]
                module._parameters[n] = nn.Parameter(torch.empty_like(p, device=device), requires_grad=p.requires_grad)
            for n, b in list(module._buffers.items()):
                if b is not None and b.is_meta and n not in module._non_persistent_buffers_set:
                    module._buffers[n] = torch.empty_like(b, device=device)
            reset = getattr(module, "reset_parameters", None)
            if not callable(reset):
                raise ZooLoadError(
                    f"{mname or type(module).__name__}: parameters {params} are neither in the "
                    "checkpoint nor can they be initialised (no reset_parameters)",
                    hint="the plugin's zoo_adapt_head must create an initialised head",
                )
            with torch.no_grad():
                reset()
            reinitialised += [f"{mname}.{n}" if mname else n for n in params]
        for n, b in module._buffers.items():
            if b is not None and b.is_meta:
                meta_buffers.append((f"{mname}.{n}" if mname else n, module, n))
    if not meta_buffers:
        return tuple(reinitialised), ()
    # The values of non-persistent buffers (e.g. timm's relative_position_index) are
    # computed in the modules' constructors: a real build is the one generic way to get them.
    _log.info(
        "%s: recomputing %d buffer(s) with a real build on CPU: %s",
        family.name,
        len(meta_buffers),
        ", ".join(k for k, _, _ in meta_buffers),
    )
    with torch.device("cpu"):
        real = host.build(family, pretrained=False, num_classes=None)
    values = dict(real.named_buffers())
    recomputed = []
    for key, module, n in meta_buffers:
        value = values.get(key)
        if value is None and "." in key:  # the model was wrapped (e.g. a text backbone + head)
            value = values.get(key.split(".", 1)[1])
        if value is None:
            raise ZooLoadError(
                f"buffer {key} is in neither the checkpoint nor a fresh build of {family.name!r}",
                hint="the plugin's builder must create it; report this to the plugin's authors",
            )
        module._buffers[n] = value.to(device)
        recomputed.append(key)
    return tuple(reinitialised), tuple(recomputed)


# -- placing -------------------------------------------------------------------------------


def _is_conv_net(model: nn.Module) -> bool:
    convs = linears = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            convs += 1
        elif isinstance(m, nn.Linear):
            linears += 1
    return convs > linears


def place(
    model: nn.Module, *, device: torch.device, dtype: torch.dtype | None, channels_last: bool | None
) -> nn.Module:
    """Device, dtype, memory format, eval mode. Tensors already where they belong (the
    checkpoint's, loaded straight onto ``device``) are not copied."""
    if any(t.device != device for t in _tensors(model)):
        model.to(device)
    if dtype is not None:
        model.to(dtype)
    if channels_last is None:
        channels_last = device.type == "cuda" and _is_conv_net(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model.eval()


def _tensors(model: nn.Module):
    yield from model.parameters()
    yield from model.buffers()
