"""ACME's own tests: the zoo contract test, plus what only this plugin knows (its
store, its checkpoint's accuracy, its recipe). Copy this file with the template."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from zoo.plugins import PluginHost
from zoo.testing import check_plugin, registered_plugin
from zoo_acme import plugin
from zoo_acme.store import AcmeArtifactsError, fetch

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
URI = "acme-artifacts://vision/tinynet/digits_v1.safetensors"


def test_contract():
    """The contract every zoo plugin passes (docs/plugins.md, "Testing")."""
    result = check_plugin("acme")
    assert result.families == ("acme-tinynet",)
    assert result.weight_stores == ("acme-artifacts",)


@pytest.fixture
def host():
    with registered_plugin(plugin, name="acme-under-test") as host:
        yield host


@pytest.fixture
def artifacts(monkeypatch):
    monkeypatch.setenv("ACME_ARTIFACTS_DIR", str(ARTIFACTS))
    return ARTIFACTS


def test_store_serves_the_declared_checkpoint(host, artifacts, tmp_path):
    (weights,) = plugin.zoo_weights()
    store = host.weight_store("acme-artifacts")
    assert store.opener == "zoo_acme.store:fetch"
    seen = []
    fetch(weights.sources[0].uri, tmp_path / "ckpt", progress=lambda done, total: seen.append((done, total)))
    data = (tmp_path / "ckpt").read_bytes()
    assert hashlib.sha256(data).hexdigest() == weights.sha256
    assert len(data) == weights.size_bytes == seen[-1][0] == seen[-1][1]


def test_zoo_fetches_and_verifies_through_the_store(host, artifacts, tmp_path):
    """What zoo.get does with the record: fetch through the plugin's store into the
    content-addressed cache, verify the sha256, open as safetensors."""
    from zoo.weights import WeightsCache, fetch_weights

    (weights,) = plugin.zoo_weights()
    stores = {scheme: store.opener for scheme, store in host.weight_stores().items()}
    fetched = fetch_weights(weights, stores=stores, cache=WeightsCache(tmp_path / "cache"), progress=False)
    assert (fetched.sha256, fetched.size, fetched.format) == (weights.sha256, weights.size_bytes, "safetensors")
    assert fetched.source == weights.sources[0].uri


@pytest.mark.parametrize("uri", ["acme-artifacts://../secrets", "acme-artifacts://", "https://x/y"])
def test_store_refuses_uris_outside_the_store(artifacts, tmp_path, uri):
    with pytest.raises(AcmeArtifactsError):
        fetch(uri, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_store_says_what_to_set(monkeypatch, tmp_path):
    monkeypatch.delenv("ACME_ARTIFACTS_DIR", raising=False)
    with pytest.raises(AcmeArtifactsError, match="ACME_ARTIFACTS_DIR"):
        fetch(URI, tmp_path / "out")
    monkeypatch.setenv("ACME_ARTIFACTS_DIR", str(tmp_path))
    with pytest.raises(AcmeArtifactsError, match="not in the artifact store"):
        fetch(URI, tmp_path / "out")


def _pretrained(host, tmp_path):
    from safetensors.torch import load_file

    family = host.family("acme-tinynet")
    fetch(URI, tmp_path / "ckpt.safetensors")
    with torch.device("meta"):
        model = host.build(family, pretrained=True)
    model.load_state_dict(load_file(tmp_path / "ckpt.safetensors"), strict=True, assign=True)
    return model.eval(), family


def test_checkpoint_reaches_its_declared_accuracy(host, artifacts, tmp_path):
    from zoo_acme.data import digits_split

    model, _ = _pretrained(host, tmp_path)
    _, (x_test, y_test) = digits_split()
    with torch.no_grad():
        accuracy = 100 * (model(x_test).argmax(1) == y_test).float().mean().item()
    (metric,) = plugin.zoo_weights()[0].metrics
    assert accuracy == pytest.approx(metric.value, abs=0.5)


def test_key_adapter_reads_old_checkpoints(host, artifacts, tmp_path):
    from safetensors.torch import load_file

    from zoo.plugins import import_object

    fetch(URI, tmp_path / "ckpt")
    state = load_file(tmp_path / "ckpt")
    old = {k.replace("head.", "classifier.", 1): v for k, v in state.items()}
    adapter = host.key_adapter_for("acme-tinynet")
    assert adapter is not None and adapter.name == "acme-tinynet-v0"
    assert import_object(adapter.function)(old).keys() == state.keys()


def test_head_only_recipe_fine_tunes_a_new_head(host, artifacts, tmp_path):
    from zoo.plugins import import_object
    from zoo_acme.data import digits_split

    model, family = _pretrained(host, tmp_path)
    backbone = {k: v.clone() for k, v in model.features.state_dict().items()}
    torch.manual_seed(0)  # the new head's initialisation; unseeded, it depends on the tests run before
    model = host.adapt_head(model, family, 3)  # digits 0, 1, 2 only
    (x, y), (x_test, y_test) = digits_split()
    keep, keep_test = y < 3, y_test < 3
    recipe = host.recipe("acme-head-only")
    runner = import_object(recipe.runner)(**{**recipe.params, "epochs": 5})
    metrics = runner.fit(model, (x[keep], y[keep]), head=family.head)
    assert metrics["accuracy"] > 0.95
    with torch.no_grad():
        assert (model(x_test[keep_test]).argmax(1) == y_test[keep_test]).float().mean() > 0.95
    # only the head moved
    assert all(torch.equal(v, model.features.state_dict()[k]) for k, v in backbone.items())


def test_head_only_recipe_through_zoo_finetune(host, artifacts, tmp_path):
    """The same recipe run by zoo.finetune through the runner protocol (plan)."""
    import zoo
    from zoo_acme.data import digits_split

    model, family = _pretrained(host, tmp_path)
    backbone = {k: v.clone() for k, v in model.features.state_dict().items()}
    torch.manual_seed(0)  # as above
    model = host.adapt_head(model, family, 3)
    (x, y), (x_test, y_test) = digits_split()
    keep, keep_test = y < 3, y_test < 3
    result = zoo.finetune(
        model,
        (x[keep], y[keep]),
        (x_test[keep_test], y_test[keep_test]),
        recipe="acme-head-only",
        epochs=10,
        head=family.head,
        host=host,
        progress=False,
    )
    assert result.accuracy > 0.95 and result.trainable_params == 32 * 3 + 3
    assert all(torch.equal(v, result.model.features.state_dict()[k]) for k, v in backbone.items())


def test_recipe_refuses_unknown_hyper_parameters():
    from zoo.errors import ZooValidationError
    from zoo_acme.recipes import HeadOnly

    with pytest.raises(ZooValidationError, match="momentum"):
        HeadOnly(momentum=0.5)


def test_policy_and_audit_hooks_are_opt_in(monkeypatch, tmp_path):
    from dataclasses import replace

    from zoo.errors import ZooPolicyError
    from zoo.plugins import sync_registry
    from zoo.records import License
    from zoo.registry import Registry

    host = PluginHost(plugins=["acme"], disable=())
    monkeypatch.delenv("ACME_REQUIRE_COMMERCIAL", raising=False)
    monkeypatch.setenv("ACME_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    with Registry(f"sqlite:///{tmp_path / 'registry.db'}", actor="ci@acme") as registry:
        sync_registry(registry, host)
        lines = [
            line for line in (tmp_path / "audit.jsonl").read_text().splitlines() if '"plugin": "zoo"' not in line
        ]  # not the core's dataset declarations
        assert len(lines) == 2 and all('"plugin": "acme"' in line for line in lines)  # family + weights

        (weights,) = plugin.zoo_weights()
        restricted = registry.register(
            replace(weights, tag="research_only", license=License("CC-BY-NC-4.0", "forbidden"))
        )
        host.enforce_policy(restricted, "get")  # no opinion without the opt-in
        monkeypatch.setenv("ACME_REQUIRE_COMMERCIAL", "1")
        with pytest.raises(ZooPolicyError, match="acme:commercial-use"):
            host.enforce_policy(restricted, "finetune")
        host.enforce_policy(registry.resolve("acme-tinynet.digits_v1"), "get")
