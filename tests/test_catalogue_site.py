"""The browsable catalogue (``zoo catalogue build`` / ``serve``), tested in a real browser:
Debian's headless Chromium driven by playwright (never a browser download). The site is
built from real SQLite and PostgreSQL registries, opened from ``file://`` and from the
real HTTP server on 127.0.0.1. Screenshots go to the test's tmp directory."""

from __future__ import annotations

import functools
import http.client
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zoo.catalogue_site import build_catalogue, make_server
from zoo.catalogue_site._build import _slug
from zoo.catalogue_site._lineage import Graph, Node, layout, render_svg
from zoo.cli import main
from zoo.errors import ZooCatalogueError
from zoo.records import CardSection, Dataset, DatasetUse, Family, License, Metric, ParentLink, Source, Weights
from zoo.testing import make_weights

ROOT = Path(__file__).resolve().parent.parent
EVIL_PLUGIN = 'evil<script>window.__pwned=1</script>"onerror="window.__pwned=2'
EVIL_NOTE = '<img src=x onerror="window.__pwned=3"> and <script>window.__pwned=4</script> "onerror=alert(1)'
EVIL_TITLE = "<svg onload=window.__pwned=5>"
EVIL_ACTOR = 'mallory"onerror="window.__pwned=6'


# -- the browser -----------------------------------------------------------------------------


