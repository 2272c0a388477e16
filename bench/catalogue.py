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

The build itself: ``zoo catalogue build`` on SQLite (and with ``--postgresql URL`` on
PostgreSQL too), and the part of it that reads every record: batched
(``RegistryReader.infos``) against one ``info`` per record, checked to give the same records.

The registry is generated deterministically (``populate``; the tests use it too): vision
and text families from three catalogue plugins, team models with lineage up to depth 4,
bias notes with references on most records, metrics, aliases, deprecated and revoked
records. Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
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


# -- the measurement ---------------------------------------------------------------------

_PLAIN_JS = """(function () {
  var q = document.getElementById("q");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#plain tbody tr"));
  var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
  q.addEventListener("input", function (event) {
    var terms = q.value.toLowerCase().split(/\\s+/).filter(Boolean), shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var ok = terms.every(function (t) { return text[i].indexOf(t) >= 0; });
      rows[i].style.display = ok ? "" : "none";
      if (ok) shown++;
    }
    var record = { started: event.timeStamp, rendered: performance.now(), painted: null, matched: shown };
    window.ZOO_LAST_RENDER = record;
    requestAnimationFrame(function () { setTimeout(function () { record.painted = performance.now(); }, 0); });
  });
  window.ZOO_READY = performance.now();
})();
"""


def write_plain_table(site: Path) -> Path:
    """The obvious alternative, from the same data: one static HTML table with every row
    (what a generator without a script writes) and a search that hides the rows that do
    not match. Written into the built site as ``plain.html`` (the bench's, not zoo's)."""
    import html
    import json

    text = (site / "data" / "catalogue.js").read_text("utf-8")
    data = json.loads(text[len("window.ZOO_CATALOGUE = ") :].rstrip().rstrip(";"))
    f = {name: i for i, name in enumerate(data["fields"])}
    rows = []
    for r in data["rows"]:
        cells = [
            f'<a href="{html.escape(r[f["page"]])}">{html.escape(r[f["name"]])}@{r[f["version"]]}</a>',
            r[f["arch"]],
            r[f["modality"]],
            r[f["task"]],
            r[f["licence"]],
            r[f["effective"]],
            ", ".join(r[f["trained"]]),
            str(r[f["notes"]]),
            str(r[f["params"]] or ""),
            r[f["status"]],
            r[f["plugin"]] or "",
        ]
        rows.append(
            "<tr>" + "".join(f"<td>{c if i == 0 else html.escape(c)}</td>" for i, c in enumerate(cells)) + "</tr>"
        )
    (site / "assets" / "plain.js").write_text(_PLAIN_JS, "utf-8")
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>plain</title><link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="assets/catalogue.css"></head><body><main><input id="q" type="search">'
        '<table id="plain" class="list"><tbody>' + "".join(rows) + "</tbody></table></main>"
        '<script src="assets/plain.js"></script></body></html>'
    )
    path = site / "plain.html"
    path.write_text(page, "utf-8")
    return path


