"""Same seed, data and device: bit-identical weights and metrics, for every installed
recipe, through the API and the CLI (fresh ZOO_HOME per run, weights compared by sha256)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import zoo  # noqa: E402
from zoo.errors import ZooRecipeError  # noqa: E402
from zoo.finetuning.digits import digits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ACME_ARTIFACTS = ROOT / "plugins" / "example-internal" / "artifacts"


class DropNet(nn.Module):
    """Conv stem, two stages, dropout before the head: every recipe has something to
    train, and dropout draws random numbers at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(
            nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()),
            nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()),
        )
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.pool(self.blocks(self.stem(x))))


PARAMS = {"lora": {"targets": "stem.0,blocks.*.0"}}  # DropNet has convolutions, no Linear outside the head


@pytest.fixture(scope="module")
def data8():
    return digits(8, channels=1, per_class=6, test_per_class=3, mean=[0.3], std=[0.4])


# Recipes that need a registered model besides the one trained (distill: its teacher, a
# name zoo.get resolves); plugins/zoo-compress's tests train them against a registry.
NEEDS_A_REGISTERED_MODEL = {"distill"}


def recipe_names() -> list[str]:
    return [r["name"] for r in zoo.finetuning.recipes() if r["name"] not in NEEDS_A_REGISTERED_MODEL]


def fresh_model() -> DropNet:
    g = torch.Generator().manual_seed(123)  # the same starting weights for both runs
    model = DropNet()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


@pytest.mark.parametrize("recipe", recipe_names())
def test_every_recipe_is_bit_identical_with_the_same_seed(data8, recipe):
    def once(seed: int):
        torch.manual_seed(1000 + len(recipe) * seed)  # whatever the caller's global RNG holds
        torch.rand(int(torch.randint(1, 50, ())))
        try:
            result = zoo.finetune(
                fresh_model(),
                data8[0],
                data8[1],
                recipe=recipe,
                epochs=2,
                batch_size=16,
                seed=seed,
                progress=False,
                **PARAMS.get(recipe, {}),
            )
        except ZooRecipeError as exc:
            pytest.skip(f"{recipe} does not apply to this model: {exc.message}")
        state = {k: v.detach().clone() for k, v in result.model.state_dict().items()}
        return state, [(m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy) for m in result.metrics]

    (a, ma), (b, mb), (c, _) = once(7), once(7), once(8)
    assert ma == mb
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)  # the seed does decide something


def run_cli(home: Path, recipe: str) -> tuple[str, dict]:
    env = {**os.environ, "ZOO_HOME": str(home), "ACME_ARTIFACTS_DIR": str(ACME_ARTIFACTS)}
    env.pop("ZOO_REGISTRY_URL", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.cli",
            "finetune",
            "acme-tinynet.digits_v1",
            "--data",
            "digits",
            "--image-size",
            "8",
            "--per-class",
            "8",
            "--epochs",
            "2",
            "--recipe",
            recipe,
            "--seed",
            "5",
            "--register-as",
            "team/rerun",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    registry = zoo.Registry(f"sqlite:///{home / 'registry.db'}")
    try:
        return registry.resolve(result["registered"]).weights.sha256, result["metrics"]
    finally:
        registry.close()


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["linear-probe"])  # the API test covers every recipe
def test_cli_twice_with_fresh_homes_gives_the_same_sha256(tmp_path, recipe):
    pytest.importorskip("zoo_acme")
    sha_a, metrics_a = run_cli(tmp_path / "a", recipe)
    sha_b, metrics_b = run_cli(tmp_path / "b", recipe)
    assert sha_a == sha_b and len(sha_a) == 64
    strip = [{k: v for k, v in m.items() if k != "time_s"} for m in metrics_a]
    assert strip == [{k: v for k, v in m.items() if k != "time_s"} for m in metrics_b]


def test_finetune_argument_types(data8):
    from zoo.errors import ZooValidationError

    for kwargs, field in (
        ({"progress": 5}, "progress"),
        ({"acknowledge": 5}, "acknowledge"),
        ({"num_classes": 10**12}, "num_classes"),
    ):
        with pytest.raises(ZooValidationError) as err:
            zoo.finetune(fresh_model(), data8[0], recipe="full", epochs=1, **kwargs)
        assert err.value.field == field