def _chromium() -> str | None:
    for candidate in (os.environ.get("ZOO_TEST_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium: install Debian's `chromium` (apt-get install chromium); .ci/run does")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


class Page:
    """A browser page that records console errors, page errors, dialogs and failed requests."""

    def __init__(self, browser, shots: Path, *, bypass_csp: bool = True) -> None:
        # bypass_csp: playwright's wait_for_function evaluates strings, which the pages'
        # Content-Security-Policy forbids; it also makes the escaping tests test escaping
        # alone (with the policy on, an injected inline script would be blocked anyway).
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.shots = shots
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def shot(self, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5000
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser, tmp_path):
    p = Page(browser, tmp_path / "screenshots")
    yield p
    p.close()


@pytest.fixture
def strict_page(browser, tmp_path):
    """A page under the site's own Content-Security-Policy (a violation is a console error)."""
    p = Page(browser, tmp_path / "screenshots", bypass_csp=False)
    yield p
    p.close()


# -- registries ------------------------------------------------------------------------------


def fill(registry) -> None:
    """A small registry with lineage (finetune, distill, quantize), datasets with terms and
    notes, statuses, aliases, and HTML / script in names, notes and titles."""
    registry.add_family(
        Family("resnet50", "vision", "torchvision.models:resnet50", head="fc", default_tag="tv_in1k"),
        plugin="zoo-torchvision",
        plugin_version="0.1.0",
    )
    registry.add_family(
        Family("bert-base", "text", "transformers:AutoModel", task="feature-extraction", default_tag="hf"),
        plugin=EVIL_PLUGIN,
        plugin_version="6.6.6",
    )
    registry.sync_datasets(
        "zoo",
        "0.1.0",
        [
            Dataset(
                "imagenet-1k",
                title="ImageNet-1k",
                url="https://image-net.org",
                terms=License("LicenseRef-ImageNet", "forbidden", note="non-commercial research only"),
                notes=(
                    CardSection("bias_risks", "Geographic skew.", references=("https://arxiv.org/abs/1711.08536",)),
                ),
            ),
            Dataset("wiki-text", title=EVIL_TITLE, terms=License("CC-BY-SA-4.0", "allowed")),
        ],
    )
    registry.register(make_weights(), plugin="zoo-torchvision", plugin_version="0.1.0")
    registry.register(
        Weights(
            arch="bert-base",
            tag="hf",
            publisher=EVIL_PLUGIN,
            license=License("Apache-2.0", "allowed"),
            datasets=(DatasetUse("wiki-text", "pretrain"),),
            card=(CardSection("bias_risks", EVIL_NOTE, title=EVIL_TITLE, references=("javascript:window.__pwned=7",)),),
            sources=(Source("javascript://window.__pwned=8"),),
        ),
        plugin=EVIL_PLUGIN,
        plugin_version="6.6.6",
    )
    base = dict(
        arch="resnet50",
        sources=(Source("https://example.org/w.safetensors"),),
        license=License("MIT", "allowed"),
        datasets=(DatasetUse("uci-digits", "finetune"),),
        metrics=(Metric("uci-digits", "accuracy", 0.97),),
    )
    registry.register(Weights(name="team/digits", parents=(ParentLink("resnet50.tv_in1k", "finetune"),), **base))
    registry.register(Weights(name="team/digits", parents=(ParentLink("resnet50.tv_in1k", "finetune"),), **base))
    registry.register(Weights(name="team/small", parents=(ParentLink("team/digits@1", "distill"),), **base))
    registry.register(Weights(name="team/small-int8", parents=(ParentLink("team/small@1", "quantize"),), **base))
    registry.set_alias("team/digits", "prod", 2)
    registry.add_bias_note(
        "team/digits@1", EVIL_NOTE, references=("Mitchell et al. 2019",), severity="high", actor=EVIL_ACTOR
    )
    registry.deprecate("team/digits@1", "superseded by version 2")
    registry.revoke("team/small-int8", "quantized from unverified bytes")


@pytest.fixture
def site(tmp_path):
    """The small registry on SQLite and its catalogue."""
    from zoo.registry import Registry

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry(url, actor="tester@zoo") as registry:
        fill(registry)
        report = build_catalogue(tmp_path / "site", registry)
    assert report.weights == 6
    return tmp_path / "site"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_catalogue", ROOT / "bench" / "catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def big_site(tmp_path_factory):
    """10,000 weights (bench/catalogue.py's generator, bulk inserts) and their catalogue,
    built once per session."""
    from zoo.registry import Registry

    base = tmp_path_factory.mktemp("big")
    with Registry(f"sqlite:///{base / 'registry.db'}", actor="bench@zoo") as registry:
        _bench_module().populate(registry, 10_000)
        report = build_catalogue(base / "site", registry)
    assert report.weights == 10_000
    return base / "site"


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# -- building ------------------------------------------------------------------------------------


def test_site_has_a_page_per_weights_dataset_and_plugin_with_relative_links_only(site):
    manifest = json.loads((site / "zoo-catalogue.json").read_text())
    assert manifest["counts"] == {"weights": 6, "datasets": 3, "plugins": 3}
    assert len(list((site / "weights").glob("*.html"))) == 6
    assert {p.name for p in (site / "datasets").glob("*.html")} == {
        "imagenet-1k.html",
        "uci-digits.html",
        "wiki-text.html",
    }
    assert len(list((site / "plugins").glob("*.html"))) == 3
    assert set(manifest["files"]) == {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} - {
        "zoo-catalogue.json"
    }
    # Every link and script inside the site is relative and points at a file that exists;
    # links out are http(s) only.
    for path in _pages(site):
        text = path.read_text()
        for ref in re.findall(r'(?:href|src)="([^"]*)"', text):
            if ref.startswith(("https://", "http://")):
                continue
            assert not ref.startswith(("/", "file:", "javascript:", "//")), (path, ref)
            if ref.startswith("data:"):
                assert ref == "data:,", (path, ref)  # the empty favicon
                continue
            target = (path.parent / ref.split("#")[0]).resolve()
            assert target.is_file(), (path, ref)
    data = (site / "data" / "catalogue.js").read_text()
    assert data.startswith("window.ZOO_CATALOGUE = ")
    rows = json.loads(data[len("window.ZOO_CATALOGUE = ") :].rstrip().rstrip(";"))["rows"]
    assert sorted(f"{r[0]}@{r[1]}" for r in rows) == sorted(
        ["resnet50.tv_in1k@1", "bert-base.hf@1", "team/digits@1", "team/digits@2", "team/small@1", "team/small-int8@1"]
    )


def test_weights_page_shows_card_notes_licence_sources_lineage_and_history(site):
    page = next((site / "weights").glob("team~small--v1.html")).read_text()
    assert "<svg" in page and "team/digits@1" in page and "team/small-int8@1" in page and "resnet50.tv_in1k@1" in page
    assert page.count('class="edge"') == 3  # resnet50 -> digits@1 -> small -> small-int8
    for relation in ("finetune", "distill", "quantize"):
        assert f">{relation}</text>" in page
    digits = (site / "weights" / "team~digits--v1.html").read_text()
    assert "superseded by version 2" in digits and "Mitchell et al. 2019" in digits
    assert "weights.deprecate" in digits or "weights.status" in digits
    assert "Geographic skew." in digits  # inherited through resnet50's ImageNet pretraining
    assert "https://arxiv.org/abs/1711.08536" in digits
    root = (site / "weights" / "resnet50.tv_in1k--v1.html").read_text()
    assert "0676ba61" in root and "https://download.pytorch.org/models/resnet50-0676ba61.pth" in root
    assert "forbidden" in root  # its data's terms make commercial use forbidden, all things considered


def test_registry_text_is_escaped_everywhere(site):
    for path in _pages(site):
        text = path.read_text()
        assert "<script>window.__pwned" not in text, path
        assert "<img src=x" not in text, path
        assert "<svg onload" not in text, path
        assert 'href="javascript:' not in text, path
        assert '"onerror="window' not in text, path
    bert = (site / "weights" / "bert-base.hf--v1.html").read_text()
    assert "&lt;script&gt;window.__pwned=4&lt;/script&gt;" in bert
    assert "&quot;onerror=alert(1)" in bert


def test_an_empty_registry_builds_an_empty_valid_site(tmp_path):
    from zoo.registry import Registry

    with Registry(f"sqlite:///{tmp_path / 'empty.db'}") as registry:
        report = build_catalogue(tmp_path / "site", registry)
    assert (report.weights, report.datasets, report.plugins) == (0, 0, 0)
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "datasets.html").is_file()