def _median(values: list[float]) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def measure_in_browser(browser, url: str, searches: list[str], *, filter_select: bool) -> dict[str, float]:
    """One fresh page: navigation start -> list drawn / painted; then each search term's
    last keystroke -> rows drawn and painted (``performance.now()`` in the page)."""
    # bypass_csp: playwright's polling evaluates strings, which the pages' CSP forbids.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.ZOO_READY !== undefined", timeout=60_000)
    page.wait_for_load_state("load")
    nav = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {ready: window.ZOO_READY, load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd}; })()"
    )
    keystrokes = []
    for term in searches:
        page.fill("#q", term[:-1])
        page.wait_for_function("!window.ZOO_LAST_RENDER || window.ZOO_LAST_RENDER.painted !== null")
        page.locator("#q").press(term[-1])
        page.wait_for_function(
            "window.ZOO_LAST_RENDER && window.ZOO_LAST_RENDER.painted !== null && window.ZOO_LAST_RENDER.started > 0"
        )
        last = page.evaluate("window.ZOO_LAST_RENDER")
        keystrokes.append(last["painted"] - last["started"])
        page.evaluate("window.ZOO_LAST_RENDER = null")
    out = {
        "ready_ms": nav["ready"],
        "load_ms": nav["load"],
        "keystroke_p50_ms": _median(keystrokes),
        "keystroke_max_ms": max(keystrokes),
    }
    if filter_select:
        page.fill("#q", "")
        page.wait_for_function("window.ZOO_LAST_RENDER && window.ZOO_LAST_RENDER.painted !== null")
        page.select_option('select[data-filter="modality"]', "text")
        page.wait_for_function("window.ZOO_LAST_RENDER.painted !== null && window.ZOO_LAST_RENDER.matched < 10000000")
        last = page.evaluate("window.ZOO_LAST_RENDER")
        out["filter_ms"] = last["painted"] - last["started"]
    context.close()
    if errors:
        raise RuntimeError(f"console errors on {url}: {errors[:3]}")
    return out


def read_times(reader) -> tuple[float, float]:
    """Seconds to read every record: batched (``RegistryReader.infos``, what the build
    does) and one by one (``info`` per record, ~10 statements each)."""
    import time

    ids = [i for (i,) in reader.rows("SELECT id FROM weights ORDER BY id")]
    t = time.perf_counter()
    batched = reader.infos(ids)
    batched_s = time.perf_counter() - t
    t = time.perf_counter()
    single = [reader.info(i) for i in ids]
    single_s = time.perf_counter() - t
    assert batched == single  # the same records, or the comparison means nothing
    return batched_s, single_s


def postgresql_build(base_url: str, n: int, work: Path) -> dict[str, float]:
    """The same registry on PostgreSQL (a schema of its own, dropped after): the build
    through the CLI's fast path (psycopg, one snapshot) and the read times."""
    import time
    import uuid

    from sqlalchemy import create_engine, text

    from zoo.catalogue_site import build_catalogue
    from zoo.registry import Registry
    from zoo.registry._lite import open_lite

    schema = f"zoo_bench_catalogue_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}?options=-csearch_path%3D{schema}"
    try:
        t = time.perf_counter()
        with Registry(url, actor="bench@zoo", sync=False) as registry:
            populate(registry, n)
        populate_s = time.perf_counter() - t
        lite = open_lite(url, check_plugins=False, postgresql=True)
        try:
            report = build_catalogue(work / "site-pg", lite)
            batched_s, single_s = read_times(lite.reader)
        finally:
            lite.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return {"populate_s": populate_s, "build_s": report.seconds, "batched_s": batched_s, "single_s": single_s}


