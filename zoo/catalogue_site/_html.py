"""The catalogue's pages as HTML strings. Every value that comes from the registry goes
through :func:`esc` (text and attribute values alike); links to the outside are written
only for ``http(s)`` URLs (never ``javascript:`` or ``data:``); links inside the site are
relative, so the pages work from ``file://`` and under any path of a web server."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from zoo.records import AuditEvent, CardSection, DatasetInfo, WeightsInfo

SECTION_TITLES = {
    "intended_use": "Intended use",
    "out_of_scope_use": "Out-of-scope use",
    "limitations": "Limitations",
    "bias_risks": "Bias and risks",
    "recommendations": "Recommendations",
}
HISTORY_SHOWN = 200  # audit events on one page, newest kept
LIST_SHOWN = 500  # weights listed on a dataset or plugin page (the list page has them all)


def esc(value: Any) -> str:
    """Text for HTML text and quoted attribute values (``&<>"'`` escaped)."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL without spaces or control characters."""
    if not url or not isinstance(url, str):
        return None
    low = url.strip().lower()
    if not low.startswith(("https://", "http://")) or any(ord(c) <= 32 or ord(c) == 127 for c in url.strip()):
        return None
    return url.strip()


def ext_link(url: str | None, text: str | None = None) -> str:
    good = safe_url(url)
    label = esc(text if text is not None else url)
    if good is None:
        return label
    return f'<a class="ext" href="{esc(good)}" rel="noopener noreferrer">{label}</a>'


def when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return f'<time datetime="{esc(value.isoformat())}">{esc(value.strftime("%Y-%m-%d %H:%M"))}</time>'


def size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def params(n: int | None) -> str:
    if n is None:
        return ""
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n / 1e3:.1f}K"


def badge(kind: str, value: str) -> str:
    return f'<span class="badge {esc(kind)}-{esc(value)}">{esc(value)}</span>'


@dataclass(frozen=True)
class Links:
    """Where each page lives, relative to the site's root."""

    weights: Mapping[int, str]  # weights id -> "weights/x.html"
    by_name: Mapping[str, int]  # "name@version" -> weights id
    datasets: Mapping[str, str]  # dataset name -> "datasets/x.html"
    plugins: Mapping[str, str]  # plugin name -> "plugins/x.html"

    def weights_link(self, qualified: str, root: str, text: str | None = None) -> str:
        wid = self.by_name.get(qualified)
        label = esc(text or qualified)
        return f'<a href="{esc(root + self.weights[wid])}">{label}</a>' if wid is not None else label

    def dataset_link(self, name: str, root: str) -> str:
        path = self.datasets.get(name)
        return f'<a href="{esc(root + path)}">{esc(name)}</a>' if path else esc(name)

    def plugin_link(self, name: str | None, root: str) -> str:
        if name is None:
            return '<span class="muted">none (registered by a user)</span>'
        path = self.plugins.get(name)
        return f'<a href="{esc(root + path)}">{esc(name)}</a>' if path else esc(name)


def page_template() -> Template:
    """The page skeleton (package data ``assets/page.html``); read once per build."""
    return Template(resources.files("zoo.catalogue_site").joinpath("assets/page.html").read_text("utf-8"))


def page(
    template: Template,
    *,
    kind: str,
    title: str,
    body: str,
    root: str,
    meta: Mapping[str, str],
    scripts: Sequence[str] = (),
) -> str:
    return template.substitute(
        version=esc(meta["version"]),
        title=esc(title),
        root=root,
        kind=kind,
        body=body,
        registry=esc(meta["registry"]),
        built=esc(meta["built"]),
        scripts="".join(f'<script src="{esc(root + s)}"></script>' for s in scripts),
    )


def dl(items: Iterable[tuple[str, str]]) -> str:
    """A definition list of (label, already-escaped HTML) pairs; empty values are left out."""
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items if v not in (None, ""))
    return f'<dl class="facts">{rows}</dl>'


def paragraphs(text: str | None) -> str:
    if not text:
        return ""
    return "".join(f"<p>{esc(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def references(refs: Sequence[str]) -> str:
    if not refs:
        return ""
    items = "".join(f"<li>{ext_link(r) if safe_url(r) else esc(r)}</li>" for r in refs)
    return f'<div class="refs"><span class="refs-label">References</span><ol>{items}</ol></div>'


def card_section(section: CardSection, origin: str | None = None) -> str:
    kind = section.kind.value if hasattr(section.kind, "value") else str(section.kind)
    severity = section.severity.value if section.severity is not None else None
    head = esc(section.title or SECTION_TITLES.get(kind, kind))
    sev = f" {badge('severity', severity)}" if severity else ""
    where = f'<p class="origin">inherited from {esc(origin)}</p>' if origin else ""
    return (
        f'<article class="note kind-{esc(kind)}"><h3>{head}{sev}</h3>{where}'
        f"{paragraphs(section.body)}{references(section.references)}</article>"
    )


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:119] + "…"