def test_directory_rules_refuse_foreign_files_and_need_force_for_a_catalogue(site, tmp_path):
    from zoo.registry import Registry

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with Registry(url) as registry:
        for force in (False, True):
            with pytest.raises(ZooCatalogueError, match="not a zoo catalogue"):
                build_catalogue(foreign, registry, force=force)
        assert (foreign / "notes.txt").read_text() == "mine" and sorted(os.listdir(foreign)) == ["notes.txt"]
        with pytest.raises(ZooCatalogueError, match="--force"):
            build_catalogue(site, registry)
        (site / "CNAME").write_text("zoo.example.org")  # a file zoo did not write: never deleted
        with pytest.raises(ZooCatalogueError, match="CNAME"):
            build_catalogue(site, registry, force=True)
        (site / "CNAME").unlink()
        before = json.loads((site / "zoo-catalogue.json").read_text())
        registry.register(Weights(arch="resnet50", name="team/new", license=License("MIT", "allowed")))
        report = build_catalogue(site, registry, force=True)
    assert report.replaced and report.weights == 7
    after = json.loads((site / "zoo-catalogue.json").read_text())
    assert len(after["files"]) == len(before["files"]) + 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary or old site left


def test_a_symlinked_directory_is_replaced_behind_its_link(site, tmp_path):
    from zoo.registry import Registry

    link = tmp_path / "published"
    link.symlink_to(site, target_is_directory=True)
    with Registry(f"sqlite:///{tmp_path / 'registry.db'}") as registry:
        report = build_catalogue(link, registry, force=True)
    assert report.replaced and link.is_symlink() and (link / "index.html").is_file()
    assert report.directory == str(site.resolve())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failed_build_leaves_the_earlier_site_as_it_was(site, tmp_path):
    from zoo.registry._lite import open_lite

    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    with sqlite3.connect(tmp_path / "registry.db") as conn:  # damage one record behind zoo's back
        conn.execute("UPDATE weights SET preprocessing = '{not json' WHERE name = 'team/small'")
    lite = open_lite(f"sqlite:///{tmp_path / 'registry.db'}", check_plugins=False)
    try:
        with pytest.raises(ZooCatalogueError, match="nothing was written"):
            build_catalogue(site, lite, force=True)
    finally:
        lite.close()
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_build_on_sqlite_and_postgresql(registry, tmp_path, capsys):
    fill(registry)
    out = tmp_path / "cat"
    assert main(["--registry", registry.url, "catalogue", "build", str(out), "--json", "--no-sync"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["weights"], report["datasets"], report["plugins"], report["replaced"]) == (6, 3, 3, False)
    assert main(["--registry", registry.url, "catalogue", "build", str(out), "--no-sync"]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["--registry", registry.url, "catalogue", "build", str(out), "--no-sync", "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["replaced"] is True
    digits = (out / "weights" / "team~digits--v2.html").read_text()
    assert "team/digits@prod" in digits and "resnet50.tv_in1k@1" in digits
    # The full Registry's read session gives the same site as the CLI's fast path.
    build_catalogue(tmp_path / "full", registry)

    def list_data(site: Path) -> dict:
        data = json.loads((site / "data" / "catalogue.js").read_text()[len("window.ZOO_CATALOGUE = ") :].rstrip(";\n"))
        return {k: v for k, v in data.items() if k != "generated"}

    assert list_data(tmp_path / "full") == list_data(out)
    assert (
        json.loads((tmp_path / "full" / "zoo-catalogue.json").read_text())["files"]
        == json.loads((out / "zoo-catalogue.json").read_text())["files"]
    )


def test_batched_record_reads_equal_one_by_one(registry):
    """``RegistryReader.infos`` (what the catalogue reads) gives exactly ``info`` per id:
    lineage facts, inherited notes, effective use, links, in the order asked."""
    fill(registry)
    with registry._reading() as reader:
        ids = [i for (i,) in reader.rows("SELECT id FROM weights ORDER BY name DESC")]
        one_by_one = [reader.info(i) for i in ids]
        assert reader.infos(ids) == one_by_one
        assert reader.infos([ids[2], ids[0], ids[2]]) == [one_by_one[2], one_by_one[0], one_by_one[2]]
        assert reader.infos([]) == []
    small = next(i for i in one_by_one if i.ref == "team/small")
    assert small.weights.parents[0].parent == "team/digits@1" and small.children == (("team/small-int8@1", "quantize"),)
    assert any("Geographic skew." in n.body for n in small.inherited_notes)  # through digits@1 -> resnet50 -> imagenet
    assert small.effective_use.commercial_use.value == "forbidden"


def test_slugs_are_safe_unique_file_names():
    taken: set[str] = set()
    slugs = [
        _slug(n, taken) for n in ("team/a", "team~a", "../../etc/passwd", "<script>", ".hidden", "x" * 300, "A", "a")
    ]
    assert len(set(slugs)) == len(slugs)
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_.~-]*", slug) and len(slug) <= 130, slug


def test_lineage_layout_points_every_edge_down_and_survives_a_cycle():
    nodes = {k: Node(k, f"team/m{k}@1", None if k == 3 else f"m{k}.html") for k in range(1, 7)}
    edges = [
        (1, 2, "finetune"),
        (1, 3, "finetune"),
        (2, 3, "distill"),
        (3, 4, "quantize"),
        (3, 5, "prune"),
        (4, 6, "adapter"),
        (5, 6, "finetune"),
    ]
    pos = layout(Graph(3, nodes, edges))
    for parent, child, _ in edges:
        assert pos[parent][1] < pos[child][1], (parent, child)
    by_row: dict[float, list[tuple[float, float]]] = {}
    for x, y, w in pos.values():
        by_row.setdefault(y, []).append((x, x + w))
    for spans in by_row.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlapping boxes
    svg = render_svg(Graph(3, nodes, [*edges, (6, 1, "finetune")]), lambda s: s)  # a cycle from a raw database
    assert svg.startswith("<svg") and svg.count("<a href=") == 5
    # A popular checkpoint's 30 fine-tunes wrap onto rows of a few boxes, below their parent.
    fan = {0: Node(0, "base.tag@1", None), **{k: Node(k, f"team/child-{k}@1", f"c{k}.html") for k in range(1, 31)}}
    pos = layout(Graph(0, fan, [(0, k, "finetune") for k in range(1, 31)]))
    rows = sorted({y for _, y, _ in pos.values()})
    assert len(rows) == 1 + 30 // 4 + 1 and all(pos[k][1] > pos[0][1] for k in range(1, 31))
    assert max(x + w for x, _, w in pos.values()) < 1300


def test_serve_answers_on_localhost_and_refuses_what_it_cannot_serve(site, tmp_path):
    with pytest.raises(ZooCatalogueError, match="not a zoo catalogue"):
        make_server(tmp_path, 0)
    server = make_server(site, 0)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for path, kind in (
            ("/index.html", "text/html"),
            ("/data/catalogue.js", "text/javascript"),
            ("/assets/catalogue.css", "text/css"),
        ):
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and response.getheader("Content-Type").startswith(kind) and body
        with pytest.raises(ZooCatalogueError, match="in use"):
            make_server(site, port)
    finally:
        server.shutdown()
        server.server_close()


def test_zoo_catalogue_serve_command_serves_until_stopped(site):
    process = subprocess.Popen(
        [sys.executable, "-m", "zoo.cli", "catalogue", "serve", str(site), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"},
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
        conn.request("GET", "/weights/team~digits--v2.html")
        response = conn.getresponse()
        assert response.status == 200 and b"team/digits" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- in the browser ------------------------------------------------------------------------------


def _wait_ready(page: Page) -> None:
    page.page.wait_for_function("window.ZOO_READY !== undefined", timeout=15_000)


def _summary(page: Page) -> str:
    return page.page.inner_text("#summary")


def _names(page: Page) -> list[str]:
    return page.page.eval_on_selector_all("#weights tbody td.name a", "els => els.map(e => e.textContent)")


def test_search_filters_and_lineage_links_in_the_browser(site, page):
    page.goto((site / "index.html").as_uri())
    _wait_ready(page)
    assert _summary(page).startswith("6 weights")
    page.page.locator("#q").press_sequentially("team/")
    page.page.wait_for_function("document.getElementById('summary').textContent.startsWith('4 of 6')")
    assert all(n.startswith("team/") for n in _names(page)) and len(_names(page)) == 4
    page.page.select_option('select[data-filter="status"]', "revoked")
    page.page.wait_for_function("document.getElementById('summary').textContent.startsWith('1 of 6')")
    assert _names(page) == ["team/small-int8@1"]
    assert "status=revoked" in page.page.url and "q=team" in page.page.url
    page.shot("list-filtered")
    page.page.click("#clear")
    page.page.select_option('select[data-filter="modality"]', "text")
    page.page.wait_for_function("document.getElementById('summary').textContent.startsWith('1 of 6')")
    assert _names(page) == ["bert-base.hf@1"]
    page.page.click("#clear")
    page.page.click('th[data-sort="notes"] button')
    page.page.wait_for_function("location.hash.includes('sort=notes')")
    notes = page.page.eval_on_selector_all(
        "#weights tbody tr td:nth-child(8)", "els => els.map(e => e.textContent === 'none' ? 0 : Number(e.textContent))"
    )
    assert notes == sorted(notes) and len(notes) == 6 and notes[-1] > 0
    assert page.page.get_attribute('th[data-sort="notes"]', "aria-sort") == "ascending"
    # A filtered view is a link: a fresh page opened on it shows the same rows.
    page.goto((site / "index.html").as_uri() + "#dataset=uci-digits&sort=status")
    _wait_ready(page)
    assert _summary(page).startswith("4 of 6") and _names(page)[0] == "team/small-int8@1"
    assert page.page.input_value('select[data-filter="dataset"]') == "uci-digits"
    # From the list to a page, then along the lineage graph.
    page.page.click("text=team/small@1")
    page.page.wait_for_load_state("load")
    assert page.page.inner_text("h1").startswith("team/small@1")
    page.page.click("svg.lineage a:has(text:text-is('team/digits@1'))")
    page.page.wait_for_load_state("load")
    assert page.page.inner_text("h1").startswith("team/digits@1")
    page.page.click("svg.lineage a:has(text:text-is('resnet50.tv_in1k@1'))")
    page.page.wait_for_load_state("load")
    assert page.page.inner_text("h1").startswith("resnet50.tv_in1k@1")
    assert page.problems == []


def test_no_console_errors_on_any_page_type_from_file_and_http(site, strict_page):
    page = strict_page
    kinds = {
        "list": "index.html",
        "weights": "weights/team~small--v1.html",
        "dataset": "datasets/imagenet-1k.html",
        "plugin": "plugins/zoo-torchvision.html",
        "datasets": "datasets.html",
        "plugins": "plugins.html",
    }
    for kind, rel in kinds.items():
        page.goto((site / rel).as_uri())
        assert page.page.locator("h1").count() == 1, kind
        page.shot(f"file-{kind}")
    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        for rel in kinds.values():
            page.goto(f"http://{host}:{port}/{rel}")
            assert page.page.locator("h1").count() == 1, rel
        page.goto(f"http://{host}:{port}/index.html")
        assert page.page.evaluate("window.ZOO_READY") > 0  # set before the load event
        assert _summary(page).startswith("6 weights")
    finally:
        server.shutdown()
        server.server_close()
    # Any web server, under any path: the standard library's plain file server, with the
    # site one folder down.
    plain = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(site.parent))
    )
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{plain.server_address[1]}/{site.name}/"
        page.goto(base + "index.html")
        assert page.page.evaluate("window.ZOO_READY") > 0 and _summary(page).startswith("6 weights")
        page.page.click("text=team/small@1")
        page.page.wait_for_load_state("load")
        assert page.page.url == base + "weights/team~small--v1.html"
        page.page.click("svg.lineage a:has(text:text-is('team/digits@1'))")
        page.page.wait_for_load_state("load")
        assert page.page.url == base + "weights/team~digits--v1.html"
        page.page.click("header a.brand")
        page.page.wait_for_load_state("load")
        assert page.page.url == base + "index.html"
    finally:
        plain.shutdown()
        plain.server_close()
    assert page.problems == []


def test_html_and_script_from_the_registry_show_as_text_and_never_run(site, page):
    page.goto((site / "weights" / "bert-base.hf--v1.html").as_uri())
    text = page.page.inner_text("main")
    assert "<script>window.__pwned=4</script>" in text and '"onerror=alert(1)' in text
    assert EVIL_TITLE in text and EVIL_PLUGIN in text
    assert page.page.locator("main img, main script, main svg:not(.lineage)").count() == 0
    assert page.page.locator('a[href^="javascript:"]').count() == 0
    page.goto((site / "weights" / "team~digits--v1.html").as_uri())
    assert EVIL_ACTOR in page.page.inner_text("#history")
    page.goto((site / "index.html").as_uri())
    _wait_ready(page)
    page.page.locator("#q").press_sequentially("onerror")
    page.page.wait_for_function("document.getElementById('summary').textContent.startsWith('1 of 6')")
    assert page.page.inner_text("#weights tbody td:last-child") == EVIL_PLUGIN
    options = page.page.eval_on_selector_all('select[data-filter="plugin"] option', "os => os.map(o => o.value)")
    assert EVIL_PLUGIN in options
    page.page.select_option('select[data-filter="plugin"]', EVIL_PLUGIN)
    page.page.click("#weights tbody td:last-child a")
    page.page.wait_for_load_state("load")
    assert page.page.inner_text("h1") == EVIL_PLUGIN
    page.goto((site / "datasets" / "wiki-text.html").as_uri())
    assert EVIL_TITLE in page.page.inner_text("main")
    assert page.page.evaluate("window.__pwned") is None
    assert page.problems == []


def test_an_empty_catalogue_works_in_the_browser(tmp_path, page):
    from zoo.registry import Registry

    with Registry(f"sqlite:///{tmp_path / 'empty.db'}") as registry:
        build_catalogue(tmp_path / "site", registry)
    for rel in ("index.html", "datasets.html", "plugins.html"):
        page.goto((tmp_path / "site" / rel).as_uri())
    page.goto((tmp_path / "site" / "index.html").as_uri())
    _wait_ready(page)
    assert _summary(page).startswith("0 weights")
    assert "no weights yet" in page.page.inner_text("#weights tbody")
    assert page.problems == []


def test_ten_thousand_weights_list_is_interactive_quickly(big_site, page):
    """A generous sanity check; bench/catalogue.py measures it (target: under 1 s)."""
    page.goto((big_site / "index.html").as_uri())
    _wait_ready(page)
    ready_ms = page.page.evaluate("window.ZOO_READY")
    assert _summary(page).startswith("10000 weights")
    page.page.locator("#q").press_sequentially("resnet")
    page.page.wait_for_function("window.ZOO_LAST_RENDER.painted !== null && window.ZOO_LAST_RENDER.started > 0")
    last = page.page.evaluate("window.ZOO_LAST_RENDER")
    assert 0 < last["matched"] < 10_000
    keystroke_ms = last["painted"] - last["started"]
    page.shot("list-10000")
    assert ready_ms < 4000, f"list drawn {ready_ms:.0f} ms after navigation start"
    assert keystroke_ms < 1000, f"a search keystroke took {keystroke_ms:.0f} ms to paint"
    assert page.problems == []
