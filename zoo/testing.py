"""Helpers for plugin authors' tests.

- :func:`registered_plugin`: a context manager that registers a plugin object in a
  host for the duration of a test (an isolated host by default: no installed plugins).
- :func:`check_plugin`: the contract test a plugin runs against itself::

      from zoo.testing import check_plugin

      def test_contract():
          check_plugin("acme")          # the entry-point name of the installed plugin

  Every family validates, builds on the ``meta`` device, and adapts its head to 3
  classes and to 0; every weights record validates and names a known family and a URI
  scheme some store serves; key adapters, recipes and stores resolve; and loading the
  plugin imports no model library.
- pytest fixture ``zoo_plugin_host`` (import it into a test module or conftest):
  a fresh host with no installed plugin loaded.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from zoo.errors import ZooError, ZooPluginError
from zoo.plugins import BUILTIN_SCHEMES, HEAVY_MODULES, PluginHost, PluginInfo, import_object
from zoo.records import Family

__all__ = ["PluginCheck", "check_plugin", "registered_plugin", "zoo_plugin_host"]


@contextmanager
def registered_plugin(plugin: object, *, host: PluginHost | None = None, name: str | None = None,
                      version: str | None = None, allow_errors: bool = False) -> Iterator[PluginHost]:
    """Register ``plugin`` (a module or an object with ``@hookimpl`` methods) in ``host``
    (default: a new host that loads no installed plugin) and yield the host; the plugin
    is unregistered afterwards. A plugin that fails to register raises
    ``ZooPluginError`` unless ``allow_errors`` (then inspect ``host.plugin(name)``)."""
    host = host if host is not None else PluginHost(plugins="none", disable=(), strict=False)
    info = host.register(plugin, name, version=version)
    try:
        if info.errors and not allow_errors:
            raise ZooPluginError(f"plugin {info.name!r} did not register cleanly:\n  - "
                                 + "\n  - ".join(str(e) for e in info.errors))
        yield host
    finally:
        if info.loaded:
            host.unregister(info.name)
        else:  # a failed registration leaves only its report behind
            host._infos = [i for i in host._infos if i is not info]


try:
    import pytest
except ImportError:  # pragma: no cover - zoo.testing is usable without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def zoo_plugin_host() -> PluginHost:
        """A host with only the core's defaults: register plugins into it with
        :func:`registered_plugin` (``host=zoo_plugin_host``)."""
        return PluginHost(plugins="none", disable=(), strict=False)


@dataclass(frozen=True)
class PluginCheck:
    """What :func:`check_plugin` looked at."""

    plugin: str
    families: tuple[str, ...]
    weights: tuple[str, ...]
    key_adapters: tuple[str, ...]
    recipes: tuple[str, ...]
    weight_stores: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_plugin(plugin: str | object, *, families: Sequence[str] | None = None, forward: bool = True,
                 lazy_imports: bool = True, raise_on_error: bool = True) -> PluginCheck:
    """Run the plugin contract test; raise ``ZooPluginError`` listing every problem.

    ``plugin`` is an installed plugin's entry-point (or distribution) name, or a
    plugin object (module) to register next to the installed plugins. ``families``
    limits the build checks to those names (a plugin with hundreds of families may
    test a sample). ``forward`` also runs a vision family on a meta tensor of its
    ``preprocessing["input_size"]`` and checks the output width. ``lazy_imports``
    (installed plugins only) loads the plugin in a fresh interpreter and fails if that
    imported torch, torchvision, timm or transformers.
    """
    problems: list[str] = []
    # All installed plugins load too: weights may name another plugin's family.
    host = PluginHost(plugins="all", disable=(), strict=False)
    temporary = None
    if isinstance(plugin, str):
        info = _find(host, plugin)
    elif host.pm.is_registered(plugin):
        info = host.plugin(host.pm.get_name(plugin))
    else:
        info = host.register(plugin, None)
        temporary = info.name if info.loaded else None
    try:
        problems += [str(e) for e in info.errors]
        if isinstance(plugin, str) and lazy_imports and info.loaded:
            problems += _heavy_imports(info.name)
        problems += _check_families(host, info, families, forward)
        problems += _check_weights(host, info)
        problems += _check_resolvers(host, info)
    finally:
        if temporary:
            host.unregister(temporary)
    result = PluginCheck(info.name, tuple(f.name for f in info.families), tuple(w.ref for w in info.weights),
                         tuple(k.name for k in info.key_adapters), tuple(r.name for r in info.recipes),
                         tuple(s.scheme for s in info.weight_stores), tuple(problems))
    if problems and raise_on_error:
        raise ZooPluginError(f"plugin {info.name!r} fails its contract test ({len(problems)} problem(s)):\n  - "
                             + "\n  - ".join(problems),
                             hint="docs/plugins.md explains each rule")
    return result


def _find(host: PluginHost, name: str) -> PluginInfo:
    for info in host.plugins:
        if name in (info.name, info.distribution) and not info.core:
            return host.plugin(info.name)
    raise ZooPluginError(f"no installed plugin named {name!r}",
                         hint="install it (pip install -e .) so that its entry point in group 'zoo' exists")


def _heavy_imports(name: str) -> list[str]:
    code = ("import json, sys\n"
            "from zoo.plugins import PluginHost\n"
            f"host = PluginHost(plugins=[{name!r}], disable=(), strict=False)\n"
            "host.plugin(" + repr(name) + ")\n"
            f"print(json.dumps([m for m in {list(HEAVY_MODULES)!r} if m in sys.modules]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        return [f"loading the plugin in a fresh interpreter failed: {proc.stderr.strip()[-500:]}"]
    heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    if heavy:
        return [f"loading the plugin imports {', '.join(heavy)}; import model libraries inside the "
                "builder functions, so that listing plugins stays fast"]
    return []


def _output_width(output: Any) -> Any:
    if isinstance(output, (tuple, list)):
        output = output[0]
    return tuple(output.shape)


def _check_families(host: PluginHost, info: PluginInfo, only: Sequence[str] | None,
                    forward: bool) -> list[str]:
    import torch

    problems = []
    wanted = set(only) if only is not None else None
    if wanted is not None and (unknown := wanted - {f.name for f in info.families}):
        problems.append(f"families {sorted(unknown)} are not declared by the plugin")
    for family in info.families:
        if wanted is not None and family.name not in wanted:
            continue
        where = f"family {family.name!r}"
        try:
            dataclasses.replace(family)
        except ZooError as exc:
            problems.append(f"{where} does not validate: {exc.message}")
            continue
        size = (family.preprocessing or {}).get("input_size")
        probe = forward and family.modality.value == "vision" and isinstance(size, (list, tuple))
        try:
            with torch.device("meta"):
                model = host.build(family, pretrained=True, num_classes=None)
                model.eval()
                for classes in (3, 0):
                    model = host.adapt_head(model, family, classes)
                    if probe:
                        shape = _output_width(model(torch.empty(1, *size)))
                        if len(shape) != 2 or (classes and shape[1] != classes):
                            problems.append(f"{where} with num_classes={classes} outputs shape {shape}, "
                                            f"expected (1, {classes or 'features'})")
                    elif family.head is not None:
                        problems += _head_problem(model, family, classes)
        except ZooError as exc:
            problems.append(f"{where}: {exc.message}")
        except Exception as exc:  # noqa: BLE001 - report every family, not only the first
            problems.append(f"{where} fails on the meta device: {type(exc).__name__}: {exc}")
    return problems


def _head_problem(model: Any, family: Family, classes: int) -> list[str]:
    from torch import nn

    head = model.get_submodule(family.head)
    width = getattr(head, "out_features", getattr(head, "out_channels", None))
    if classes == 0 and not isinstance(head, nn.Identity):
        return [f"family {family.name!r}: num_classes=0 left a {type(head).__name__} at {family.head!r}"]
    if classes and width != classes:
        return [f"family {family.name!r}: num_classes={classes} gave a head of width {width}"]
    return []


def _check_weights(host: PluginHost, info: PluginInfo) -> list[str]:
    problems = []
    families = host.families()
    schemes = set(BUILTIN_SCHEMES) | set(host.weight_stores())
    for weights in info.weights:
        where = f"weights {weights.ref!r}"
        try:
            dataclasses.replace(weights)
        except ZooError as exc:
            problems.append(f"{where} does not validate: {exc.message}")
            continue
        if weights.arch not in families:
            problems.append(f"{where} names architecture {weights.arch!r}, which no loaded plugin declares")
        for source in weights.sources:
            scheme = source.uri.split("://", 1)[0].lower() if "://" in source.uri else "file"
            if scheme not in schemes:
                problems.append(f"{where}: no weight store serves {scheme}:// ({source.uri})")
        if not weights.sources:
            problems.append(f"{where} has no sources")
    return problems


def _check_resolvers(host: PluginHost, info: PluginInfo) -> list[str]:
    problems = []
    families, weights = host.families(), host.weights()
    targets = ([(f"key adapter {k.name!r}", k.function) for k in info.key_adapters]
               + [(f"recipe {r.name!r}", r.runner) for r in info.recipes]
               + [(f"store {s.scheme!r}", s.opener) for s in info.weight_stores])
    for what, target in targets:
        try:
            if not callable(import_object(target, what=what)):
                problems.append(f"{what}: {target!r} is not callable")
        except ZooError as exc:
            problems.append(exc.message)
    for adapter in info.key_adapters:
        if adapter.arch is not None and adapter.arch not in families:
            problems.append(f"key adapter {adapter.name!r} names architecture {adapter.arch!r}, "
                            "which no loaded plugin declares")
        if adapter.weights is not None and adapter.weights not in weights:
            problems.append(f"key adapter {adapter.name!r} names weights {adapter.weights!r}, "
                            "which no loaded plugin declares")
    return problems



# -- generated catalogues (zoo.catalogue_data) -------------------------------------------


def assert_catalogue_current(package: str, library: str, generator: Any) -> None:
    """The committed ``catalogue.json`` of ``package`` is what ``generator`` (a plugin's
    tools/generate_catalogue.py as a module: ``collect()``, ``render()``, ``CATALOGUE``)
    writes — checked only when the installed ``library`` is the version the file records;
    otherwise the test is skipped with a message (a new upstream release must not fail a
    fresh ``make test``)."""
    import importlib.metadata

    from zoo import catalogue_data

    data = catalogue_data.load(package)
    reason = catalogue_data.freshness_skip(data, library, importlib.metadata.version(library))
    if reason:
        if pytest is None:  # pragma: no cover
            raise AssertionError(reason)
        pytest.skip(reason)
    expected = generator.render(generator.collect())
    assert generator.CATALOGUE.read_text(encoding="utf-8") == expected, (
        f"{package}/catalogue.json is stale: run its tools/generate_catalogue.py and commit the output")


def records_digest(records: Sequence[Any]) -> str:
    """sha256 of the sorted (name, sha256, sha256 prefix) of weights records: what a test
    pins to show that a change of format kept every record and hash."""
    import hashlib
    import json

    triples = sorted((w.ref, w.sha256, w.sha256_prefix) for w in records)
    return hashlib.sha256(json.dumps(triples).encode()).hexdigest()


def assert_preprocessing_per_family(package: str, records: Sequence[Any]) -> None:
    """In ``package``'s catalogue.json, a weights entry stores only the preprocessing keys
    that differ from its family's, and the records carry the merged configuration."""
    import json
    from importlib import resources

    doc = json.loads(resources.files(package).joinpath("catalogue.json").read_text(encoding="utf-8"))
    families = {f["name"]: f.get("preprocessing") or {} for f in doc["families"]}
    assert len(doc["weights"]) == len(records)
    for entry, record in zip(doc["weights"], records):
        family = families[entry["arch"]]
        if "preprocessing" not in entry:
            assert record.preprocessing == (family or None), entry["tag"]
        else:
            assert entry["preprocessing"], entry["tag"]
            assert all(family.get(k) != v for k, v in entry["preprocessing"].items()), entry["tag"]
