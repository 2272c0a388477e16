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
- :func:`make_weights` / :func:`make_family`: realistic records to register or sync;
  :func:`host_of`: a host with only some installed plugins.
- :func:`fake_distributions`: throwaway *installed* distributions (dist-info and
  entry points) on ``sys.path``, to test discovery as pip would install a plugin.
- :func:`zoo_env`: a ``ZOO_HOME`` with a synced SQLite registry, for the block.
- :class:`FakeHub`: a Hugging Face Hub on 127.0.0.1 (the resolve protocol: HEAD and GET,
  a redirect to a second path, ``X-Linked-Etag`` / ``X-Repo-Commit``, ``Range``), reached
  through ``HF_ENDPOINT``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ZooError, ZooPluginError
from zoo.plugins import BUILTIN_SCHEMES, HEAVY_MODULES, PluginHost, PluginInfo, import_object
from zoo.records import CardSection, DatasetUse, Family, License, Metric, Source, Weights

__all__ = [
    "FakeDistributions",
    "FakeHub",
    "PluginCheck",
    "ZooEnv",
    "check_plugin",
    "fake_distributions",
    "host_of",
    "make_family",
    "make_weights",
    "registered_plugin",
    "zoo_env",
    "zoo_plugin_host",
]


@contextmanager
def registered_plugin(
    plugin: object,
    *,
    host: PluginHost | None = None,
    name: str | None = None,
    version: str | None = None,
    allow_errors: bool = False,
) -> Iterator[PluginHost]:
    """Register ``plugin`` (a module or an object with ``@hookimpl`` methods) in ``host``
    (default: a new host that loads no installed plugin) and yield the host; the plugin
    is unregistered afterwards. A plugin that fails to register raises
    ``ZooPluginError`` unless ``allow_errors`` (then inspect ``host.plugin(name)``)."""
    host = host if host is not None else PluginHost(plugins="none", disable=(), strict=False)
    info = host.register(plugin, name, version=version)
    try:
        if info.errors and not allow_errors:
            raise ZooPluginError(
                f"plugin {info.name!r} did not register cleanly:\n  - " + "\n  - ".join(str(e) for e in info.errors)
            )
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


def check_plugin(
    plugin: str | object,
    *,
    families: Sequence[str] | None = None,
    forward: bool = True,
    lazy_imports: bool = True,
    raise_on_error: bool = True,
) -> PluginCheck:
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
    result = PluginCheck(
        info.name,
        tuple(f.name for f in info.families),
        tuple(w.ref for w in info.weights),
        tuple(k.name for k in info.key_adapters),
        tuple(r.name for r in info.recipes),
        tuple(s.scheme for s in info.weight_stores),
        tuple(problems),
    )
    if problems and raise_on_error:
        raise ZooPluginError(
            f"plugin {info.name!r} fails its contract test ({len(problems)} problem(s)):\n  - "
            + "\n  - ".join(problems),
            hint="docs/plugins.md explains each rule",
        )
    return result


def _find(host: PluginHost, name: str) -> PluginInfo:
    for info in host.plugins:
        if name in (info.name, info.distribution) and not info.core:
            return host.plugin(info.name)
    raise ZooPluginError(
        f"no installed plugin named {name!r}",
        hint="install it (pip install -e .) so that its entry point in group 'zoo' exists",
    )