def change_summary(event: AuditEvent) -> str:
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    if not isinstance(event.before, dict) and event.before is not None:
        before = {"value": event.before}
    if not isinstance(event.after, dict) and event.after is not None:
        after = {"value": event.after}
    changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    if event.before is None:  # a creation: name a few fields, not all of them
        shown = [k for k in ("version", "status", "plugin", "alias", "reason") if k in after]
        items = [f"<li><b>{esc(k)}</b> {esc(_value(after[k]))}</li>" for k in shown]
    else:
        items = [
            f"<li><b>{esc(k)}</b> {esc(_value(before.get(k)))} → {esc(_value(after.get(k)))}</li>" for k in changed[:8]
        ]
        if len(changed) > 8:
            items.append(f"<li>… {len(changed) - 8} more</li>")
    if event.before is None:  # the record as registered is this very page
        return f'<ul class="changes">{"".join(items)}</ul>'
    full = json.dumps({"before": event.before, "after": event.after}, indent=1, ensure_ascii=False, default=str)
    if len(full) > 4000:
        full = full[:4000] + "\n…"
    return (
        f'<ul class="changes">{"".join(items)}</ul>'
        f"<details><summary>full change</summary><pre>{esc(full)}</pre></details>"
    )


def history_table(events: Sequence[AuditEvent], *, show_key: bool = False) -> str:
    if not events:
        return '<p class="muted">No audit events.</p>'
    shown = list(events)[-HISTORY_SHOWN:]
    note = (
        f'<p class="muted">The newest {len(shown)} of {len(events)} events; `zoo history` shows all.</p>'
        if len(shown) < len(events)
        else ""
    )
    head = "<tr><th>#</th><th>when (UTC)</th><th>who</th><th>action</th>"
    head += "<th>entity</th>" if show_key else ""
    head += "<th>plugin</th><th>change</th></tr>"
    rows = []
    for e in reversed(shown):
        plugin = f"{esc(e.plugin)} {esc(e.plugin_version or '')}" if e.plugin else ""
        key = f"<td>{esc(e.entity_type)} {esc(e.entity_key)}</td>" if show_key else ""
        rows.append(
            f"<tr><td>{e.seq}</td><td>{when(e.at)}</td><td>{esc(e.actor)}</td><td><code>{esc(e.action)}</code></td>"
            f"{key}<td>{plugin}</td><td>{change_summary(e)}</td></tr>"
        )
    return f'{note}<table class="history"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def weights_body(
    info: WeightsInfo,
    *,
    links: Links,
    lineage_svg: str,
    parents: Sequence[tuple[str, str]],
    children: Sequence[tuple[str, str]],
    hidden: tuple[int, int],
    events: Sequence[AuditEvent],
) -> str:
    root = "../"
    w = info.weights
    status = w.status.value
    lic = w.license
    eff = info.effective_use
    out = [
        f'<nav class="crumbs"><a href="../index.html">Weights</a> › {esc(info.family.name)}</nav>',
        f'<h1><span class="name">{esc(info.ref)}</span><span class="version">@{info.version}</span> '
        f"{badge('status', status)}{' ' + badge('flag', 'default') if info.is_default else ''}</h1>",
    ]
    lead = w.description or info.family.description
    if lead:
        out.append(f'<p class="lead">{esc(lead)}</p>')
    if status != "active":
        out.append(
            f'<p class="alert status-{esc(status)}">{esc(status.capitalize())}: {esc(w.status_reason or "no reason given")}</p>'
        )
    facts = dl(
        [
            ("architecture", esc(info.family.name)),
            ("modality", esc(info.family.modality.value)),
            ("task", esc(info.family.task)),
            ("publisher", esc(w.publisher)),
            ("paper", ext_link(w.paper_url, w.paper_title or w.paper_url) if (w.paper_url or w.paper_title) else ""),
            ("recipe", ext_link(w.recipe) if w.recipe else ""),
            ("parameters", esc(params(w.num_params))),
            ("classes", esc(w.num_classes) if w.num_classes is not None else ""),
            ("aliases", ", ".join(f"<code>{esc(info.ref)}@{esc(a)}</code>" for a in info.aliases)),
            ("tags", " ".join(f'<span class="tag">{esc(t)}</span>' for t in w.tags)),
            (
                "plugin",
                links.plugin_link(info.plugin, root) + (f" {esc(info.plugin_version)}" if info.plugin_version else ""),
            ),
            ("registered", f"{when(info.created_at)} by {esc(info.created_by)}"),
            ("last changed", f"{when(info.updated_at)} by {esc(info.updated_by)}"),
        ]
    )
    reasons = "".join(f"<li>{esc(r)}</li>" for r in (eff.reasons if eff else ()))
    effective = eff.commercial_use.value if eff else "unknown"
    licence = (
        dl(
            [
                ("licence", ext_link(lic.url, lic.spdx) if lic.url else f"<code>{esc(lic.spdx)}</code>"),
                ("its commercial use", badge("use", lic.commercial_use.value)),
                ("note", esc(lic.note)),
            ]
        )
        + f'<p class="effective">All things considered (licence, training data, parents): {badge("use", effective)}</p>'
        + (f'<ul class="reasons">{reasons}</ul>' if reasons else "")
    )
    out.append(
        f'<div class="columns"><section class="card-facts"><h2>Facts</h2>{facts}</section>'
        f'<section class="card-licence"><h2>Licence and commercial use</h2>{licence}</section></div>'
    )
    lineage = ['<section id="lineage"><h2>Lineage</h2>']
    if lineage_svg:
        lineage.append(f'<div class="graph">{lineage_svg}</div>')
        if hidden[0] or hidden[1]:
            lineage.append(
                f'<p class="muted">Not drawn: {hidden[0]} more ancestors, {hidden[1]} more descendants '
                "(`zoo audit lineage NAME` lists them all).</p>"
            )
    else:
        lineage.append('<p class="muted">No recorded parents or descendants.</p>')
    if parents:
        lineage.append(
            "<p>Derived from: "
            + ", ".join(f"{links.weights_link(p, root)} ({esc(rel)})" for p, rel in parents)
            + "</p>"
        )
    if children:
        lineage.append(
            f"<p>Direct descendants ({len(children)}): "
            + ", ".join(f"{links.weights_link(c, root)} ({esc(rel)})" for c, rel in children[:LIST_SHOWN])
            + ("…" if len(children) > LIST_SHOWN else "")
            + "</p>"
        )
    lineage.append("</section>")
    out.append("".join(lineage))
    own_notes = [c for c in w.card if c.kind.value in ("bias_risks", "limitations")]
    other = [c for c in w.card if c.kind.value not in ("bias_risks", "limitations")]
    notes_html = [card_section(c, c.inherited_from) for c in own_notes]
    notes_html += [card_section(c, c.inherited_from) for c in info.inherited_notes]
    out.append(
        '<section id="bias"><h2>Bias, risks and limitations</h2>'
        + ("".join(notes_html) or '<p class="alert">No bias or limitation notes are recorded.</p>')
        + "</section>"
    )
    if other:
        out.append('<section id="card"><h2>Model card</h2>' + "".join(card_section(c) for c in other) + "</section>")
    if w.datasets:
        rows = "".join(
            f"<tr><td>{links.dataset_link(d.name, root)}</td><td>{esc(d.role.value)}</td></tr>" for d in w.datasets
        )
        out.append(
            '<section id="datasets"><h2>Datasets</h2><table class="small"><thead><tr><th>dataset</th><th>role</th></tr>'
            f"</thead><tbody>{rows}</tbody></table></section>"
        )
    if w.metrics:
        rows = "".join(
            f"<tr><td>{links.dataset_link(m.dataset, root)}</td><td>{esc(m.split)}</td><td>{esc(m.name)}</td>"
            f'<td class="num">{esc(f"{m.value:g}")}</td></tr>'
            for m in w.metrics
        )
        out.append(
            '<section id="metrics"><h2>Metrics</h2><table class="small"><thead><tr><th>dataset</th><th>split</th>'
            f"<th>metric</th><th>value</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    sources = "".join(
        f"<li>{ext_link(s.uri) if safe_url(s.uri) else f'<code>{esc(s.uri)}</code>'}"
        f"{' <span class=badge>mirror</span>' if s.mirror else ''}</li>"
        for s in w.sources
    )
    hashes = dl(
        [
            ("sha256", f"<code>{esc(w.sha256)}</code>" if w.sha256 else '<span class="alert-text">not pinned</span>'),
            ("sha256 prefix", f"<code>{esc(w.sha256_prefix)}</code>" if w.sha256_prefix and not w.sha256 else ""),
            ("pinned at", f"<code>{esc(info.pinned_revision)}</code>" if info.pinned_revision else ""),
            ("pin origin", esc(info.pin_origin)),
            ("size", esc(size(w.size_bytes))),
            ("format", esc(w.format)),
        ]
    )
    out.append(
        f'<section id="sources"><h2>Sources and hashes</h2>{hashes}'
        + (f'<ol class="sources">{sources}</ol>' if sources else '<p class="muted">No sources recorded.</p>')
        + "</section>"
    )
    prep = w.preprocessing or info.family.preprocessing
    if prep:
        text = json.dumps(prep, indent=2, ensure_ascii=False, sort_keys=True, default=str)
        out.append(f'<section id="preprocessing"><h2>Preprocessing</h2><pre>{esc(text)}</pre></section>')
    versions = " (every version)" if "/" in info.ref else ""
    out.append(
        f'<section id="history"><h2>Audit history of {esc(info.ref)}{versions}</h2>{history_table(events)}</section>'
    )
    return "\n".join(out)


