"""zoo.heads: the one module that finds, measures, replaces and sets aside a head."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from zoo.errors import ZooPluginError, ZooValidationError  # noqa: E402
from zoo.heads import find_head, head_keys, head_outputs, headless, replace_head, submodule  # noqa: E402


def net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 7))


class Squeeze(nn.Module):  # SqueezeNet's head: a 1x1 conv in a Sequential named classifier
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(3, 8, 3)
        self.classifier = nn.Sequential(nn.Dropout(0.0), nn.Conv2d(8, 5, 1), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return self.classifier(self.features(x)).flatten(1)


def test_replace_keeps_dtype_and_device_and_zero_removes_the_head():
    model = net().to(torch.float64)
    new = replace_head(model, "3", 2)
    assert isinstance(model[3], nn.Linear) and model[3] is new
    assert (new.in_features, new.out_features, new.weight.dtype) == (4, 2, torch.float64)
    assert head_outputs(model, "3") == 2 and head_keys(model, "3") == ("3.weight", "3.bias")
    assert model(torch.randn(2, 3, 8, 8, dtype=torch.float64)).shape == (2, 2)
    replace_head(model, "3", 0)
    assert isinstance(model[3], nn.Identity) and head_outputs(model, "3") == 0
    assert model(torch.randn(2, 3, 8, 8, dtype=torch.float64)).shape == (2, 4)


def test_a_1x1_conv_head_is_replaced_too():
    model = Squeeze()
    replace_head(model, "classifier.1", 3)
    assert model(torch.randn(1, 3, 9, 9)).shape == (1, 3)


def test_a_wrong_head_path_or_layer_is_a_typed_error_naming_the_family():
    with pytest.raises(ZooPluginError, match="family 'toy'.*'nope' does not name a submodule"):
        replace_head(net(), "nope", 3, family="toy")
    with pytest.raises(ZooPluginError, match="is a Flatten, not an nn.Linear"):
        replace_head(net(), "2", 3)


def test_find_head_takes_the_given_path_then_a_conventional_one():
    class Fc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Linear(4, 4)
            self.fc = nn.Linear(4, 2)

    assert find_head(Fc()) == "fc" and find_head(Fc(), "body") == "body"
    with pytest.raises(ZooValidationError, match="'x' is not a submodule"):
        find_head(Fc(), "x")
    with pytest.raises(ZooValidationError, match="cannot tell where the classification head"):
        find_head(nn.Sequential(nn.ReLU()))
    assert submodule(Fc(), "") is not None and submodule(Fc(), "x.y") is None and submodule(Fc(), None) is None


def test_headless_gives_features_and_puts_the_head_back_even_on_error():
    model = net()
    head = model[3]
    with headless(model, "3") as taken:
        assert taken is head and isinstance(model[3], nn.Identity)
        assert model(torch.randn(1, 3, 8, 8)).shape == (1, 4)
    assert model[3] is head
    with pytest.raises(RuntimeError), headless(model, "3"):
        raise RuntimeError("boom")
    assert model[3] is head


def test_the_old_name_warns_and_importing_heads_imports_no_torch():
    import zoo._builtin

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = zoo._builtin.replace_head
    assert old is replace_head and caught[0].category is DeprecationWarning
    code = "import sys, zoo.heads, zoo._builtin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
