"""How zoo shows things to people and programs: rich tables and panels, JSON and CSV.

The CLI (:mod:`zoo.cli`) and the demo (:mod:`zoo.finetuning.demo`) both draw with these, so
a model card or an audit history looks the same wherever it is printed. rich is imported
inside the functions (``zoo list --json`` never imports it).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "card",
    "change",
    "console",
    "deployment",
    "effective_use",
    "events",
    "json_default",
    "params",
    "print_csv",
    "print_json",
    "short",
]


def console(stderr: bool = False) -> Any:
    """A rich console (no automatic highlighting, no soft wrap); ``stderr`` for messages."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (times as ISO 8601, anything else as text)."""
    sys.stdout.write(json.dumps(data, indent=2, default=json_default, ensure_ascii=False) + "\n")


def json_default(value: Any) -> Any:
    """``json.dumps``'s fallback: ISO 8601 for dates and times, ``str`` for the rest."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def print_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A header and the rows as CSV on stdout (``None`` as an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else v) for v in row])
    sys.stdout.write(buffer.getvalue())


def params(n: int | None) -> str:
    """A parameter count for people: ``25.6M``, ``12.3K``, or nothing."""
    if n is None:
        return ""
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n / 1e3:.1f}K"


def deployment(info: Any, rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    def x(row: dict[str, Any], key: str, fmt: str) -> str:
        value, ratio = row.get(key), row.get(f"{key}_ratio")
        return "" if value is None else fmt.format(value) + (f" ({ratio:.2f}x)" if ratio is not None else "")

    table = Table(
        title=f"Deployment — compressed children of {escape(info.qualified_name)} (ratios to it, "
        "measured in the same run)",
        title_justify="left",
    )
    for column in ("child", "method", "file", "latency b1", "latency b32", "peak mem", "quality", "threads"):
        table.add_column(column, overflow="fold")
    for r in rows:
        if r["accuracy_drop_pt"] is not None:
            quality = f"acc {r['acc@1']:.2f}% ({-r['accuracy_drop_pt']:+.2f} pt)"
        elif r["cosine_mean"] is not None:
            quality = f"cosine {r['cosine_mean']:.4f}"
        else:
            quality = "" if r["max_abs_diff"] is None else f"max |diff| {r['max_abs_diff']:.2g}"
        table.add_row(
            escape(r["name"]),
            escape(f"{r['method'] or '?'} ({r['relation']})"),
            x(r, "file_bytes", "{:,.0f} B"),
            x(r, "latency_ms_b1", "{:.2f} ms"),
            x(r, "latency_ms_b32", "{:.1f} ms"),
            x(r, "peak_mb", "{:.1f} MB"),
            quality,
            escape(str(r.get("threads") or "")),
        )
    console().print(table)


def card(info: Any) -> None:
    """A weights record (``WeightsInfo``) as a model card: facts, sources, datasets,
    metrics, bias notes (own and inherited) and lineage."""
    from rich.panel import Panel
    from rich.table import Table

    w, f = info.weights, info.family
    out = console()
    out.print(
        Panel.fit(
            f"[bold]{info.ref}[/] @ version {info.version}"
            + (f"  (aliases: {', '.join(info.aliases)})" if info.aliases else "")
            + ("  [dim]default weights of[/] " + f.name if info.is_default else ""),
            subtitle=f"status: {w.status.value}" + (f" — {w.status_reason}" if w.status_reason else ""),
        )
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    rows = [
        ("architecture", f"{f.name} ({f.modality.value}, {f.task})"),
        ("description", w.description),
        ("publisher", w.publisher),
        (
            "licence",
            f"{w.license.spdx} — commercial use: {w.license.commercial_use.value}"
            + (f" ({w.license.note})" if w.license.note else ""),
        ),
        ("commercial use", effective_use(info.effective_use)),
        ("paper", " — ".join(x for x in (w.paper_title, w.paper_url) if x) or None),
        ("recipe", w.recipe),
        ("parameters", f"{w.num_params:,}" if w.num_params else None),
        ("classes", str(w.num_classes) if w.num_classes else None),
        (
            "sha256",
            w.sha256
            or (
                f"prefix {w.sha256_prefix} (full hash pinned on first fetch)"
                if w.sha256_prefix
                else "not pinned: pinned on first fetch from the Hub's attestation, or `zoo pin`"
            ),
        ),
        ("pinned", " at commit ".join(x for x in (info.pin_origin, info.pinned_revision) if x) or None),
        ("format / size", f"{w.format}" + (f", {w.size_bytes:,} bytes" if w.size_bytes else "")),
        ("tags", ", ".join(w.tags) or None),
        ("declared by", f"{info.plugin} {info.plugin_version or ''}".strip() if info.plugin else None),
        ("registered", f"{info.created_at:%Y-%m-%d %H:%M} UTC by {info.created_by}"),
        ("changed", f"{info.updated_at:%Y-%m-%d %H:%M} UTC by {info.updated_by}"),
    ]
    for key, value in rows:
        if value:
            facts.add_row(key, value)
    out.print(facts)
    if w.sources:
        out.print("\n[bold]Sources[/]")
        for s in w.sources:
            out.print(f"  {'mirror ' if s.mirror else ''}{s.uri}")
    if w.datasets:
        out.print("\n[bold]Datasets[/]")
        for d in w.datasets:
            out.print(f"  {d.role.value:9} {d.name}")
    if w.metrics:
        out.print("\n[bold]Metrics[/]")
        for m in w.metrics:
            out.print(f"  {m.dataset}/{m.split} {m.name} = {m.value:g}")
    out.print("\n[bold]Bias, risks and limitations[/]")
    if not info.bias_notes:
        out.print("  [red]none recorded[/] — add one with `zoo note`")
    for section in w.card + info.inherited_notes:
        title = section.title or section.kind.value.replace("_", " ")
        severity = f" \\[{section.severity.value}]" if section.severity else ""
        inherited = f" (from {section.inherited_from})" if section.inherited_from else " (own)"
        out.print(f"  [bold]{title}[/]{severity}{inherited}: {section.body}")
        for ref in section.references:
            out.print(f"    ref: {ref}")
    if w.parents or info.children:
        out.print("\n[bold]Lineage[/]")
        for p in w.parents:
            out.print(f"  {p.relation.value} from {p.parent}")
        for child, relation in info.children:
            out.print(f"  {child} is a {relation} of this")


def effective_use(use: Any) -> str | None:
    """An ``EffectiveUse`` (commercial use through the lineage) as coloured rich text."""
    if use is None:
        return None
    colour = {"allowed": "green", "forbidden": "red"}.get(use.commercial_use.value, "yellow")
    return f"[{colour}]{use.commercial_use.value}[/] — " + "; ".join(use.reasons)


def events(events: Sequence[Any]) -> None:
    """The audit events as a table: seq, time, actor, action, entity, plugin, change."""
    from rich.table import Table

    table = Table(title_justify="left")
    for column in ("seq", "when (UTC)", "actor", "action", "entity", "plugin", "change"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(
            str(e.seq),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.action,
            e.entity_key,
            f"{e.plugin} {e.plugin_version or ''}".strip() if e.plugin else "",
            change(e.before, e.after),
        )
    console().print(table)


def change(before: Any, after: Any) -> str:
    """What an audit event changed, field by field (``created`` / ``removed`` / ``k: a -> b``)."""
    if before is None:
        return "created" if after else ""
    if after is None:
        return "removed"
    keys = [k for k in sorted(set(before) | set(after)) if k != "version" and before.get(k) != after.get(k)]
    return "; ".join(f"{k}: {short(before.get(k))} -> {short(after.get(k))}" for k in keys)


def short(value: Any, limit: int = 60) -> str:
    """``value`` as text of at most ``limit`` characters (JSON for non-text)."""
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
