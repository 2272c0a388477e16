"""The lineage graph of one weights record as inline SVG, laid out here (no library, no
script): its ancestors above, its descendants below, each edge labelled with the
relation (finetune, distill, quantize ...).

The layout is a small layered (Sugiyama-style) drawing: longest-path layers relative to
the focus (an edge always points down), a few barycentre sweeps to reduce crossings,
nodes packed left to right in each layer and the layers centred. Every string that
reaches the SVG is HTML-escaped by the caller's ``esc``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

NODE_H = 30
LAYER_GAP = 64
ROW_GAP = 22  # between the wrapped rows of one layer
PER_ROW = 4
NODE_GAP = 18
CHAR_W = 7.0  # px per character of the 12px monospace label
MIN_W, MAX_W = 90, 300
MAX_LABEL = 40
MAX_NODES_PER_SIDE = 40  # ancestors, and descendants, drawn at most (the rest is counted)


@dataclass(frozen=True)
class Node:
    key: int
    label: str
    href: str | None  # None: the focus (not a link)
    status: str = "active"


@dataclass(frozen=True)
class Graph:
    focus: int
    nodes: Mapping[int, Node]
    edges: Sequence[tuple[int, int, str]]  # (parent, child, relation)
    hidden_ancestors: int = 0
    hidden_descendants: int = 0


def neighbourhood(
    focus: int,
    parents: Mapping[int, Sequence[tuple[int, str]]],
    children: Mapping[int, Sequence[tuple[int, str]]],
    limit: int = MAX_NODES_PER_SIDE,
) -> tuple[list[int], list[int], int, int]:
    """Ancestors and descendants of ``focus`` in breadth-first order, at most ``limit``
    of each, and how many of each were left out (cycle-safe)."""

    def walk(edges: Mapping[int, Sequence[tuple[int, str]]]) -> tuple[list[int], int]:
        seen, order, frontier = {focus}, [], [focus]
        while frontier:
            nxt = []
            for node in frontier:
                for other, _ in edges.get(node, ()):
                    if other not in seen:
                        seen.add(other)
                        order.append(other)
                        nxt.append(other)
            frontier = nxt
        return order[:limit], max(0, len(order) - limit)

    up, hidden_up = walk(parents)
    down, hidden_down = walk(children)
    return up, down, hidden_up, hidden_down


def _layers(graph: Graph) -> dict[int, int]:
    """Longest-path layers: ancestors negative, the focus 0, descendants positive, so that
    every edge points down. Bounded relaxation: a raw database could hold a cycle."""
    down: dict[int, list[int]] = {}
    up: dict[int, list[int]] = {}
    for parent, child, _ in graph.edges:
        if parent in graph.nodes and child in graph.nodes:
            down.setdefault(parent, []).append(child)
            up.setdefault(child, []).append(parent)
    layer = {key: 0 for key in graph.nodes}
    for sign, edges in ((-1, up), (+1, down)):
        dist = {graph.focus: 0}
        for _ in range(len(graph.nodes)):
            changed = False
            for node, others in edges.items():
                if node not in dist:
                    continue
                for other in others:
                    if other != graph.focus and dist[node] + 1 > dist.get(other, -1):
                        dist[other] = dist[node] + 1
                        changed = True
            if not changed:
                break
        for key, d in dist.items():
            if key != graph.focus:
                layer[key] = sign * d
    return layer


def _width(label: str) -> float:
    return min(MAX_W, max(MIN_W, len(_short(label)) * CHAR_W + 24))


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def layout(graph: Graph) -> dict[int, tuple[float, float, float]]:
    """Node key -> (x, y, width) of its box's top-left corner."""
    layer = _layers(graph)
    rows: dict[int, list[int]] = {}
    for key in sorted(graph.nodes, key=lambda k: graph.nodes[k].label):
        rows.setdefault(layer[key], []).append(key)
    ups: dict[int, list[int]] = {}
    downs: dict[int, list[int]] = {}
    for parent, child, _ in graph.edges:
        downs.setdefault(parent, []).append(child)
        ups.setdefault(child, []).append(parent)
    levels = sorted(rows)
    for sweep in range(4):  # barycentre ordering, alternately from above and from below
        order = levels if sweep % 2 == 0 else list(reversed(levels))
        for level in order:
            pos = {k: i for lv in rows for i, k in enumerate(rows[lv])}
            neighbours = ups if sweep % 2 == 0 else downs

            def centre(key: int, neighbours=neighbours, pos=pos) -> float:
                near = [pos[n] for n in neighbours.get(key, ()) if n in pos]
                return sum(near) / len(near) if near else pos[key]

            rows[level].sort(key=centre)
    # A wide layer (a popular checkpoint's fine-tunes) wraps onto several rows of at most
    # PER_ROW boxes, so that the graph stays about a screen wide.
    bands: list[tuple[int, list[int]]] = []  # (layer, the keys of one row), top to bottom
    for level in levels:
        keys = rows[level]
        bands += [(level, keys[i : i + PER_ROW]) for i in range(0, len(keys), PER_ROW)]
    widths = [sum(_width(graph.nodes[k].label) for k in keys) + NODE_GAP * (len(keys) - 1) for _, keys in bands]
    total = max(widths, default=0)
    placed: dict[int, tuple[float, float, float]] = {}
    y = 0.0
    for index, ((level, keys), width) in enumerate(zip(bands, widths, strict=True)):
        if index:
            y += NODE_H + (ROW_GAP if bands[index - 1][0] == level else LAYER_GAP)
        x = (total - width) / 2
        for key in keys:
            w = _width(graph.nodes[key].label)
            placed[key] = (x, y, w)
            x += w + NODE_GAP
    return placed


def render_svg(graph: Graph, esc: Callable[[str], str]) -> str:
    """The graph as an ``<svg>`` element (links are relative ``href``s)."""
    if len(graph.nodes) <= 1:
        return ""
    pos = layout(graph)
    pad = 12
    width = max(x + w for x, _, w in pos.values()) + 2 * pad
    height = max(y for _, y, _ in pos.values()) + NODE_H + 2 * pad
    out = [
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="lineage of {esc(graph.nodes[graph.focus].label)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    for parent, child, relation in graph.edges:
        if parent not in pos or child not in pos:
            continue
        px, py, pw = pos[parent]
        cx, cy, cw = pos[child]
        x1, y1 = px + pw / 2 + pad, py + NODE_H + pad
        x2, y2 = cx + cw / 2 + pad, cy + pad - 2
        mid = (y1 + y2) / 2
        out.append(
            f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}" '
            'marker-end="url(#arrow)"/>'
        )
        out.append(
            f'<text class="relation" x="{(x1 + x2) / 2:.1f}" y="{mid + 4:.1f}" text-anchor="middle">{esc(relation)}</text>'
        )
    for key, node in graph.nodes.items():
        x, y, w = pos[key]
        x, y = x + pad, y + pad
        classes = "node" + (" focus" if key == graph.focus else "") + f" status-{esc(node.status)}"
        box = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{NODE_H}" rx="6"/>'
            f'<text x="{x + w / 2:.1f}" y="{y + NODE_H / 2 + 4:.1f}" text-anchor="middle">{esc(_short(node.label))}</text>'
            f"<title>{esc(node.label)} ({esc(node.status)})</title>"
        )
        if node.href is None:
            out.append(f'<g class="{classes}">{box}</g>')
        else:
            out.append(f'<a href="{esc(node.href)}"><g class="{classes}">{box}</g></a>')
    out.append("</svg>")
    return "".join(out)
