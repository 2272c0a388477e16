"""zoo.finetune end to end: real models, real data (scikit-learn's digits), a real
SQLite registry under a temporary ZOO_HOME, real checkpoints, real processes for DDP.

The registry tests fine-tune ACME's tinynet (the example plugin's family and its
checkpoint from its artifact store) because it is small; one slower test does the same
with the real EfficientNet-Lite0 ImageNet weights."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zoo_recipes")
pytest.importorskip("sklearn")
from safetensors.torch import load_file  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

import zoo  # noqa: E402
from zoo.errors import ZooNotFoundError, ZooRecipeError, ZooValidationError  # noqa: E402
from zoo.finetuning.digits import digits  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]
ACME_ARTIFACTS = ROOT / "plugins" / "example-internal" / "artifacts"
LITE0 = "tf_efficientnet_lite0.lite0_in1k_pypi"


class SmallNet(nn.Module):
    """stem -> blocks -> pooled -> head; LayerNorm-free, BatchNorm-free so that its
    training does not depend on how a batch is split between processes."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(
            nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()),
            nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()),
        )
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        return self.head(self.pool(self.blocks(self.stem(x))))


def small_net(seed: int = 0) -> SmallNet:
    torch.manual_seed(seed)
    return SmallNet()


@pytest.fixture(scope="module")
def data8():
    return digits(8, channels=1, per_class=10, test_per_class=5, mean=[0.3], std=[0.4])


