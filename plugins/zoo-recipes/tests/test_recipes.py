"""The built-in recipes on a small real CNN and real data (scikit-learn's digits at
8x8): what each freezes, which learning rate each param group gets (read back from the
optimizer), what each leaves untouched, and the errors each raises before training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import zoo
from zoo.errors import ZooRecipeError, ZooValidationError
from zoo.finetuning.digits import digits
from zoo.testing import check_plugin

RECIPES = ("linear-probe", "full", "freeze-stages", "gradual-unfreeze", "llrd", "bitfit", "lora", "lp-ft", "l2-sp")


@pytest.fixture(autouse=True)
def one_thread():
    # pytest -n 2 on two cores: a second intra-op thread per worker only oversubscribes.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class ConvNet(nn.Module):
    """stem -> blocks (3) -> neck -> head, with BatchNorm everywhere."""

    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()

        def block(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

        self.stem = block(1, width)
        self.blocks = nn.Sequential(block(width, width), block(width, width), block(width, width))
        self.neck = nn.Sequential(
            nn.Conv2d(width, 2 * width, 1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x):
        return self.head(self.neck(self.blocks(self.stem(x))))


@pytest.fixture(scope="module")
def data():
    return digits(8, channels=1, per_class=12, test_per_class=6, mean=[0.3], std=[0.4])


def pretrained() -> ConvNet:
    torch.manual_seed(0)
    model = ConvNet()
    # "pretrained": BatchNorm statistics that are not the defaults, so that a test can
    # see whether they moved.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.9, 1.1)
    return model


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


def tune(model, data, recipe, **kwargs):
    kwargs.setdefault("epochs", 2)
    kwargs.setdefault("batch_size", 16)
    kwargs.setdefault("progress", False)
    return zoo.finetune(model, data[0], data[1], recipe=recipe, **kwargs)


def test_contract():
    result = check_plugin("recipes")
    assert set(result.recipes) == set(RECIPES)


def test_every_recipe_is_declared_with_defaults_and_when_to_use():
    rows = {r["name"]: r for r in zoo.finetuning.recipes()}
    for name in RECIPES:
        row = rows[name]
        assert row["runner"].startswith("zoo_recipes.runners:")
        assert {"epochs", "batch_size", "lr"} <= set(row["params"])
        assert "When to use" in row["description"] or "when to use" in row["description"].lower()


def test_linear_probe_freezes_the_backbone_and_its_statistics(data):
    model = pretrained()
    before = state(model)
    result = tune(model, data, "linear-probe")
    moved = changed(before, state(result.model))
    assert moved == {"head.weight", "head.bias"}  # no BatchNorm statistic either
    assert result.trainable_params == 16 * 10 + 10
    assert result.phases[0].features and result.timings["features_s"] > 0


def test_linear_probe_cached_features_agree_with_recomputed(data):
    """The cache is an optimisation only: training the head on features computed once
    gives the head that re-running the frozen backbone every epoch gives."""
    cached = tune(pretrained(), data, "linear-probe", epochs=3)
    rerun = tune(pretrained(), data, "linear-probe", epochs=3, cache_features=False)
    assert not rerun.phases[0].features
    torch.testing.assert_close(cached.model.head.weight, rerun.model.head.weight, rtol=0, atol=1e-5)
    for a, b in zip(cached.metrics, rerun.metrics, strict=True):
        assert a.val_accuracy == b.val_accuracy
        assert a.train_loss == pytest.approx(b.train_loss, abs=1e-5)


def test_full_backbone_at_a_lower_lr(data):
    model = pretrained()
    before = state(model)
    result = tune(model, data, "full", lr=2e-3, backbone_lr_mult=0.25)
    lrs = {g["name"]: g["lr"] for g in result.phases[0].groups}
    assert lrs["backbone"] == pytest.approx(5e-4) and lrs["head"] == pytest.approx(2e-3)
    assert lrs["backbone (no decay)"] == pytest.approx(5e-4)
    assert {g["name"]: g["weight_decay"] for g in result.phases[0].groups}["head (no decay)"] == 0.0
    assert "stem.0.weight" in changed(before, state(result.model))
    assert result.trainable_params == sum(p.numel() for p in model.parameters())


def test_freeze_stages_freezes_weights_and_batchnorm_statistics(data):
    model = pretrained()
    before = state(model)
    result = tune(model, data, "freeze-stages", frozen_stages=2)  # stem and blocks.0
    moved = changed(before, state(result.model))
    assert not {k for k in moved if k.startswith(("stem.", "blocks.0."))}
    assert {"blocks.1.0.weight", "blocks.1.1.running_mean", "neck.0.weight", "head.weight"} <= moved


def test_gradual_unfreeze_thaws_one_unit_per_epoch_from_the_top(data):
    model = pretrained()
    before = state(model)
    result = tune(model, data, "gradual-unfreeze", epochs=3)
    head = 16 * 10 + 10
    neck = sum(p.numel() for p in model.neck.parameters())
    block = sum(p.numel() for p in model.blocks[2].parameters())
    assert [m.trainable_params for m in result.metrics] == [head, head + neck, head + neck + block]
    moved = changed(before, state(result.model))
    assert not {k for k in moved if k.startswith(("stem.", "blocks.0.", "blocks.1."))}
    assert "blocks.2.0.weight" in moved and "neck.0.weight" in moved


def test_llrd_param_groups_decay_layer_by_layer(data):
    result = tune(pretrained(), data, "llrd", lr=1e-3, layer_decay=0.5, epochs=1)
    lrs = {g["name"]: g["lr"] for g in result.phases[0].groups if "no decay" not in g["name"]}
    # read back from the optimizer: stem, blocks.0-2, neck, head
    assert lrs == pytest.approx(
        {
            "stem": 1e-3 * 0.5**5,
            "blocks.0": 1e-3 * 0.5**4,
            "blocks.1": 1e-3 * 0.5**3,
            "blocks.2": 1e-3 * 0.5**2,
            "neck": 1e-3 * 0.5,
            "head": 1e-3,
        }
    )


def test_llrd_on_a_model_without_layers_is_a_typed_error(data):
    flat = nn.Sequential()
    flat.add_module("body", nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU()))
    flat.add_module("head", nn.Linear(16, 10))
    for recipe in ("llrd", "freeze-stages", "gradual-unfreeze"):
        with pytest.raises(ZooRecipeError, match="no layer structure"):
            tune(flat, data, recipe)
    assert tune(flat, data, "full", epochs=1).metrics  # a recipe that needs no layers still works


def test_bitfit_trains_only_biases_and_the_head(data):
    model = pretrained()
    before = state(model)
    result = tune(model, data, "bitfit")
    moved = changed(before, state(result.model))
    assert moved and all(k.endswith("bias") or k.startswith("head.") for k in moved)
    assert "stem.1.bias" in moved and "stem.0.weight" not in moved


def test_lora_trains_adapters_and_merges_them_on_export(data):
    model = pretrained()
    before = state(model)
    result = tune(model, data, "lora", targets="blocks.*.0,neck.0", rank=2, lr=1e-2)
    after = state(result.model)
    assert set(after) == set(before)  # merged: the architecture's own keys, no adapter left
    moved = changed(before, after)
    assert {"blocks.0.0.weight", "neck.0.weight", "head.weight"} <= moved
    assert not {k for k in moved if "running" in k or k.endswith("bias") and not k.startswith("head")}
    # rank 2 on 3 convs 8->8 3x3 (A: 2x72, B: 8x2) and a 1x1 conv 8->16 (A: 2x8, B: 16x2), plus the head
    assert result.trainable_params == 3 * (2 * 72 + 8 * 2) + (2 * 8 + 16 * 2) + 170


def test_lora_merge_is_exact():
    from zoo_recipes import lora

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Conv1d(5, 4, 1) if False else nn.Linear(5, 4))
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, groups=1)
    lora.add_adapters(model, ["0", "2"], rank=2, alpha=4, dropout=0.0)
    holder = nn.Sequential(conv)
    lora.add_adapters(holder, ["0"], rank=2, alpha=4, dropout=0.0)
    with torch.no_grad():
        for p in lora.adapter_parameters(model) + lora.adapter_parameters(holder):
            p.normal_()
    x, img = torch.randn(7, 6), torch.randn(2, 3, 9, 9)
    with torch.no_grad():
        expected, expected_img = model(x), holder(img)
        lora.merge(model)
        lora.merge(holder)
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(holder(img), expected_img, rtol=1e-5, atol=1e-5)
    assert isinstance(model[0], nn.Linear) and set(holder.state_dict()) == {"0.weight", "0.bias"}


def test_lp_ft_probes_on_cached_features_then_fine_tunes_everything(data):
    model = pretrained()
    result = tune(model, data, "lp-ft", epochs=3, probe_epochs=1)
    assert [(p.name, p.epochs, p.features) for p in result.phases] == [("probe", 1, True), ("fine-tune", 2, False)]
    assert [m.phase for m in result.metrics] == ["probe", "fine-tune", "fine-tune"]
    assert result.metrics[0].trainable_params == 170
    assert result.metrics[1].trainable_params == sum(p.numel() for p in model.parameters())
    # the probe phase is a linear probe: same head as the linear-probe recipe after one epoch
    probe = tune(pretrained(), data, "linear-probe", epochs=1, lr=1e-2, weight_decay=0.01)
    assert result.metrics[0].val_accuracy == probe.metrics[0].val_accuracy


def test_l2_sp_pulls_toward_the_pretrained_weights(data):
    start = state(pretrained())

    def drift(result):
        end = state(result.model)
        return sum(
            (end[k] - start[k]).pow(2).sum().item() for k in start if k.endswith("weight") and not k.startswith("head.")
        )

    free = tune(pretrained(), data, "l2-sp", alpha=0.0, beta=0.0, lr=1e-2, backbone_lr_mult=1.0)
    pulled = tune(pretrained(), data, "l2-sp", alpha=50.0, beta=0.0, lr=1e-2, backbone_lr_mult=1.0)
    assert drift(pulled) < 0.5 * drift(free)


@pytest.mark.parametrize(
    ("recipe", "params", "field"),
    [
        ("freeze-stages", {"frozen_stages": 5}, "frozen_stages"),  # the model has 5 units: nothing would train
        ("lp-ft", {"epochs": 3, "probe_epochs": 3}, "probe_epochs"),
        ("lp-ft", {"epochs": 1}, "epochs"),
        ("llrd", {"layer_decay": 1.5}, "layer_decay"),
        ("lora", {"rank": 0}, "rank"),
        ("full", {"backbone_lr_mult": -1}, "backbone_lr_mult"),
        ("linear-probe", {"cache_features": "maybe"}, "cache_features"),
        ("bitfit", {"optimizer": "adam"}, "optimizer"),
    ],
)
def test_bad_hyper_parameters_name_the_parameter(data, recipe, params, field):
    model = pretrained()
    before = state(model)
    with pytest.raises(ZooValidationError) as info:
        tune(model, data, recipe, **params)
    assert info.value.field == field
    assert not changed(before, state(model))


def test_lora_without_matching_modules(data):
    with pytest.raises(ZooRecipeError, match="no module matches"):
        tune(pretrained(), data, "lora", targets="nothing.*")