def main() -> int:
    import os
    import platform
    import shutil
    import tempfile
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="weights records (default 10,000)")
    parser.add_argument("--runs", type=int, default=5, help="page loads per variant (default 5)")
    parser.add_argument("--chromium", default=os.environ.get("ZOO_TEST_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--markdown", help="also write the results here (e.g. bench/results/catalogue.md)")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="also build from the same registry on PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from zoo.catalogue_site import build_catalogue
    from zoo.registry import Registry
    from zoo.registry._lite import open_lite

    work = Path(tempfile.mkdtemp(prefix="zoo-bench-catalogue-"))
    os.environ.setdefault("ZOO_AUDIT_KEY_FILE", str(work / "audit.key"))
    try:
        t = time.perf_counter()
        with Registry(f"sqlite:///{work / 'registry.db'}", actor="bench@zoo", sync=False) as registry:
            populate(registry, args.n)
            populate_s = time.perf_counter() - t
        lite = open_lite(f"sqlite:///{work / 'registry.db'}", check_plugins=False)  # as the CLI reads
        try:
            report = build_catalogue(work / "site", lite)
            batched_s, single_s = read_times(lite.reader)
        finally:
            lite.close()
        pg = postgresql_build(args.postgresql, args.n, work) if args.postgresql else None
        site = work / "site"
        plain = write_plain_table(site)
        data_mb = (site / "data" / "catalogue.js").stat().st_size / 1e6
        searches = ["resnet", "team", "imagenet", "vit_base", "zzz", "laion-2b"]
        zoo_runs, plain_runs = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium)
            version = browser.version
            for _ in range(args.runs):  # interleaved, so that load on the machine hits both alike
                zoo_runs.append(
                    measure_in_browser(browser, (site / "index.html").as_uri(), searches, filter_select=True)
                )
                plain_runs.append(measure_in_browser(browser, plain.as_uri(), searches, filter_select=False))
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(runs: list[dict[str, float]], key: str) -> float:
        return _median([r[key] for r in runs])

    rows = [
        ("list drawn (navigation start -> first 100 rows)", med(zoo_runs, "ready_ms"), med(plain_runs, "ready_ms")),
        ("load event", med(zoo_runs, "load_ms"), med(plain_runs, "load_ms")),
        (
            "search keystroke -> rows painted, p50",
            med(zoo_runs, "keystroke_p50_ms"),
            med(plain_runs, "keystroke_p50_ms"),
        ),
        (
            "search keystroke -> rows painted, worst",
            med(zoo_runs, "keystroke_max_ms"),
            med(plain_runs, "keystroke_max_ms"),
        ),
        ("filter change -> rows painted", med(zoo_runs, "filter_ms"), None),
    ]
    lines = [
        "# Catalogue benchmark",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} cores "
        f"({platform.machine()}), shared with other jobs; Chromium {version} (Debian, headless, playwright)",
        f"- command: `.venv/bin/python bench/catalogue.py --n {args.n} --runs {args.runs}"
        + (" --postgresql URL`" if args.postgresql else "`"),
        f"- registry: {args.n:,} weights on SQLite, generated in {populate_s:.1f} s; `zoo catalogue build`: "
        f"{report.seconds:.1f} s, {report.files:,} files, {report.bytes / 1e6:.1f} MB (list data {data_mb:.1f} MB)",
        f"- reading every record (part of the build): batched `RegistryReader.infos` {batched_s:.2f} s, one by one "
        f"(`info` per record) {single_s:.2f} s: {single_s / batched_s:.1f}x",
    ]
    if pg is not None:
        lines.append(
            f"- the same {args.n:,} weights on PostgreSQL (local, 127.0.0.1): generated in {pg['populate_s']:.1f} s; "
            f"`zoo catalogue build` {pg['build_s']:.1f} s; reading every record batched {pg['batched_s']:.2f} s, one by "
            f"one {pg['single_s']:.2f} s: {pg['single_s'] / pg['batched_s']:.1f}x"
        )
    lines += [
        "",
        "Times are `performance.now()` in the page (ms from navigation start), medians of "
        f'{args.runs} fresh page loads from `file://`. "plain table" is the obvious alternative built '
        "from the same data in the same run: one static HTML table with every row and a search that "
        "hides non-matching rows. Target (issue 16): the list interactive in under 1 s at 10,000 weights.",
        "",
        "| measurement | zoo catalogue | plain table | ratio (plain / zoo) |",
        "| --- | --- | --- | --- |",
    ]
    for label, ours, theirs in rows:
        ratio = f"{theirs / ours:.1f}x" if theirs and ours else "—"
        lines.append(f"| {label} | {ours:.0f} ms | {'' if theirs is None else f'{theirs:.0f} ms'} | {ratio} |")
    ready = med(zoo_runs, "ready_ms")
    key = med(zoo_runs, "keystroke_p50_ms")
    lines += [
        "",
        f"Interactive in under 1 s: {'PASS' if ready + key < 1000 else 'MISS'} "
        f"(list drawn at {ready:.0f} ms, a search keystroke painted {key:.0f} ms later).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