def run(model, data, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("batch_size", 16)
    return zoo.finetune(model, data[0], data[1], **kwargs)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def assert_same(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=atol, msg=k)


# -- the API --------------------------------------------------------------------------------


def test_import_is_lazy_and_zoo_finetune_is_the_function():
    code = (
        "import sys, inspect, zoo; f = zoo.finetune; import zoo.finetuning as m; "
        "print(inspect.isfunction(f), inspect.isfunction(zoo.finetune), f is m.finetune, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "False"]


def test_old_import_paths_warn_and_give_the_same_objects():
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
        "import zoo, zoo.finetuning.runner as new\n"
        "for stmt in ('from zoo.finetune import Phase', 'import zoo.finetune.runner'):\n"
        "    try:\n"
        "        exec(stmt)\n"
        "    except DeprecationWarning as w:\n"
        "        print('warned', 'zoo.finetuning' in str(w))\n"
        "warnings.simplefilter('ignore', DeprecationWarning)\n"
        "from zoo.finetune import Phase\n"
        "import zoo.finetune.runner as old\n"
        "print(old is new, Phase is new.Phase, callable(zoo.finetune))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["warned", "True", "warned", "True", "True", "True", "True"]


def test_options_are_one_frozen_object_and_the_keywords_build_it():
    import dataclasses
    import inspect

    from zoo.finetuning import FinetuneOptions

    opts = FinetuneOptions.from_kwargs(recipe="full", epochs=3, register_as=" Team/Net ", backbone_lr_mult=0.3)
    assert (opts.recipe, opts.epochs, opts.register_as) == ("full", 3, "team/net")
    assert dict(opts.recipe_params) == {"backbone_lr_mult": 0.3}
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.epochs = 4  # type: ignore[misc]
    merged = FinetuneOptions.from_kwargs(opts, lr=0.1, warmup=1)
    assert (merged.recipe, merged.lr, dict(merged.recipe_params)) == (
        "full",
        0.1,
        {"backbone_lr_mult": 0.3, "warmup": 1},
    )
    shown = inspect.signature(zoo.finetune).parameters
    fields = {f.name for f in dataclasses.fields(FinetuneOptions)} - {"recipe_params"}
    assert fields <= set(shown) and shown["recipe"].default == "linear-probe"
    with pytest.raises(ZooValidationError, match="eval_every"):
        FinetuneOptions(eval_every=0)
    with pytest.raises(ZooValidationError, match="options"):
        zoo.finetune(small_net(), (torch.zeros(2, 3, 8, 8), torch.zeros(2).long()), options={"epochs": 1})


def test_result_has_metrics_timings_and_counts(data8):
    result = run(small_net(), data8, recipe="full", epochs=2)
    assert [m.epoch for m in result.metrics] == [1, 2]
    for m in result.metrics:
        assert 0 <= m.train_accuracy <= 1 and 0 <= m.val_accuracy <= 1 and m.time_s > 0 and m.train_loss > 0
    assert result.trainable_params == result.total_params == sum(p.numel() for p in small_net().parameters())
    assert {"scan_s", "train_s", "eval_s", "total_s"} <= set(result.timings)
    assert result.train_samples == 100 and result.val_samples == 50 and result.registered is None
    assert not result.model.training
    json.dumps(result.to_dict())


def test_seeded_runs_are_reproducible(data8):
    a = run(small_net(), data8, recipe="full", epochs=2, seed=3)
    b = run(small_net(), data8, recipe="full", epochs=2, seed=3)
    c = run(small_net(), data8, recipe="full", epochs=2, seed=4)
    assert_same(weights(a.model), weights(b.model))
    assert [m.train_loss for m in a.metrics] == [m.train_loss for m in b.metrics]
    assert not torch.equal(a.model.head.weight, c.model.head.weight)  # the seed orders the batches


def test_dataloaders_and_tensor_pairs(data8):
    train, val = data8
    loader = DataLoader(train, batch_size=20, shuffle=True)
    result = zoo.finetune(small_net(), loader, DataLoader(val, batch_size=7), recipe="full", epochs=1, progress=False)
    assert result.params["batch_size"] == 20  # the loader's, unless given
    x, y = train.tensors
    result = zoo.finetune(small_net(), (x, y), recipe="linear-probe", epochs=1, progress=False)
    assert result.val_samples is None and result.metrics[0].val_accuracy is None


def test_progress_callback_gets_each_epoch(data8):
    events = []
    run(small_net(), data8, recipe="full", epochs=2, progress=events.append)
    assert [(e["event"], e["epoch"], e["epochs"]) for e in events] == [("epoch", 1, 2), ("epoch", 2, 2)]
    assert set(events[0]["metrics"]) >= {"train_loss", "val_accuracy", "time_s"}


def test_time_limit_stops_training(data8):
    # 10,000 epochs cannot finish in half a second on any machine: the deadline must stop it.
    result = run(small_net(), data8, recipe="full", epochs=10_000, time_limit_s=0.5)
    assert result.extra["stopped_early"] and len(result.metrics) < 10_000


# -- text: a real (tiny) BERT with its tokenizer-style dict samples ---------------------------


class TextSet(Dataset):
    def __init__(self, n: int, vocab: int = 50, length: int = 12, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(3, vocab, (n, length), generator=g)
        self.labels = (self.ids[:, 1] % 2).long()  # learnable from one token
        self.ids[:, 0] = 2  # [CLS]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


@pytest.fixture(scope="module")
def tiny_bert():
    pytest.importorskip("transformers")
    zt = pytest.importorskip("zoo_transformers.builders")
    cfg = dict(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )

    def make():
        torch.manual_seed(0)
        return zt.attach_head(zt.build_text_model("bert", cfg), 2, pooling="cls")

    return make


def test_text_model_with_dict_batches(tiny_bert):
    from zoo.finetuning.layers import layer_structure

    model = tiny_bert()
    structure = layer_structure(model, "classifier")
    assert structure.labels == ["stem", "backbone.encoder.layer.0", "backbone.encoder.layer.1", "neck"]
    result = zoo.finetune(
        model, TextSet(64), TextSet(32, seed=1), recipe="llrd", epochs=1, batch_size=16, progress=False
    )
    assert result.metrics[0].val_accuracy is not None
    lora = zoo.finetune(tiny_bert(), DataLoader(TextSet(64), batch_size=16), recipe="lora", epochs=1, progress=False)
    assert "backbone.encoder.layer.0.attention.self.query.weight" in lora.model.state_dict()  # merged


# -- layer structure of real architectures (built on meta: nothing allocated) -----------------


def test_layer_structure_of_real_families():
    timm = pytest.importorskip("timm")
    torchvision = pytest.importorskip("torchvision")
    from zoo.finetuning.layers import layer_structure

    with torch.device("meta"):
        lite0 = timm.create_model("tf_efficientnet_lite0")
        resnet = torchvision.models.resnet18()
        vit = torchvision.models.vit_b_16()
    s = layer_structure(lite0, "classifier")
    assert s.labels == ["stem"] + [f"blocks.{i}" for i in range(7)] + ["neck"] and not s.check_covers(lite0)
    s = layer_structure(resnet, "fc")
    assert s.labels == ["conv1+bn1", "layer1", "layer2", "layer3", "layer4"] and not s.check_covers(resnet)
    s = layer_structure(vit, "heads.head")
    assert s.labels[0] == "stem" and s.labels[-1] == "neck" and len(s) == 14 and not s.check_covers(vit)


# -- typed errors before training, nothing trained --------------------------------------------


def test_bad_input_is_a_typed_error_before_training(data8, tmp_path, monkeypatch):
    model = small_net()
    before = weights(model)
    train, val = data8
    x, y = train.tensors
    empty = TensorDataset(x[:0], y[:0])
    with pytest.raises(ZooValidationError, match="empty") as info:
        zoo.finetune(model, empty, recipe="full")
    assert info.value.field == "train"
    with pytest.raises(ZooValidationError, match="outside 0..9") as info:
        zoo.finetune(model, TensorDataset(x, y + 3), recipe="full")
    assert info.value.field == "train" and "num_classes=13" in info.value.hint
    with pytest.raises(ZooValidationError) as info:
        zoo.finetune(model, train, TensorDataset(x[:4], torch.tensor([0, 1, 2, -1])), recipe="full")
    assert info.value.field == "val"
    with pytest.raises(ZooValidationError, match="not an integer"):
        zoo.finetune(model, TensorDataset(x, y.float()), recipe="full")
    with pytest.raises(ZooNotFoundError) as info:
        zoo.finetune(model, train, recipe="fulll")
    assert "full" in info.value.suggestions and "linear-probe" in info.value.hint and "lora" in info.value.hint
    for params, field in (
        ({"lr": -1.0}, "lr"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"lrr": 0.1}, "lrr"),
        ({"seed": -1}, "seed"),
        ({"register_as": "Nope"}, "register_as"),
        ({"num_classes": 5}, "num_classes"),
    ):
        with pytest.raises(ZooValidationError) as info:
            zoo.finetune(model, train, recipe="full", **params)
        assert info.value.field == field, params
    flat = nn.Sequential()
    flat.add_module("body", nn.Sequential(nn.Flatten(), nn.Linear(64, 10)))
    flat.add_module("head", nn.Linear(10, 10))
    with pytest.raises(ZooRecipeError, match="layer structure"):
        zoo.finetune(flat, train, recipe="llrd")
    # register_as reads the default registry's store setting first: a fresh ZOO_HOME, never the user's
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ZOO_REGISTRY_URL", raising=False)
    monkeypatch.delenv("ZOO_STORE", raising=False)
    with pytest.raises(ZooValidationError) as info:
        zoo.finetune(model, train, recipe="full", register_as="team/x")  # a bare module has no lineage
    assert info.value.field == "register_as"
    assert_same(before, weights(model))


# -- checkpoints and resume ---------------------------------------------------------------------


class Interrupt(Exception):
    pass


def test_checkpoint_per_epoch_and_resume_continues_an_interrupted_run(data8, tmp_path):
    full = run(small_net(), data8, recipe="lp-ft", epochs=4, probe_epochs=1)

    def stop_after_3(event):
        if event["epoch"] == 3:
            raise Interrupt()

    with pytest.raises(Interrupt):
        run(
            small_net(), data8, recipe="lp-ft", epochs=4, probe_epochs=1, checkpoint_dir=tmp_path, progress=stop_after_3
        )
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epoch"] == 3 and len(state["history"]) == 3
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["epoch-0002.safetensors", "epoch-0003.safetensors", "state.json"]  # the two newest kept
    assert any(k.startswith("optim.") for k in load_file(str(tmp_path / "epoch-0003.safetensors")))

    resumed = run(small_net(), data8, recipe="lp-ft", epochs=4, probe_epochs=1, checkpoint_dir=tmp_path, resume=True)
    assert resumed.resumed_from_epoch == 3 and len(resumed.metrics) == 4
    assert_same(weights(full.model), weights(resumed.model), atol=1e-6)
    assert resumed.metrics[-1].train_loss == pytest.approx(full.metrics[-1].train_loss, abs=1e-6)

    with pytest.raises(ZooValidationError) as info:  # another run's checkpoints
        run(small_net(), data8, recipe="lp-ft", epochs=4, probe_epochs=1, lr=1e-2, checkpoint_dir=tmp_path, resume=True)
    assert info.value.field == "resume" and "params" in info.value.message


# -- DDP: two real processes (gloo on CPU) give what one process gives --------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DDP_WORKER = r"""
import os, sys, torch
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
from test_finetune import ddp_runs
from safetensors.torch import save_file
out = ddp_runs()
if int(os.environ.get("RANK", "0")) == 0:
    save_file(out, sys.argv[1])
"""


def ddp_runs() -> dict:
    """The same calls in one process or under torchrun: full fine-tuning and a linear
    probe (its features computed by both processes and gathered)."""
    train, val = digits(8, channels=1, per_class=9, test_per_class=3, mean=[0.3], std=[0.4])  # 90 = 5*16 + 10
    out = {}
    for recipe in ("full", "linear-probe"):
        r = zoo.finetune(small_net(), train, val, recipe=recipe, epochs=2, batch_size=16, lr=3e-3, progress=False)
        out.update({recipe + "." + k: v.contiguous() for k, v in r.model.state_dict().items()})
        out[recipe + ".acc"] = torch.tensor([m.val_accuracy for m in r.metrics])
        out[recipe + ".world"] = torch.tensor(r.world_size)
    return out


def test_ddp_two_processes_match_one(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(DDP_WORKER.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        str(script),
        str(tmp_path / "two.safetensors"),
    ]
    double = subprocess.run(torchrun, env=env, capture_output=True, text=True, timeout=300)
    assert double.returncode == 0, double.stderr[-3000:]
    one, two = ddp_runs(), load_file(str(tmp_path / "two.safetensors"))
    assert one["full.world"].item() == 1 and two["full.world"].item() == 2
    assert one.keys() == two.keys()
    for key in one:
        if not key.endswith(".world"):
            torch.testing.assert_close(one[key], two[key], rtol=1e-4, atol=1e-5, msg=key)


# -- register_as: lineage back into the registry --------------------------------------------------


def test_register_as_writes_lineage_and_zoo_get_loads_it(acme_env, acme_digits):
    parent = "acme-tinynet.digits_v1"
    before = acme_env.registry.count()
    result = zoo.finetune(
        parent,
        *acme_digits,
        recipe="full",
        epochs=1,
        batch_size=16,
        num_classes=10,
        register_as="team/tinynet-digits",
        dataset="uci-digits",
        registry=acme_env.registry,
        progress=False,
    )
    assert result.registered == "team/tinynet-digits@1" and acme_env.registry.count() == before + 1

    info = acme_env.registry.resolve("team/tinynet-digits@1")
    w = info.weights
    parent_name = acme_env.registry.resolve(parent).qualified_name
    assert [(p.parent, p.relation.value) for p in w.parents] == [(parent_name, "finetune")]
    recipe = json.loads(w.recipe)
    assert recipe["recipe"] == "full" and recipe["params"]["epochs"] == 1 and recipe["seed"] == 0
    assert recipe["data"]["train"] == {"samples": 150, "classes": 10, "sha256": result.data_fingerprint}
    assert recipe["plugin"].startswith("recipes")
    # Only its own data: what the parent was trained on comes through the lineage.
    assert {(d.name, d.role.value) for d in w.datasets} == {("uci-digits", "finetune"), ("uci-digits", "eval")}
    acc = next(m for m in w.metrics if m.name == "acc@1")
    assert acc.split == "val" and acc.value == pytest.approx(100 * result.accuracy, abs=1e-3)
    # One inheritance rule (as for Registry.register(parents=...)): nothing is copied into
    # the record; the parent's notes (its own and its datasets') are computed at read time.
    assert not any(s.inherited_from for s in w.card)
    parent_notes = acme_env.registry.resolve(parent).bias_notes
    assert len(info.inherited_notes) == len(parent_notes) > 0
    assert {s.body for s in info.inherited_notes} == {s.body for s in parent_notes}
    assert all(parent_name in s.inherited_from for s in info.inherited_notes)
    assert w.num_classes == 10 and w.license.spdx == "LicenseRef-ACME-Internal"
    assert w.sources[0].uri.startswith("file://") and w.sha256 in w.sources[0].uri
    assert info.family.name == "acme-tinynet"

    model = zoo.get("team/tinynet-digits@1", registry=acme_env.registry, device="cpu")
    x = acme_digits[1].tensors[0][:8]
    with torch.no_grad():
        torch.testing.assert_close(model(x), result.model(x), rtol=0, atol=1e-6)
    assert model.zoo.load_report.strict and model.zoo.load_report.checkpoint_classes == 10

    again = zoo.finetune(
        parent,
        *acme_digits,
        recipe="linear-probe",
        epochs=1,
        register_as="team/tinynet-digits",
        registry=acme_env.registry,
        progress=False,
    )
    assert again.registered == "team/tinynet-digits@2"  # a new version, never an overwrite
    lineage = acme_env.registry.audit_query("lineage", model="team/tinynet-digits@1")
    assert any(parent_name.split("@")[0] in " ".join(map(str, row)) for row in lineage.rows)


def test_nothing_registered_on_failure(acme_env, acme_digits):
    train, val = acme_digits
    x, y = train.tensors
    before = acme_env.registry.count()
    with pytest.raises(ZooValidationError):
        zoo.finetune(
            "acme-tinynet.digits_v1",
            TensorDataset(x, y + 5),
            recipe="full",
            num_classes=10,
            register_as="team/broken",
            registry=acme_env.registry,
            progress=False,
        )

    def boom(event):
        raise Interrupt()

    with pytest.raises(Interrupt):
        zoo.finetune(
            "acme-tinynet.digits_v1",
            train,
            val,
            recipe="full",
            epochs=2,
            register_as="team/broken",
            registry=acme_env.registry,
            progress=boom,
        )
    assert acme_env.registry.count() == before and not acme_env.registry.exists("team/broken")


@pytest.mark.slow
def test_lite0_on_digits_end_to_end(acme_env):
    """The real ImageNet EfficientNet-Lite0: a linear probe on a few digits, registered,
    loaded back by name."""
    pytest.importorskip("zoo_timm")
    torch.manual_seed(0)  # the new head's initialisation
    model = zoo.get(LITE0, num_classes=10, registry=acme_env.registry, device="cpu")
    train, val = digits(32, per_class=6, test_per_class=6, preprocessing=dict(model.zoo.preprocessing))
    result = zoo.finetune(
        model,
        train,
        val,
        recipe="linear-probe",
        epochs=20,
        lr=1e-2,
        register_as="team/lite0-digits",
        dataset="uci-digits",
        registry=acme_env.registry,
        progress=False,
    )
    assert result.accuracy > 0.4  # 10 classes: chance is 0.1
    assert result.trainable_params == 1280 * 10 + 10
    info = acme_env.registry.resolve(result.registered)
    assert info.weights.parents[0].parent.startswith(LITE0)
    assert info.weights.preprocessing["input_size"] == [3, 32, 32]
    assert any("dataset imagenet-1k" in s.inherited_from for s in info.inherited_notes)
    loaded = zoo.get(result.registered, registry=acme_env.registry, device="cpu")
    x = val.tensors[0][:4]
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), result.model(x), rtol=0, atol=1e-5)


def test_cli_recipes_and_finetune(acme_env, tmp_path, capsys):
    from zoo.cli import main

    assert main(["recipes", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"linear-probe", "full", "llrd", "lora", "lp-ft"} <= set(rows)
    plot = tmp_path / "curves.png"
    assert (
        main(
            [
                "finetune",
                "acme-tinynet.digits_v1",
                "--data",
                "digits",
                "--image-size",
                "8",
                "--per-class",
                "10",
                "--recipe",
                "llrd",
                "--epochs",
                "2",
                "--lr",
                "0.01",
                "--param",
                "layer_decay=0.5",
                "--register-as",
                "team/cli-digits",
                "--plot",
                str(plot),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["registered"] == "team/cli-digits@1" and out["params"]["layer_decay"] == 0.5
    assert out["train_samples"] == 100 and len(out["metrics"]) == 2
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    info = acme_env.registry.resolve("team/cli-digits@1")
    assert [d.name for d in info.weights.datasets if d.role.value == "finetune"] == ["uci-digits"]
    assert main(["finetune", "acme-tinynet.digits_v1", "--data", "digits", "--recipe", "nope"]) == 1
    assert "unknown recipe 'nope'" in capsys.readouterr().err


COUNTING_PLUGIN = """
import os
from zoo.hookspecs import hookimpl
from zoo.records import Family, License, Source, Weights

def build():
    with open(os.environ["ZOO_TEST_BUILDS"], "a") as f:  # one line per build of the family
        f.write("built\\n")
    import torch.nn as nn
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 10))

