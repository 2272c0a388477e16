"""``zoo catalogue build DIR``: the registry as a static, browsable site.

Everything is read in one snapshot through the registry's read layer
(:class:`zoo.registry._reads.RegistryReader`, on SQLite or PostgreSQL), rendered to
HTML with every registry value escaped, and written into a temporary directory next to
``DIR``; only a complete site is swapped in, so a failed build leaves no half site and an
earlier catalogue stays as it was.

Layout of the site (all links relative, so it works from ``file://`` and under any path
of a web server)::

    index.html              the searchable, filterable list (vanilla JS, data embedded)
    datasets.html           every dataset: terms, notes, how many weights name it
    plugins.html            every plugin that declared records
    weights/NAME--vN.html   one page per weights record
    datasets/NAME.html      one page per dataset
    plugins/NAME.html       one page per plugin
    data/catalogue.js       the list's data, as a script (not fetched: file:// has no XHR)
    assets/                 catalogue.css, catalogue.js
    zoo-catalogue.json      what was built, from which registry, and every file written
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from zoo.catalogue_site import _html, _lineage
from zoo.errors import ZooCatalogueError, ZooError
from zoo.records import AuditEvent, Dataset, DatasetInfo, WeightsInfo

MANIFEST = "zoo-catalogue.json"
GENERATOR = "zoo catalogue"
FORMAT = 1
ASSETS = ("catalogue.css", "catalogue.js")
_SLUG_BAD = re.compile(r"[^a-z0-9_.~-]+")
_SLUG_MAX = 120


@dataclass(frozen=True)
class CatalogueReport:
    """What ``build_catalogue`` wrote."""

    directory: str
    registry: str
    weights: int
    datasets: int
    plugins: int
    files: int
    bytes: int
    seconds: float
    replaced: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading the registry ------------------------------------------------------------------


@contextmanager
def _reader(registry: Any) -> Iterator[Any]:
    """One read snapshot of ``registry`` for the whole build: the read layer's reader over
    one connection (a full ``Registry`` opens one read transaction; the fast path's reader
    already holds one snapshot per command)."""
    with registry._reading() as reader:
        yield reader


@dataclass
class _Snapshot:
    infos: list[WeightsInfo]
    summaries: dict[int, Any]  # weights id -> WeightsSummary (the list's counts)
    datasets: list[DatasetInfo]
    events: list[AuditEvent]
    registry: str


def _read_all(registry: Any) -> _Snapshot:
    with _reader(registry) as reader:
        ids = {(n, v): i for i, n, v in reader.rows("SELECT id, name, version FROM weights ORDER BY name, version")}
        result = reader.search()
        summaries = {ids[(r.name, r.version)]: r for r in result.rows if (r.name, r.version) in ids}
        infos = reader.infos(list(ids.values()))  # batched: a few statements per 500 records
        datasets = reader.datasets()
        events = reader.history()
    url = getattr(registry, "display_url", None) or str(getattr(registry, "url", "registry"))
    return _Snapshot(infos, summaries, datasets, events, url)


# -- names of pages ------------------------------------------------------------------------


def _slug(text: str, taken: set[str]) -> str:
    """A file name for ``text``: lower-case ``[a-z0-9_.~-]`` (``/`` becomes ``~``), never
    hidden or empty, at most ``_SLUG_MAX`` characters, unique among ``taken``."""
    base = _SLUG_BAD.sub("_", text.lower().replace("/", "~")).strip(".") or "_"
    if not base[0].isalnum():
        base = "x" + base
    base = base[:_SLUG_MAX]
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


# -- the target directory ------------------------------------------------------------------


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR or not isinstance(data.get("files"), list):
        return None
    return data


def _files_under(directory: Path) -> set[str]:
    out = set()
    for base, dirs, files in os.walk(directory):
        rel = Path(base).relative_to(directory)
        for name in files:
            out.add((rel / name).as_posix())
        for name in dirs:
            if (Path(base) / name).is_symlink():
                out.add((rel / name).as_posix())
    return out


def check_target(directory: Path, *, force: bool) -> bool:
    """Whether ``directory`` may receive a catalogue; True when one is there to replace.
    The rule: a new or empty directory, or (with ``force``) a catalogue that zoo built,
    holding nothing but the files its manifest lists. Anything else is refused."""
    if not directory.exists() and not directory.is_symlink():
        return False
    if not directory.is_dir():
        raise ZooCatalogueError(
            f"{directory} exists and is not a directory",
            hint="name a new or empty directory for the catalogue",
        )
    try:
        entries = sorted(p.name for p in directory.iterdir())
    except OSError as exc:
        raise ZooCatalogueError(f"cannot read {directory}: {exc.strerror or exc}") from None
    if not entries:
        return True
    manifest = _read_manifest(directory)
    if manifest is None:
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise ZooCatalogueError(
            f"{directory} holds files that are not a zoo catalogue ({shown}); nothing was written",
            hint="zoo catalogue build writes into a new or empty directory, or replaces (with --force) a "
            "catalogue it built itself; choose another directory",
        )
    extra = sorted(_files_under(directory) - set(manifest["files"]) - {MANIFEST})
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise ZooCatalogueError(
            f"{directory} holds a zoo catalogue plus files it did not write ({shown}); nothing was written",
            hint="zoo replaces only what it wrote: move those files away, or choose another directory",
        )
    if not force:
        raise ZooCatalogueError(
            f"{directory} already holds a zoo catalogue (built {manifest.get('built_at', '?')} from "
            f"{manifest.get('registry', '?')}); nothing was written",
            hint="pass --force (force=True) to replace it",
        )
    return True


# -- building ------------------------------------------------------------------------------


def build_catalogue(directory: str | os.PathLike[str], registry: Any = None, *, force: bool = False) -> CatalogueReport:
    """Write the browsable catalogue of ``registry`` (a ``Registry``, the fast-path reader,
    a URL, or None for the configured registry) into ``directory``; see the module doc."""
    started = time.perf_counter()
    target = Path(directory).expanduser().absolute()
    if target.is_symlink():  # build next to, and swap, the directory it names (not the link)
        target = target.resolve()
    check_target(target, force=force)
    opened = None
    if registry is None or isinstance(registry, str):
        from zoo.registry import Registry

        registry = opened = Registry(registry)
    try:
        snapshot = _read_all(registry)
    except ZooError:
        raise
    except Exception as exc:  # a record the read layer cannot decode (a damaged row)
        raise ZooCatalogueError(
            f"cannot read the registry: {type(exc).__name__}: {exc}; nothing was written",
            hint="`zoo info NAME` on the records shows which one; an earlier catalogue is unchanged",
        ) from exc
    finally:
        if opened is not None:
            opened.close()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    except OSError as exc:
        raise ZooCatalogueError(
            f"cannot create the catalogue next to {target}: {exc.strerror or exc}",
            hint="check that the parent directory exists and is writable",
        ) from None
    try:
        counts, files, total_bytes = _write_site(staging, snapshot)
        manifest = {
            "generator": GENERATOR,
            "format": FORMAT,
            "zoo_version": _version(),
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "registry": snapshot.registry,
            "counts": counts,
            "files": sorted(files),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), "utf-8")
        os.chmod(staging, 0o755)  # mkdtemp made it private; a web server must read it
        replaced = _swap(staging, target, force=force)
    except ZooError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ZooCatalogueError(
            f"building the catalogue failed: {type(exc).__name__}: {exc}; nothing was written",
            hint="an earlier catalogue in the directory is unchanged",
        ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return CatalogueReport(
        directory=str(target),
        registry=snapshot.registry,
        weights=counts["weights"],
        datasets=counts["datasets"],
        plugins=counts["plugins"],
        files=len(files) + 1,
        bytes=total_bytes,
        seconds=round(time.perf_counter() - started, 3),
        replaced=replaced,
    )


def _swap(staging: Path, target: Path, *, force: bool) -> bool:
    """Put the finished site at ``target``: a rename, or (replacing) two renames with the
    old site kept until the new one is in place. The target is checked again first: it
    may have changed while the site was built."""
    existing = check_target(target, force=force)
    if not existing:
        os.rename(staging, target)
        return False
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return True


def _version() -> str:
    from zoo import __version__

    return __version__


def _lineage_edges(infos: list[WeightsInfo], by_name: dict[str, int]):
    """Parent and child adjacency (id -> [(id, relation)]) of the whole registry."""
    parents: dict[int, list[tuple[int, str]]] = {}
    children: dict[int, list[tuple[int, str]]] = {}
    for info in infos:
        for link in info.weights.parents:
            pid = by_name.get(link.parent)
            if pid is None:
                continue
            parents.setdefault(info.id, []).append((pid, link.relation.value))
            children.setdefault(pid, []).append((info.id, link.relation.value))
    return parents, children


def _write_site(root: Path, snap: _Snapshot) -> tuple[dict[str, int], list[str], int]:
    files: list[str] = []
    written = 0

    def write(rel: str, text: str) -> None:
        nonlocal written
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        files.append(rel)
        written += len(data)

    infos = snap.infos
    by_id = {i.id: i for i in infos}
    by_name = {i.qualified_name: i.id for i in infos}
    taken: set[str] = set()
    weights_pages = {i.id: f"weights/{_slug(f'{i.ref}--v{i.version}', taken)}.html" for i in infos}
    taken = set()
    dataset_names = sorted(
        {d.dataset.name for d in snap.datasets} | {u.name for i in infos for u in i.weights.datasets}
    )
    dataset_pages = {n: f"datasets/{_slug(n, taken)}.html" for n in dataset_names}
    plugin_versions: dict[str, set[str]] = {}
    for i in infos:
        if i.plugin is not None:
            plugin_versions.setdefault(i.plugin, set()).add(i.plugin_version or "")
    for d in snap.datasets:
        if d.plugin is not None:
            plugin_versions.setdefault(d.plugin, set()).add(d.plugin_version or "")
    for e in snap.events:
        if e.plugin is not None and e.plugin in plugin_versions:
            plugin_versions[e.plugin].add(e.plugin_version or "")
    taken = set()
    plugin_pages = {p: f"plugins/{_slug(p, taken)}.html" for p in sorted(plugin_versions)}
    links = _html.Links(weights_pages, by_name, dataset_pages, plugin_pages)
    built = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = {"version": _version(), "registry": snap.registry, "built": built}
    template = _html.page_template()

    events_by_key: dict[tuple[str, str], list[AuditEvent]] = {}
    events_by_plugin: dict[str, list[AuditEvent]] = {}
    for e in snap.events:
        kind = "dataset" if e.entity_type == "dataset" else "weights"
        events_by_key.setdefault((kind, e.entity_key), []).append(e)
        if e.plugin is not None:
            events_by_plugin.setdefault(e.plugin, []).append(e)

    # -- assets and the list's data
    assets = resources.files("zoo.catalogue_site").joinpath("assets")
    for name in ASSETS:
        write(f"assets/{name}", assets.joinpath(name).read_text("utf-8"))
    write("data/catalogue.js", _list_data(snap, links, meta))
    write(
        "index.html",
        _html.page(
            template,
            kind="index",
            title="Weights",
            body=_html.index_body(len(infos)),
            root="",
            meta=meta,
            scripts=("data/catalogue.js", "assets/catalogue.js"),
        ),
    )

    # -- one page per weights
    parents, children = _lineage_edges(infos, by_name)
    for info in infos:
        up, down, hidden_up, hidden_down = _lineage.neighbourhood(info.id, parents, children)
        keys = [info.id, *up, *down]
        nodes = {
            k: _lineage.Node(
                k,
                by_id[k].qualified_name,
                None if k == info.id else "../" + weights_pages[k],
                by_id[k].weights.status.value,
            )
            for k in keys
        }
        drawn = [(p, k, r) for k in nodes for p, r in parents.get(k, ()) if p in nodes]
        svg = _lineage.render_svg(_lineage.Graph(info.id, nodes, drawn, hidden_up, hidden_down), _html.esc)
        body = _html.weights_body(
            info,
            links=links,
            lineage_svg=svg,
            parents=[(p.parent, p.relation.value) for p in info.weights.parents],
            children=[
                (by_id[c].qualified_name, r)
                for c, r in sorted(children.get(info.id, ()), key=lambda x: by_id[x[0]].qualified_name)
            ],
            hidden=(hidden_up, hidden_down),
            events=events_by_key.get(("weights", info.ref), []),
        )
        write(
            weights_pages[info.id],
            _html.page(template, kind="weights", title=info.qualified_name, body=body, root="../", meta=meta),
        )

    # -- datasets
    dataset_infos = {d.dataset.name: d for d in snap.datasets}
    users: dict[str, dict[str, list[str]]] = {}
    for info in infos:
        for use in info.weights.datasets:
            users.setdefault(use.name, {}).setdefault(use.role.value, []).append(info.qualified_name)
    for name in dataset_names:
        dinfo = dataset_infos.get(name)
        if dinfo is None:  # not in the snapshot's dataset rows: a page with what is known
            dinfo = DatasetInfo(Dataset(name), None, None, 0)
        body = _html.dataset_body(
            dinfo,
            links=links,
            users=users.get(name, {}),
            events=events_by_key.get(("dataset", name), []),
            list_href="../index.html#dataset=" + quote(name, safe=""),
        )
        write(dataset_pages[name], _html.page(template, kind="dataset", title=name, body=body, root="../", meta=meta))
    all_datasets = [dataset_infos.get(n) or DatasetInfo(Dataset(n), None, None, 0) for n in dataset_names]
    write(
        "datasets.html",
        _html.page(
            template,
            kind="datasets",
            title="Datasets",
            body=_html.datasets_index(all_datasets, links),
            root="",
            meta=meta,
        ),
    )

    # -- plugins
    summary = []
    by_plugin: dict[str, list[WeightsInfo]] = {}
    for info in infos:
        if info.plugin is not None:
            by_plugin.setdefault(info.plugin, []).append(info)
    for name in sorted(plugin_versions):
        mine = by_plugin.get(name, [])
        ds = sorted(d.dataset.name for d in snap.datasets if d.plugin == name)
        versions = sorted(v for v in plugin_versions[name] if v)
        body = _html.plugin_body(
            name,
            versions=versions,
            weights=[(i.qualified_name, i.weights.status.value) for i in mine],
            archs=sorted({i.family.name for i in mine}),
            datasets=ds,
            links=links,
            events=events_by_plugin.get(name, []),
            list_href="../index.html#plugin=" + quote(name, safe=""),
        )
        write(plugin_pages[name], _html.page(template, kind="plugin", title=name, body=body, root="../", meta=meta))
        summary.append((name, versions, len(mine), len(ds)))
    write(
        "plugins.html",
        _html.page(
            template, kind="plugins", title="Plugins", body=_html.plugins_index(summary, links), root="", meta=meta
        ),
    )
    counts = {"weights": len(infos), "datasets": len(dataset_names), "plugins": len(plugin_pages)}
    return counts, files, written


LIST_FIELDS = (
    "name",
    "version",
    "page",
    "arch",
    "modality",
    "task",
    "licence",
    "commercial",
    "effective",
    "status",
    "trained",
    "evaluated",
    "plugin",
    "notes",
    "params",
    "default",
    "publisher",
    "tags",
    "aliases",
)


def _list_data(snap: _Snapshot, links: _html.Links, meta: dict[str, str]) -> str:
    rows = []
    for info in snap.infos:
        w = info.weights
        s = snap.summaries.get(info.id)
        trained = sorted({d.name for d in w.datasets if d.role.value in ("pretrain", "finetune")})
        evaluated = sorted({d.name for d in w.datasets} - set(trained))
        notes = s.bias_notes if s is not None else len(info.bias_notes)
        rows.append(
            [
                info.ref,
                info.version,
                links.weights[info.id],
                info.family.name,
                info.family.modality.value,
                info.family.task,
                w.license.spdx,
                w.license.commercial_use.value,
                info.effective_use.commercial_use.value if info.effective_use else w.license.commercial_use.value,
                w.status.value,
                trained,
                evaluated,
                info.plugin,
                notes,
                w.num_params,
                info.is_default,
                w.publisher,
                list(w.tags),
                list(info.aliases),
            ]
        )
    data = {
        "format": FORMAT,
        "generated": meta["built"],
        "registry": meta["registry"],
        "fields": list(LIST_FIELDS),
        "rows": rows,
        "datasets": dict(links.datasets),
        "plugins": dict(links.plugins),
    }
    # A script, not JSON fetched by XHR: pages opened from file:// cannot fetch.
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return "window.ZOO_CATALOGUE = " + text + ";\n"
