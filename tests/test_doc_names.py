"""Every model name that README.md and docs/ use exists in the built-in catalogue: a
reader who copies `zoo info resnet50.tv2_in1k` from the docs gets a record, not an
error. Registered-model names (namespace/name) are the reader's own and are not checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# arch.tag (timm style) and the name given to a resolving command or call.
DOTTED = re.compile(r"(?<![\w./-])([a-z][a-z0-9_-]*)\.([a-z0-9][a-z0-9_.-]*[a-z0-9])(?![\w/(-])")
COMMAND = re.compile(
    r"""(?:\bzoo (?:get|info|card|finetune|history|policy check) +|zoo\.(?:get|preprocess|finetune)\(["'])([a-z0-9][a-z0-9_./@-]*)"""
)


@pytest.fixture(scope="module")
def catalogue() -> tuple[set[str], set[str]]:
    from zoo.plugins import PluginHost
    from zoo.registry.dump import catalogue_registry

    registry, _, _ = catalogue_registry()
    try:
        families, weights = {f.name for f in registry.families()}, {r.name for r in registry.search(limit=None).rows}
    finally:
        registry.close()
    # docs/plugins.md walks through the template plugin (plugins/example-internal): its names count.
    template = PluginHost(plugins=["acme"], disable=(), strict=False)
    return families | set(template.families()), weights | set(template.weights())


def _names(families: set[str]) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in DOTTED.finditer(text):
            if match.group(1) in families:
                found.append((doc.name, f"{match.group(1)}.{match.group(2)}".rstrip(".")))
        for match in COMMAND.finditer(text):
            name = match.group(1).rstrip(".").split("@")[0]
            if "/" not in name and name not in ("import", "show", "set", "check"):
                found.append((doc.name, name))
    return found


def test_docs_name_models_that_exist(catalogue):
    families, weights = catalogue
    names = _names(families)
    assert len(names) > 10  # the scan finds the examples
    missing = sorted({(doc, n) for doc, n in names if n not in weights and n not in families})
    assert not missing, f"docs name models that are not in the catalogue: {missing}"


def test_the_scan_finds_dotted_names_and_command_arguments():
    text = '`zoo info resnet50.tv_in1k` and zoo.get("convnext_tiny") but not x.resnet50.y or team/x.y'
    assert [f"{m.group(1)}.{m.group(2)}" for m in DOTTED.finditer(text) if m.group(1) == "resnet50"] == [
        "resnet50.tv_in1k"
    ]
    assert [m.group(1) for m in COMMAND.finditer(text)] == ["resnet50.tv_in1k", "convnext_tiny"]