@hookimpl
def zoo_families():
    return [Family(name="NAME-net", modality="vision", builder="MOD:build", head="3", default_tag="v1",
                   preprocessing={"input_size": [1, 4, 4]})]

@hookimpl
def zoo_weights():
    return [Weights(arch="NAME-net", tag="v1", sha256=os.environ["ZOO_TEST_SHA"], format="safetensors",
                    sources=(Source(os.environ["ZOO_TEST_URI"]),), license=License("MIT", "allowed"),
                    publisher="test")]
"""


def test_cli_finetune_builds_the_model_once_when_the_classes_come_from_the_data(dists, tmp_path):
    """`zoo finetune NAME --data FILE` without --num-classes: zoo.finetune builds the model
    (its head sized from the labels); the CLI builds none of its own."""
    import hashlib

    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 10))
    checkpoint = tmp_path / "counting.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(checkpoint))
    data = tmp_path / "data.safetensors"
    save_file({"inputs": torch.randn(30, 1, 4, 4), "labels": torch.arange(30) % 3}, str(data))
    dists.add("counting", COUNTING_PLUGIN)
    builds = tmp_path / "builds.txt"
    env = dists.env(
        ZOO_HOME=str(tmp_path / "home"),
        ZOO_PLUGINS="counting,recipes",
        ZOO_TEST_BUILDS=str(builds),
        ZOO_TEST_SHA=hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
        ZOO_TEST_URI=checkpoint.as_uri(),
        OMP_NUM_THREADS="1",
    )
    args = ["finetune", "counting-net.v1", "--data", str(data), "--epochs", "1", "--json"]
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; from zoo.cli import main; sys.exit(main({args!r}))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["num_classes"] == 3 and result["train_samples"] == 24
    assert builds.read_text().splitlines() == ["built"]