def _heavy_imports(name: str) -> list[str]:
    code = (
        "import json, sys\n"
        "from zoo.plugins import PluginHost\n"
        f"host = PluginHost(plugins=[{name!r}], disable=(), strict=False)\n"
        "host.plugin(" + repr(name) + ")\n"
        f"print(json.dumps([m for m in {list(HEAVY_MODULES)!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        return [f"loading the plugin in a fresh interpreter failed: {proc.stderr.strip()[-500:]}"]
    heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    if heavy:
        return [
            f"loading the plugin imports {', '.join(heavy)}; import model libraries inside the "
            "builder functions, so that listing plugins stays fast"
        ]
    return []


def _output_width(output: Any) -> Any:
    if isinstance(output, (tuple, list)):
        output = output[0]
    return tuple(output.shape)


def _check_families(host: PluginHost, info: PluginInfo, only: Sequence[str] | None, forward: bool) -> list[str]:
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
                            problems.append(
                                f"{where} with num_classes={classes} outputs shape {shape}, "
                                f"expected (1, {classes or 'features'})"
                            )
                    elif family.head is not None:
                        problems += _head_problem(model, family, classes)
        except ZooError as exc:
            problems.append(f"{where}: {exc.message}")
        except Exception as exc:  # noqa: BLE001 - report every family, not only the first
            problems.append(f"{where} fails on the meta device: {type(exc).__name__}: {exc}")
    return problems


def _head_problem(model: Any, family: Family, classes: int) -> list[str]:
    from torch import nn

    from zoo.heads import head_outputs, submodule

    head = submodule(model, family.head)
    width = head_outputs(model, family.head)
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
    targets = (
        [(f"key adapter {k.name!r}", k.function) for k in info.key_adapters]
        + [(f"recipe {r.name!r}", r.runner) for r in info.recipes]
        + [(f"store {s.scheme!r}", s.opener) for s in info.weight_stores]
    )
    for what, target in targets:
        try:
            if not callable(import_object(target, what=what)):
                problems.append(f"{what}: {target!r} is not callable")
        except ZooError as exc:
            problems.append(exc.message)
    for adapter in info.key_adapters:
        if adapter.arch is not None and adapter.arch not in families:
            problems.append(
                f"key adapter {adapter.name!r} names architecture {adapter.arch!r}, which no loaded plugin declares"
            )
        if adapter.weights is not None and adapter.weights not in weights:
            problems.append(
                f"key adapter {adapter.name!r} names weights {adapter.weights!r}, which no loaded plugin declares"
            )
    return problems


# -- a Hugging Face Hub on 127.0.0.1 --------------------------------------------------------


class FakeHub:
    """A local server that speaks the Hugging Face Hub's resolve protocol, for tests that
    must not reach the internet (point ``HF_ENDPOINT`` at :attr:`endpoint`)::

        with FakeHub() as hub:
            commit = hub.push("timm/resnet18.a1_in1k", "model.safetensors", data)
            monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)

    ``HEAD``/``GET /{repo}/resolve/{revision}/{path}`` answer as the Hub does for a file
    in LFS: a 302 to a second host and path (:attr:`cdn`) with ``X-Repo-Commit``,
    ``X-Linked-Etag`` (the sha256), ``X-Linked-Size`` and ``ETag``; ``lfs=False`` files
    are served directly with a git-blob ``ETag`` and no ``X-Linked-Etag``. The CDN path
    honours ``Range``. A revision is a branch (``main``) or a commit id. Misbehaviour on
    purpose: :meth:`attest` overrides the attested hash, :meth:`tamper` changes a file's
    bytes under every commit (a server that changes a file after it was pinned);
    :attr:`token` requires ``Authorization: Bearer TOKEN`` on the resolve path.
    :attr:`requests` records ``(method, path, headers)`` of every request."""

    def __init__(self) -> None:
        import threading

        self.refs: dict[str, dict[str, str]] = {}
        self.commits: dict[str, dict[str, dict[str, tuple[bytes, bool]]]] = {}
        self.attested: dict[tuple[str, str], str] = {}
        self.token: str | None = None
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server: Any = None

    # -- content --------------------------------------------------------------------

    def push(self, repo: str, path: str, data: bytes, *, lfs: bool = True, branch: str = "main") -> str:
        """Commit ``data`` as ``path`` of ``repo`` on ``branch``; returns the new commit id."""
        import hashlib

        with self._lock:
            commits = self.commits.setdefault(repo, {})
            refs = self.refs.setdefault(repo, {})
            files = dict(commits.get(refs.get(branch, ""), {}))
            files[path] = (bytes(data), lfs)
            commit = hashlib.sha1(f"{repo}\n{len(commits)}\n{path}".encode() + data[:64]).hexdigest()
            commits[commit] = files
            refs[branch] = commit
            return commit

    def attest(self, repo: str, path: str, value: str) -> None:
        """Attest ``value`` (sent as ``X-Linked-Etag``) instead of the file's sha256."""
        self.attested[(repo, path)] = value

    def tamper(self, repo: str, path: str, data: bytes) -> None:
        """Replace ``path``'s bytes in every commit, keeping the commit ids."""
        with self._lock:
            for files in self.commits.get(repo, {}).values():
                if path in files:
                    files[path] = (bytes(data), files[path][1])

    def url(self, repo: str, path: str, revision: str = "main") -> str:
        return f"{self.endpoint}/{repo}/resolve/{revision}/{path}"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _file(self, repo: str, revision: str, path: str) -> tuple[str, bytes, bool] | None:
        with self._lock:
            commit = self.refs.get(repo, {}).get(revision, revision)
            entry = self.commits.get(repo, {}).get(commit, {}).get(path)
            return None if entry is None else (commit, *entry)

    # -- serving --------------------------------------------------------------------

    def __enter__(self) -> FakeHub:
        import http.server
        import threading

        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _send(self, status: int, headers: dict[str, str], data: bytes = b"", body: bool = True) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", headers.get("Content-Length", str(len(data))))
                self.end_headers()
                if body and data:
                    self.wfile.write(data)

            def _answer(self, body: bool) -> None:
                import hashlib
                import re
                from urllib.parse import unquote

                hub.requests.append((self.command, self.path, dict(self.headers)))
                cdn = re.match(r"^/cdn/([^/]+/[^/]+)/([0-9a-f]{40})/(.+)$", self.path)
                resolve = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self.path)
                match = cdn or resolve
                found = match and hub._file(unquote(match.group(1)), unquote(match.group(2)), match.group(3))
                if not found:
                    return self._send(404, {"X-Error-Code": "EntryNotFound"}, b"not found", body)
                commit, data, lfs = found
                repo, path = unquote(match.group(1)), match.group(3)
                if cdn:
                    return self._range(data, body)
                if hub.token and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self._send(401, {"X-Error-Code": "GatedRepo"}, b"unauthorized", body)
                headers = {"X-Repo-Commit": commit}
                if not lfs:
                    headers["ETag"] = '"' + hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() + '"'
                    return self._range(data, body, headers)
                sha = hashlib.sha256(data).hexdigest()
                attested = hub.attested.get((repo, path), sha)
                headers.update(
                    {
                        "X-Linked-Etag": f'"{attested}"',
                        "ETag": f'"{attested}"',
                        "X-Linked-Size": str(len(data)),
                        # another host, as the Hub's CDN is (huggingface_hub follows a
                        # redirect on the same host itself, as a renamed repository)
                        "Location": f"{hub.cdn}/cdn/{match.group(1)}/{commit}/{path}",
                    }
                )
                self._send(302, headers, b"", body)

            def _range(self, data: bytes, body: bool, headers: dict[str, str] | None = None) -> None:
                import re

                headers = {"Accept-Ranges": "bytes", **(headers or {})}
                wanted = re.match(r"^bytes=(\d+)-(\d*)$", self.headers.get("Range") or "")
                if wanted:
                    start = int(wanted.group(1))
                    end = min(int(wanted.group(2) or len(data) - 1), len(data) - 1)
                    if start >= len(data):
                        return self._send(416, {**headers, "Content-Range": f"bytes */{len(data)}"}, b"", body)
                    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                    return self._send(206, headers, data[start : end + 1], body)
                self._send(200, headers, data, body)

        self._servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
        self._server = self._servers[0]
        for server in self._servers:
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    @property
    def cdn(self) -> str:
        """The second host (another port) the resolve path redirects the bytes to."""
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


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
        f"{package}/catalogue.json is stale: run its tools/generate_catalogue.py and commit the output"
    )


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
    for entry, record in zip(doc["weights"], records, strict=True):
        family = families[entry["arch"]]
        if "preprocessing" not in entry:
            assert record.preprocessing == (family or None), entry["tag"]
        else:
            assert entry["preprocessing"], entry["tag"]
            assert all(family.get(k) != v for k, v in entry["preprocessing"].items()), entry["tag"]


