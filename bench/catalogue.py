"""Catalogue benchmark: how fast the static catalogue site (``zoo catalogue build``) is
built from a registry of N weights, and how fast its list page becomes interactive in a
real browser (headless Chromium from Debian, driven by playwright).

    .venv/bin/python bench/catalogue.py                    # 10,000 weights, SQLite
    .venv/bin/python bench/catalogue.py --n 2000           # a quick check
    .venv/bin/python bench/catalogue.py --markdown bench/results/catalogue.md

Measured in the browser with ``performance.now()`` (milliseconds from navigation start):

- ``list rendered``: the page's script has read the embedded data and drawn the first
  page of rows (it records the moment in ``window.ZOO_READY``);
- ``search keystroke``: from a keystroke in the search box to the filtered rows drawn
  (the page records ``window.ZOO_LAST_RENDER``), p50 over several searches;
- ``filter change``: the same for a select;
- the obvious alternative, measured in the same run: a plain HTML table with every row in
  the page (what a generator without a script writes), time to its ``load`` event, and a
  search over it done the usual way (hide the rows that do not match).

The registry is generated deterministically (``populate``; the tests use it too): vision
and text families from three catalogue plugins, team models with lineage up to depth 4,
bias notes with references on most records, metrics, aliases, deprecated and revoked
records. Every number printed is measured in this run.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from zoo.records import (  # noqa: E402
    CardSection,
    Dataset,
    DatasetUse,
    Family,
    License,
    Metric,
    ParentLink,
    Source,
    Weights,
)

# -- the synthetic registry -------------------------------------------------------------

_VISION = ["resnet", "convnext", "vit", "efficientnet", "regnety", "swin", "deit", "mobilenetv3", "densenet", "beit"]
_SIZES = ["tiny", "small", "base", "large", "18", "50", "101", "b0", "b3", "l"]
_TEXT = ["bert", "roberta", "minilm", "e5", "bge", "deberta", "electra", "mpnet"]
_PLUGINS = [("acme-mirror-torchvision", "2.1.0"), ("acme-mirror-timm", "1.0.9"), ("acme-mirror-hf", "4.44.0")]
_LICENCES = [
    ("Apache-2.0", "allowed", 30),
    ("MIT", "allowed", 12),
    ("BSD-3-Clause", "unknown", 12),
    ("CC-BY-NC-4.0", "forbidden", 8),
    ("NOASSERTION", "unknown", 10),
    ("OpenRAIL-M", "conditional", 4),
    ("LicenseRef-Internal", "conditional", 10),
]
_VISION_DATA = ["imagenet-1k", "imagenet-21k", "laion-2b", "jft-300m", "cifar-10", "food-101", "coco-2017"]
_TEXT_DATA = ["wikipedia-en", "bookcorpus", "c4", "ms-marco", "glue-sst2", "snli"]
_TEAMS = ["vision-platform", "search", "trust-safety", "medical-imaging", "retail", "docs-ai", "fraud", "maps"]
_TEAM_DATA = ["defects", "shelf-images", "support-tickets", "xrays", "receipts", "reviews"]
_BIAS = [
    "Training images over-represent North America and Western Europe; accuracy drops on images from other regions.",
    "Web-scraped captions carry social stereotypes about gender and occupation.",
    "Performance on darker skin tones was not evaluated separately.",
    "The text corpus is English-only and skews towards formal written language.",
    "Embeddings encode associations between names and demographic attributes.",
]
_REFS = [
    "Shankar et al. 2017, arXiv:1711.08536",
    "Buolamwini & Gebru 2018, FAT*",
    "Bender et al. 2021, FAccT",
    "Mitchell et al. 2019, arXiv:1810.03993",
]
_RELATIONS = ["finetune", "finetune", "finetune", "distill", "quantize", "prune", "adapter"]


def _families() -> list[tuple[Family, tuple[str, str]]]:
    out = []
    for i, base in enumerate(_VISION):
        for size in _SIZES:
            name = f"{base}_{size}"
            plugin = _PLUGINS[0] if i % 3 == 0 else _PLUGINS[1]
            out.append(
                (
                    Family(
                        name=name,
                        modality="vision",
                        builder=f"timm.models:{name}",
                        head="head",
                        default_tag="in1k",
                        description=f"{base} {size} image backbone",
                    ),
                    plugin,
                )
            )
    for base in _TEXT:
        for size in ("small", "base", "large"):
            name = f"{base}-{size}"
            out.append(
                (
                    Family(
                        name=name,
                        modality="text",
                        builder="transformers:AutoModel",
                        head="pooler",
                        default_tag="hf",
                        task="feature-extraction",
                    ),
                    _PLUGINS[2],
                )
            )
    return out


def populate(registry, n: int, *, seed: int = 0, batch: int = 2500) -> dict[str, int]:
    """Fill an empty ``registry`` with ``n`` weights records (deterministic for a seed):
    ~60 % catalogue checkpoints from three plugins, the rest team models fine-tuned,
    distilled or quantized from them (lineage up to depth 4, several versions), bias
    notes with references on ~60 %, some aliases, deprecations and revocations.
    Returns counts of what was written."""
    rng = random.Random(seed)
    families = _families()
    for family, (plugin, version) in families:
        registry.add_family(family, plugin=plugin, plugin_version=version)
    registry.sync_datasets(
        "acme-data",
        "1.0",
        [
            Dataset(
                "imagenet-1k",
                title="ImageNet-1k (ILSVRC 2012)",
                url="https://image-net.org",
                terms=License("LicenseRef-ImageNet", "forbidden", note="non-commercial research and education"),
                notes=(CardSection("bias_risks", _BIAS[0], references=(_REFS[0],), severity="medium"),),
            ),
            Dataset(
                "laion-2b",
                title="LAION-2B (English)",
                terms=License("CC-BY-4.0", "conditional", note="the images keep their own rights"),
                notes=(CardSection("bias_risks", _BIAS[1], severity="high"),),
            ),
        ],
    )
    n_catalogue = max(1, int(n * 0.6))
    catalogue: list[tuple[str, str]] = []  # (ref, modality)
    records: list[tuple[Weights, tuple[str, str] | None]] = []
    tags_used: dict[str, int] = {}

    def licence() -> License:
        spdx, use, _ = rng.choices(_LICENCES, weights=[w for *_, w in _LICENCES])[0]
        return License(spdx, use, note="the publisher does not state terms" if use == "unknown" else None)

    def card() -> tuple[CardSection, ...]:
        out = []
        if rng.random() < 0.3:
            out.append(CardSection("intended_use", "Feature extraction and transfer learning for classification."))
        if rng.random() < 0.6:
            out.append(
                CardSection(
                    "bias_risks",
                    rng.choice(_BIAS),
                    title="Known biases",
                    references=tuple(rng.sample(_REFS, rng.randint(0, 2))),
                    severity=rng.choice(["low", "medium", "high"]),
                )
            )
        if rng.random() < 0.2:
            out.append(CardSection("limitations", "Measured on curated validation sets only."))
        return tuple(out)

    for _ in range(n_catalogue):
        family, plugin = rng.choice(families)
        k = tags_used.get(family.name, 0)
        tags_used[family.name] = k + 1
        tag = family.default_tag if k == 0 else f"{family.default_tag}_r{k}"
        vision = family.modality.value == "vision"
        data = _VISION_DATA if vision else _TEXT_DATA
        sha = f"{rng.getrandbits(256):064x}"
        pretrain = rng.choice(data[:4] if vision else data[:3])
        records.append(
            (
                Weights(
                    arch=family.name,
                    tag=tag,
                    sources=(Source(f"https://models.example.org/{family.name}/{tag}-{sha[:8]}.safetensors"),),
                    sha256=sha,
                    size_bytes=rng.randint(5, 900) * 1_000_000,
                    license=licence(),
                    publisher=plugin[0].split("-")[-1],
                    paper_title=f"{family.name} paper",
                    datasets=(DatasetUse(pretrain, "pretrain"), DatasetUse(data[0], "eval")),
                    metrics=(Metric(data[0], "acc@1", round(rng.uniform(60, 90), 2)),),
                    num_params=rng.randint(1, 400) * 1_000_000,
                    card=card(),
                    tags=tuple(rng.sample(["imagenet", "mobile", "server", "ssl", "clip", "edge"], 2)),
                ),
                plugin,
            )
        )
        catalogue.append((f"{family.name}.{tag}", family.modality.value))
    team: list[tuple[str, str, int]] = []  # (name, arch, depth)
    for i in range(n - n_catalogue):
        if team and rng.random() < 0.45:
            parent_name, arch, depth = rng.choice(team)
            if depth >= 4:
                parent_name, arch, depth = rng.choice(team[: max(1, len(team) // 4)])
            parent = parent_name
        else:
            parent, _ = rng.choice(catalogue)
            arch, depth = parent.split(".")[0], 0
        name = f"{rng.choice(_TEAMS)}/{arch.replace('_', '-')}-{rng.choice(_TEAM_DATA)}-{i % 97}"
        team.append((name, arch, depth + 1))
        records.append(
            (
                Weights(
                    arch=arch,
                    name=name,
                    sources=(Source(f"file:///srv/zoo/store/{i:06d}.safetensors"),),
                    sha256=f"{rng.getrandbits(256):064x}",
                    size_bytes=rng.randint(5, 400) * 1_000_000,
                    license=License("LicenseRef-Internal", "conditional", note="internal use only")
                    if rng.random() < 0.6
                    else licence(),
                    recipe=rng.choice(["linear-probe", "full", "lora", "llrd", "lp-ft"]),
                    datasets=(DatasetUse(rng.choice(_TEAM_DATA), "finetune"),),
                    metrics=(Metric(rng.choice(_TEAM_DATA), "accuracy", round(rng.uniform(0.5, 0.99), 4), "test"),),
                    card=card(),
                    parents=(ParentLink(parent, rng.choice(_RELATIONS)),),
                    tags=("team",),
                ),
                None,
            )
        )
    # Parents first: each batch only names records of earlier batches or of itself.
    written = 0
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        by_plugin: dict[tuple[str, str] | None, list[Weights]] = {}
        for record, plugin in chunk:
            by_plugin.setdefault(plugin, []).append(record)
        for plugin, group in by_plugin.items():
            registry.register_many(
                group,
                plugin=plugin[0] if plugin else None,
                plugin_version=plugin[1] if plugin else None,
                actor=rng.choice(["alice@ml-platform", "bob@vision", "ci@build-07"]),
            )
            written += len(group)
    models = sorted({name for name, _, _ in team})
    for name in models[:: max(1, len(models) // 20)][:20]:
        registry.set_alias(name, "prod")
    for name, _ in catalogue[7 :: max(1, len(catalogue) // 10)][:10]:
        registry.deprecate(name, "superseded by a retrained checkpoint")
    for name, _ in catalogue[3 :: max(1, len(catalogue) // 5)][:5]:
        registry.revoke(name, "the upstream file was replaced; the pinned bytes are unverified")
    return {"weights": written, "families": len(families), "team_models": len(team)}
