"""Shared helpers of zoo-torchvision's tests (a uniquely named module, not a conftest,
so that it never collides with the other plugins' test helpers)."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parents[1]


def load_generator():
    """tools/generate_catalogue.py as a module."""
    path = PLUGIN_ROOT / "tools" / "generate_catalogue.py"
    spec = importlib.util.spec_from_file_location("zoo_torchvision_generate_catalogue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def skeleton():
    """Build modules without memory or initialisation: parameters and buffers move to
    the meta device as they are registered and ``nn.init`` is skipped, while plain
    tensor maths in a constructor still runs (torchvision's RegNet builders compute
    their widths with torch, which ``torch.device("meta")`` breaks)."""
    from torch import nn

    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def parameter(self, name, param):
        if param is not None:
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def buffer(self, name, tensor, persistent=True):
        register_buffer(self, name, None if tensor is None else tensor.to("meta"), persistent)

    inits = {n: getattr(nn.init, n) for n in dir(nn.init) if n.endswith("_") and not n.startswith("_")}
    nn.Module.register_parameter, nn.Module.register_buffer = parameter, buffer
    for n in inits:
        setattr(nn.init, n, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        nn.Module.register_parameter, nn.Module.register_buffer = register_parameter, register_buffer
        for n, fn in inits.items():
            setattr(nn.init, n, fn)


def import_string(target: str):
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def build(family, **overrides):
    """The family's architecture as zoo's default builder makes it, as a skeleton."""
    with skeleton():
        return import_string(family.builder)(**{**(family.builder_kwargs or {}), **overrides})


def final_layers(model, width: int) -> list[str]:
    """Names of the Linear / 1x1 Conv2d layers with ``width`` outputs, in module order."""
    from torch import nn

    return [
        name
        for name, m in model.named_modules()
        if (isinstance(m, nn.Linear) and m.out_features == width)
        or (isinstance(m, nn.Conv2d) and m.out_channels == width and m.kernel_size == (1, 1))
    ]


def num_params(model) -> int:
    return sum(p.numel() for p in model.parameters())