# -- records, installed distributions and a ZOO_HOME for tests -----------------------------


def make_family(name: str = "resnet50", **overrides: Any) -> Family:
    """A realistic family record (torchvision's ResNet-50); keyword arguments override fields."""
    fields: dict[str, Any] = dict(
        name=name,
        modality="vision",
        builder="torchvision.models:resnet50",
        head="fc",
        default_tag="tv_in1k",
        preprocessing={"input_size": [3, 224, 224], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    )
    fields.update(overrides)
    return Family(**fields)


def make_weights(arch: str = "resnet50", tag: str | None = "tv_in1k", **overrides: Any) -> Weights:
    """A realistic catalogue weights record (torchvision's ResNet-50 on ImageNet-1k, with a
    bias note, metrics and datasets); keyword arguments override fields."""
    fields: dict[str, Any] = dict(
        arch=arch,
        tag=tag,
        sources=(Source("https://download.pytorch.org/models/resnet50-0676ba61.pth"),),
        sha256_prefix="0676ba61",
        size_bytes=102_530_333,
        format="pickle",
        license=License("BSD-3-Clause", "unknown", note="torchvision does not state terms for weights"),
        publisher="torchvision",
        paper_title="Deep Residual Learning for Image Recognition",
        paper_url="https://arxiv.org/abs/1512.03385",
        recipe="https://github.com/pytorch/vision/tree/main/references/classification",
        datasets=(DatasetUse("imagenet-1k", "pretrain"), DatasetUse("imagenet-1k", "eval")),
        metrics=(Metric("imagenet-1k", "acc@1", 76.13), Metric("imagenet-1k", "acc@5", 92.862)),
        num_params=25_557_032,
        num_classes=1000,
        card=(
            CardSection(
                "bias_risks",
                "ImageNet-1k over-represents North America and Europe.",
                references=("Shankar et al. 2017, arXiv:1711.08536",),
                severity="medium",
            ),
        ),
        tags=("imagenet",),
    )
    fields.update(overrides)
    return Weights(**fields)


def host_of(*names: str, **kwargs: Any) -> PluginHost:
    """A plugin host that loads only the installed plugins ``names`` (none disabled)."""
    return PluginHost(plugins=list(names), disable=kwargs.pop("disable", ()), **kwargs)


@dataclass
class FakeDistributions:
    """Throwaway *installed* distributions in one directory: each :meth:`add` writes a
    module and a ``*.dist-info`` (METADATA, entry_points.txt), so that discovery goes
    through importlib.metadata exactly as for a pip-installed plugin. Use it through
    :func:`fake_distributions` (in-process) or :meth:`env` (subprocesses)."""

    root: Path
    tag: str

    def add(
        self,
        name: str,
        source: str,
        *,
        version: str = "1.0",
        family: str | None = None,
        entry: str | None = None,
        extra_entries: tuple[str, ...] = (),
        dist: str | None = None,
    ) -> str:
        """Install module + dist-info; the entry point ``name`` targets the module. In
        ``source``, ``MOD`` becomes the module name, ``NAME`` the family prefix
        (``family`` or ``name``) and ``VERSION`` the version. Returns the module name."""
        module = f"zt_{self.tag}_{name.replace('-', '_')}_{version.replace('.', '_')}"
        code = textwrap.dedent(source).replace("MOD", module).replace("NAME", family or name)
        (self.root / f"{module}.py").write_text(code.replace("VERSION", version))
        dist = dist or f"zoo-test-{name}"
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = [f"{name} = {entry or module}", *extra_entries]
        (info / "entry_points.txt").write_text("[zoo]\n" + "\n".join(lines) + "\n")
        return module

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a subprocess that sees these distributions (no ``ZOO_*`` variables)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), os.environ.get("PYTHONPATH", "")])
        return env | extra