def dataset_body(
    info: DatasetInfo,
    *,
    links: Links,
    users: Mapping[str, Sequence[str]],
    events: Sequence[AuditEvent],
    list_href: str,
) -> str:
    root = "../"
    d = info.dataset
    t = d.terms
    out = [
        '<nav class="crumbs"><a href="../datasets.html">Datasets</a></nav>',
        f'<h1><span class="name">{esc(d.name)}</span></h1>',
    ]
    if d.title:
        out.append(f'<p class="lead">{esc(d.title)}</p>')
    out.append(paragraphs(d.description))
    out.append(
        "<section><h2>Facts and terms of use</h2>"
        + dl(
            [
                ("home page", ext_link(d.url) if d.url else ""),
                ("size", esc(d.size)),
                ("collection", esc(d.collection)),
                ("terms", ext_link(t.url, t.spdx) if t.url else f"<code>{esc(t.spdx)}</code>"),
                ("commercial use", badge("use", t.commercial_use.value)),
                ("note", esc(t.note)),
                ("declared by", links.plugin_link(info.plugin, root) if info.plugin else ""),
            ]
        )
        + ("" if info.plugin else '<p class="alert">No plugin declares this dataset: its terms are not recorded.</p>')
        + "</section>"
    )
    out.append(
        '<section id="bias"><h2>Bias, risks and limitations</h2>'
        + ("".join(card_section(n) for n in d.notes) or '<p class="muted">No notes are recorded.</p>')
        + "</section>"
    )
    parts = []
    for role in ("pretrain", "finetune", "eval"):
        names = users.get(role, ())
        if not names:
            continue
        shown = "".join(f"<li>{links.weights_link(n, root)}</li>" for n in names[:LIST_SHOWN])
        more = f'<p class="muted">… and {len(names) - LIST_SHOWN} more.</p>' if len(names) > LIST_SHOWN else ""
        parts.append(f'<h3>{esc(role)} ({len(names)})</h3><ul class="names">{shown}</ul>{more}')
    out.append(
        f'<section id="weights"><h2>Weights that name it</h2><p><a href="{esc(list_href)}">Open in the list</a></p>'
        + ("".join(parts) or '<p class="muted">None.</p>')
        + "</section>"
    )
    out.append(f'<section id="history"><h2>Audit history</h2>{history_table(events)}</section>')
    return "\n".join(out)


