"""zoo.compress end to end: real models (ACME's tinynet and its checkpoint, a tiny
BERT), real data (scikit-learn's digits), a real SQLite registry under a temporary
ZOO_HOME and a PostgreSQL one, real ONNX Runtime. Every method's result is registered
as a child and loaded back by name; every bad input is a typed error that registers
nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zoo_compress")
pytest.importorskip("zoo_acme")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

import zoo  # noqa: E402
from zoo.errors import ZooCompressError, ZooNotFoundError, ZooValidationError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]
PARENT = "acme-tinynet.digits_v1"


@pytest.fixture(scope="module")
def data(acme_digits):
    train, val = acme_digits
    return train.tensors, val.tensors


def compress(acme_env, method, data, **kwargs):
    kwargs.setdefault("calibration", data[0])
    kwargs.setdefault("eval", data[1])
    return zoo.compress(PARENT, method, registry=acme_env.registry, host=acme_env.host, repeats=2, threads=1, **kwargs)


def test_import_is_lazy_and_zoo_compress_is_only_the_function():
    code = (
        "import inspect, sys, warnings; warnings.simplefilter('error', DeprecationWarning)\n"
        "import zoo, zoo.compression, zoo.compression.result\n"
        "assert 'torch' not in sys.modules, 'import zoo.compression imported torch'\n"
        "assert inspect.isfunction(zoo.compress) and zoo.compress is zoo.compression.compress\n"
        "assert zoo.CompressResult is zoo.compression.result.CompressResult\n"
        "assert 'zoo.compress' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_old_import_paths_warn_and_give_the_same_objects():
    """The package zoo.compress is now zoo.compression; the old paths warn and hand out
    the very same objects, and zoo.compress(...) still calls the function after one of
    them was imported (Python binds the imported package to zoo.compress)."""
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
        "import zoo, zoo.compression.runner as new, zoo.compression as pkg\n"
        "for stmt in ('from zoo.compress import deployment', 'import zoo.compress.runner'):\n"
        "    try:\n"
        "        exec(stmt)\n"
        "    except DeprecationWarning as w:\n"
        "        print('warned', 'zoo.compression' in str(w))\n"
        "warnings.simplefilter('ignore', DeprecationWarning)\n"
        "from zoo.compress import deployment, compressors\n"
        "import zoo.compress.runner as old\n"
        "from zoo.compress.runner import CompressMethod\n"
        "print(old is new, deployment is pkg.deployment, compressors is pkg.compressors,"
        " CompressMethod is new.CompressMethod, callable(zoo.compress))\n"
        "from zoo.errors import ZooError\n"
        "for fn in (zoo.compress, pkg.compress):\n"
        "    try:\n"
        "        fn(object(), 'no-such-method')\n"
        "    except ZooError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    env = dict(os.environ, ZOO_PLUGINS="none")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    words = out.stdout.split()
    assert words[:9] == ["warned", "True", "warned", "True", "True", "True", "True", "True", "True"], out.stdout
    assert len(words) == 11 and words[9] == words[10] and words[9].startswith("Zoo"), out.stdout


@pytest.mark.parametrize("method", ["dynamic-int8", "static-int8", "prune-channels", "onnx", "torch-export"])
def test_each_method_registers_a_child_that_zoo_get_rebuilds(acme_env, data, method):
    name = f"team/tiny-{method}"
    result = compress(acme_env, method, data, register_as=name, eval_name="uci-digits")
    assert result.registered == f"{name}@1"
    parent = acme_env.registry.resolve(PARENT)
    info = acme_env.registry.resolve(result.registered)
    w = info.weights
    relation = {"dynamic-int8": "quantize", "static-int8": "quantize", "prune-channels": "prune"}.get(method, "export")
    assert [(p.parent, p.relation.value) for p in w.parents] == [(parent.qualified_name, relation)]
    assert (result.registered, relation) in acme_env.registry.resolve(PARENT).children
    # inherited: licence (with a note); every bias note of the parent and of its data, read
    # through the lineage (not copied); the eval data is the child's own
    assert w.license.spdx == parent.weights.license.spdx and parent.qualified_name in w.license.note
    assert ("uci-digits", "eval") in {(d.name, d.role.value) for d in w.datasets}
    assert {s.body for s in parent.bias_notes} <= {s.body for s in info.bias_notes}
    assert all(s.inherited_from for s in info.inherited_notes) and not any(s.inherited_from for s in w.card)
    # measured facts as metrics, with the threads stated
    metrics = {m.name: m for m in w.metrics}
    for key in (
        "file_bytes",
        "latency_ms_b1",
        "latency_ms_b32",
        "parent_file_bytes",
        "parent_latency_ms_b32",
        "acc@1",
        "accuracy_drop_pt",
        "max_abs_diff",
    ):
        assert key in metrics, key
    assert metrics["latency_ms_b1"].split == "cpu-1t"
    assert metrics["file_bytes"].value == w.size_bytes  # the file zoo.get fetches is the one measured
    assert metrics["accuracy_drop_pt"].value == pytest.approx(
        100 * (result.measured["parent_accuracy"] - result.measured["child_accuracy"]), abs=1e-3
    )
    spec = json.loads(w.recipe)["compress"]
    assert spec["method"] == method and spec["options"] == result.options

    model = zoo.get(result.registered, registry=acme_env.registry, host=acme_env.host, device="cpu")
    x = data[1][0][:16]
    with torch.inference_mode():
        torch.testing.assert_close(model(x), result.model(x), rtol=0, atol=1e-6)
    assert model.zoo.qualified_name == result.registered


def test_the_methods_really_change_the_model(acme_env, data):
    dyn = compress(acme_env, "dynamic-int8", data).model
    assert type(dyn.head).__module__.startswith("torch.ao.nn.quantized.dynamic")
    static = compress(acme_env, "static-int8", data)
    assert any(
        type(m).__module__.startswith("torch.ao.nn") and "Conv" in type(m).__name__ for m in static.model.modules()
    )
    assert static.measured["child"]["file_bytes"] < 0.5 * static.measured["parent"]["file_bytes"]
    assert static.measured["accuracy_drop_pt"] <= 5
    pruned = compress(acme_env, "prune-channels", data, ratio=0.5)
    convs = [m for m in pruned.model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16]  # tinynet: 16 and 32 channels, half removed
    assert pruned.model.head.in_features == 16
    assert pruned.info["params_after"] < 0.5 * pruned.info["params_before"]
    onnx = compress(acme_env, "onnx", data)
    assert type(onnx.model).__name__ == "OnnxModule" and onnx.info["check_max_abs_diff"] < 1e-4


def test_recovery_fine_tune_and_distillation(acme_env, data):
    pruned = compress(acme_env, "prune-channels", data, ratio=0.5, recovery_epochs=3, recovery_lr=3e-3)
    assert pruned.info["recovery"]["epochs"] == 3
    student = compress(
        acme_env, "distill", data, student="acme-tinynet", epochs=2, batch_size=32, register_as="team/tiny-student"
    )
    w = acme_env.registry.resolve(student.registered).weights
    assert w.parents[0].relation.value == "distill" and w.arch == "acme-tinynet"
    assert json.loads(w.recipe)["compress"]["rebuild"] is False and student.info["epochs_run"] == 2
    loaded = zoo.get(student.registered, registry=acme_env.registry, host=acme_env.host, device="cpu")
    x = data[1][0][:8]
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), student.model(x), rtol=0, atol=1e-6)


def test_distill_recipe_adds_the_teacher_term(acme_env, data):
    train = data[0]

    def run(alpha):
        torch.manual_seed(0)
        model = zoo.get(
            "acme-tinynet", 10, pretrained=False, registry=acme_env.registry, host=acme_env.host, device="cpu"
        )
        return zoo.finetune(
            model,
            train,
            recipe="distill",
            teacher=PARENT,
            alpha=alpha,
            epochs=1,
            batch_size=32,
            registry=acme_env.registry,
            host=acme_env.host,
            progress=False,
        )

    plain, distilled = run(0.0), run(0.9)
    assert distilled.final.train_loss > plain.final.train_loss  # the KL term is in the loss
    assert not hasattr(distilled.model, "_zoo_distill_hook")
    with pytest.raises(ZooValidationError, match="teacher"):
        zoo.finetune(
            zoo.get("acme-tinynet", 10, pretrained=False, registry=acme_env.registry, host=acme_env.host, device="cpu"),
            train,
            recipe="distill",
            registry=acme_env.registry,
            host=acme_env.host,
            progress=False,
        )


def test_deployment_table_in_zoo_info(acme_env, data, capsys, monkeypatch):
    from zoo.cli import main

    monkeypatch.setenv("COLUMNS", "300")
    from zoo.compression import deployment

    compress(acme_env, "dynamic-int8", data, register_as="team/tiny-table")
    rows = deployment(acme_env.registry, acme_env.registry.resolve(PARENT))
    row = next(r for r in rows if r["name"] == "team/tiny-table@1")
    assert row["method"] == "dynamic-int8" and row["relation"] == "quantize" and row["threads"] == "cpu-1t"
    assert row["file_bytes_ratio"] == pytest.approx(
        row["file_bytes"]
        / next(
            m.value
            for m in acme_env.registry.resolve("team/tiny-table@1").weights.metrics
            if m.name == "parent_file_bytes"
        ),
        abs=1e-3,
    )
    assert main(["info", PARENT]) == 0
    out = capsys.readouterr().out
    assert "Deployment" in out and "team/tiny-table@1" in out and "dynamic-int8" in out
    assert main(["info", PARENT, "--json"]) == 0
    assert any(r["name"] == "team/tiny-table@1" for r in json.loads(capsys.readouterr().out)["deployment"])


def test_cli_compress_and_compressors(acme_env, capsys):
    from zoo.cli import main

    assert main(["compressors", "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert {"dynamic-int8", "static-int8", "prune-channels", "distill", "onnx", "torch-export"} <= names
    assert (
        main(
            [
                "compress",
                PARENT,
                "--method",
                "prune-channels",
                "--data",
                "digits",
                "--image-size",
                "8",
                "--per-class",
                "5",
                "--param",
                "ratio=0.25",
                "--threads",
                "1",
                "--repeats",
                "1",
                "--register-as",
                "team/tiny-cli",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["registered"] == "team/tiny-cli@1" and out["options"]["ratio"] == 0.25


def _audit_len(registry) -> int:
    return len(registry.history())


@pytest.mark.parametrize(
    "case",
    [
        "unknown-method",
        "unknown-option",
        "ratio-0",
        "ratio-1",
        "ratio-neg",
        "no-calibration",
        "dynamic-on-cnn",
        "untraceable",
        "bad-name",
    ],
)
def test_bad_input_is_typed_and_registers_nothing(acme_env, data, case):
    before, events = acme_env.registry.count(), _audit_len(acme_env.registry)
    convnet = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3)
            self.gate = Gate()
            self.head = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            return self.head(self.gate(self.stem(x)))

    class Gate(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x  # data-dependent control flow: not traceable

    calls = {
        "unknown-method": lambda: compress(acme_env, "quantise-int8", data, register_as="team/bad"),
        "unknown-option": lambda: compress(acme_env, "prune-channels", data, ratioo=0.3, register_as="team/bad"),
        "ratio-0": lambda: compress(acme_env, "prune-channels", data, ratio=0, register_as="team/bad"),
        "ratio-1": lambda: compress(acme_env, "prune-channels", data, ratio=1.0, register_as="team/bad"),
        "ratio-neg": lambda: compress(acme_env, "prune-channels", data, ratio=-0.2, register_as="team/bad"),
        "no-calibration": lambda: compress(acme_env, "static-int8", data, calibration=None, register_as="team/bad"),
        "dynamic-on-cnn": lambda: zoo.compress(
            convnet, "dynamic-int8", eval=torch.randn(2, 1, 8, 8), host=acme_env.host, registry=acme_env.registry
        ),
        "untraceable": lambda: zoo.compress(
            Branchy(), "prune-channels", eval=torch.randn(2, 1, 8, 8), host=acme_env.host, registry=acme_env.registry
        ),
        "bad-name": lambda: compress(acme_env, "dynamic-int8", data, register_as="Team Bad"),
    }
    expected = {
        "unknown-method": ZooNotFoundError,
        "dynamic-on-cnn": ZooCompressError,
        "untraceable": ZooCompressError,
    }.get(case, ZooValidationError)
    with pytest.raises(expected) as caught:
        calls[case]()
    message = str(caught.value)
    if case.startswith("ratio"):
        assert caught.value.field == "ratio"
    if case == "no-calibration":
        assert caught.value.field == "calibration"
    if case == "dynamic-on-cnn":
        assert "Conv2d" in message and "'0'" in message  # the op and a layer
    if case == "untraceable":
        assert "'gate'" in message and "Gate" in message
    assert acme_env.registry.count() == before and _audit_len(acme_env.registry) == events
    assert not acme_env.registry.exists("team/bad")


def test_untraceable_export_and_wrong_head_are_typed(acme_env, data):
    class Dynamic(nn.Module):
        def forward(self, x):
            return x[: int(x.sum().item() > 0) + 1].float()  # output size depends on the data

    with pytest.raises(ZooCompressError, match="cannot export"):
        zoo.compress(Dynamic(), "onnx", eval=torch.randn(4, 3), host=acme_env.host, registry=acme_env.registry)
    result = compress(acme_env, "static-int8", data, register_as="team/tiny-head")
    with pytest.raises(ZooValidationError, match="num_classes"):
        zoo.get(result.registered, 3, registry=acme_env.registry, host=acme_env.host, device="cpu")


def test_text_model_dynamic_int8_with_sentences(acme_env):
    zt = pytest.importorskip("zoo_transformers.builders")

    class Tokenizer:  # words -> ids, as a tokenizer's output
        def __call__(self, sentences, **_):
            ids = [[2] + [3 + (hash(w) % 40) for w in s.split()][:10] for s in sentences]
            n = max(map(len, ids))
            return {
                "input_ids": torch.tensor([i + [0] * (n - len(i)) for i in ids]),
                "attention_mask": torch.tensor([[1] * len(i) + [0] * (n - len(i)) for i in ids]),
            }

    torch.manual_seed(0)
    bert = zt.build_text_model(
        "bert",
        dict(
            vocab_size=50,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=16,
        ),
    ).eval()
    from zoo.compression import core

    sentences = ["a cat sat on the mat", "markets fell sharply", "the model is small", "rain again today"]
    text = core._as_data(sentences, "eval", Tokenizer())
    assert isinstance(text.batches[0], dict) and text.count == 4
    q = zoo.compress(
        bert,
        "dynamic-int8",
        eval=text.batches[0],
        host=acme_env.host,
        registry=acme_env.registry,
        repeats=1,
        threads=1,
        measure=False,
    )
    with torch.inference_mode():
        a = core._outputs(bert, text)
        b = core._outputs(q.model, text)
    assert torch.nn.functional.cosine_similarity(a, b).min() > 0.95
    assert q.measured["child"]["file_bytes"] < 0.75 * core._state_bytes(bert)  # tiny: scales and metadata weigh


def test_export_relation_on_postgresql(pg_schema_url, data, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    monkeypatch.setenv("ACME_ARTIFACTS_DIR", str(ROOT / "plugins" / "example-internal" / "artifacts"))
    from zoo.plugins import PluginHost, ensure_synced

    host = PluginHost(plugins=["acme", "compress"], disable=(), strict=True)
    registry = zoo.Registry(pg_schema_url, actor="tester@zoo")
    try:
        ensure_synced(registry, host)
        result = zoo.compress(
            PARENT,
            "torch-export",
            calibration=data[0],
            registry=registry,
            host=host,
            measure=False,
            register_as="team/tiny-pt2",
        )
        assert registry.resolve(result.registered).weights.parents[0].relation.value == "export"
        model = zoo.get(result.registered, registry=registry, host=host, device="cpu")
        x = data[1][0][:4]
        torch.testing.assert_close(model(x), result.model(x), rtol=0, atol=1e-6)
    finally:
        registry.close()


def test_migration_0006_adds_relation_export_to_an_existing_registry(tmp_path):
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", "zoo.registry:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_initial")
        with pytest.raises(sa.exc.IntegrityError):  # the old CHECK refuses 'export'
            with conn.begin_nested():
                conn.execute(sa.text("INSERT INTO lineage (child_id, parent_id, relation) VALUES (1, 2, 'export')"))
        command.upgrade(config, "head")
        from zoo.registry._location import SCHEMA_REVISION

        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
        conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
        conn.execute(sa.text("INSERT INTO lineage (child_id, parent_id, relation) VALUES (1, 2, 'export')"))
        with pytest.raises(sa.exc.IntegrityError):
            with conn.begin_nested():
                conn.execute(sa.text("INSERT INTO lineage (child_id, parent_id, relation) VALUES (3, 4, 'copy')"))
    engine.dispose()