@contextmanager
def fake_distributions(root: Path) -> Iterator[FakeDistributions]:
    """:class:`FakeDistributions` in ``root`` (created), on ``sys.path`` for the block, with
    ``ZOO_PLUGINS`` / ``ZOO_DISABLE_PLUGINS`` / ``ZOO_STRICT_PLUGINS`` unset; afterwards
    ``sys.path``, those variables and the imported test modules are as before."""
    root.mkdir(parents=True, exist_ok=True)
    saved = {v: os.environ.pop(v, None) for v in ("ZOO_PLUGINS", "ZOO_DISABLE_PLUGINS", "ZOO_STRICT_PLUGINS")}
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    d = FakeDistributions(root, uuid.uuid4().hex[:8])
    try:
        yield d
    finally:
        if str(root) in sys.path:
            sys.path.remove(str(root))
        for var, value in saved.items():
            if value is not None:
                os.environ[var] = value
            else:
                os.environ.pop(var, None)
        for name in [m for m in sys.modules if m.startswith(f"zt_{d.tag}_")]:
            del sys.modules[name]


@dataclass
class ZooEnv:
    """A ``ZOO_HOME`` for tests: its folder, a registry in it synced with ``host``."""

    home: Path
    registry: Any
    host: PluginHost


@contextmanager
def zoo_env(home: Path, *, host: PluginHost | None = None, **env: str) -> Iterator[ZooEnv]:
    """``ZOO_HOME`` = ``home`` with a SQLite registry in it (``ZOO_REGISTRY_URL``), synced
    with ``host`` (default: the process's plugin host); ``env`` sets more variables (e.g.
    ``ACME_ARTIFACTS_DIR``) and ``ZOO_OFFLINE`` is unset, for the block only."""
    from zoo.plugins import default_host, ensure_synced
    from zoo.registry import Registry

    names = ("ZOO_HOME", "ZOO_REGISTRY_URL", "ZOO_OFFLINE", *env)
    saved = {v: os.environ.get(v) for v in names}
    os.environ.update({"ZOO_HOME": str(home), "ZOO_REGISTRY_URL": f"sqlite:///{home / 'registry.db'}", **env})
    os.environ.pop("ZOO_OFFLINE", None)
    try:
        host = host or default_host()
        registry = Registry(actor="tester@zoo")
        try:
            ensure_synced(registry, host)
            yield ZooEnv(home, registry, host)
        finally:
            registry.close()
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