def plugin_body(
    name: str,
    *,
    versions: Sequence[str],
    weights: Sequence[tuple[str, str]],
    archs: Sequence[str],
    datasets: Sequence[str],
    links: Links,
    events: Sequence[AuditEvent],
    list_href: str,
) -> str:
    root = "../"
    statuses: dict[str, int] = {}
    for _, status in weights:
        statuses[status] = statuses.get(status, 0) + 1
    out = [
        '<nav class="crumbs"><a href="../plugins.html">Plugins</a></nav>',
        f'<h1><span class="name">{esc(name)}</span></h1>',
        "<section><h2>What it declares</h2>"
        + dl(
            [
                ("versions seen", ", ".join(f"<code>{esc(v)}</code>" for v in versions)),
                (
                    "weights",
                    f"{len(weights)} (" + ", ".join(f"{n} {esc(s)}" for s, n in sorted(statuses.items())) + ")"
                    if weights
                    else "0",
                ),
                ("architectures", ", ".join(esc(a) for a in archs)),
                ("datasets", ", ".join(links.dataset_link(d, root) for d in datasets)),
            ]
        )
        + "</section>",
    ]
    if weights:
        shown = "".join(f"<li>{links.weights_link(q, root)} {badge('status', s)}</li>" for q, s in weights[:LIST_SHOWN])
        more = f'<p class="muted">… and {len(weights) - LIST_SHOWN} more.</p>' if len(weights) > LIST_SHOWN else ""
        out.append(
            f'<section id="weights"><h2>Weights</h2><p><a href="{esc(list_href)}">Open in the list</a></p>'
            f'<ul class="names">{shown}</ul>{more}</section>'
        )
    out.append(f'<section id="history"><h2>Audit events it wrote</h2>{history_table(events, show_key=True)}</section>')
    return "\n".join(out)


def datasets_index(datasets: Sequence[DatasetInfo], links: Links) -> str:
    rows = "".join(
        f"<tr><td>{links.dataset_link(i.dataset.name, '')}</td><td>{esc(i.dataset.title)}</td>"
        f"<td><code>{esc(i.dataset.terms.spdx)}</code></td><td>{badge('use', i.dataset.terms.commercial_use.value)}</td>"
        f'<td class="num">{len(i.dataset.notes)}</td><td class="num">{i.weights}</td>'
        f"<td>{links.plugin_link(i.plugin, '') if i.plugin else ''}</td></tr>"
        for i in datasets
    )
    return (
        f'<h1>Datasets <span class="muted">({len(datasets)})</span></h1>'
        '<table class="list"><thead><tr><th>name</th><th>title</th><th>terms</th><th>commercial use</th>'
        f"<th>notes</th><th>weights</th><th>declared by</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def plugins_index(plugins: Sequence[tuple[str, Sequence[str], int, int]], links: Links) -> str:
    rows = "".join(
        f"<tr><td>{links.plugin_link(name, '')}</td><td>{', '.join(esc(v) for v in versions)}</td>"
        f'<td class="num">{n_weights}</td><td class="num">{n_datasets}</td></tr>'
        for name, versions, n_weights, n_datasets in plugins
    )
    return (
        f'<h1>Plugins <span class="muted">({len(plugins)})</span></h1>'
        "<p>The plugins whose records the registry holds (weights, architectures, datasets).</p>"
        '<table class="list"><thead><tr><th>plugin</th><th>versions</th><th>weights</th><th>datasets</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def index_body(total: int) -> str:
    filters = "".join(
        f'<label><span>{esc(label)}</span><select data-filter="{key}"><option value="">all</option></select></label>'
        for key, label in (
            ("modality", "modality"),
            ("task", "task"),
            ("licence", "licence"),
            ("commercial", "commercial use"),
            ("dataset", "dataset"),
            ("status", "status"),
            ("plugin", "plugin"),
        )
    )
    return f"""<h1>Weights <span class="muted" id="total">({total})</span></h1>
<section class="controls">
<input id="q" type="search" placeholder="Search names, architectures, datasets, tags, publishers  ( / )" autocomplete="off" spellcheck="false" aria-label="search">
<div class="filters">{filters}<button type="button" id="clear">clear</button></div>
</section>
<p id="summary" aria-live="polite">Loading the catalogue…</p>
<noscript><p class="alert">The searchable list needs JavaScript. Every weights, dataset and plugin page is plain HTML:
start from <a href="datasets.html">the datasets</a> or <a href="plugins.html">the plugins</a>.</p></noscript>
<div class="table-wrap"><table id="weights" class="list">
<thead><tr><th data-sort="name" class="sortable"><button type="button">name</button></th><th>architecture</th><th>modality</th><th>task</th>
<th data-sort="licence" class="sortable"><button type="button">licence</button></th><th>commercial use</th><th>trained on</th>
<th data-sort="notes" class="sortable num"><button type="button">bias notes</button></th><th data-sort="params" class="sortable num"><button type="button">params</button></th>
<th data-sort="status" class="sortable"><button type="button">status</button></th><th>plugin</th></tr></thead>
<tbody></tbody></table></div>
<nav id="pager" aria-label="pages"></nav>"""
