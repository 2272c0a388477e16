"""The `zoo` command, run as a real process against SQLite and PostgreSQL registries."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from zoo.records import Family, ParentLink, Weights
from zoo.registry import Registry
from zoo.testing import make_weights


def run_zoo(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, ZOO_REGISTRY_URL=url, ZOO_ACTOR="cli-tester", COLUMNS="200", ZOO_PLUGINS="none")
    proc = subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, env=env, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"zoo {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def filled(registry_url, resnet_family):
    registry = Registry(registry_url, actor="seed")
    registry.add_family(resnet_family)
    registry.add_family(Family("bert-base", "text", "transformers:AutoModel", task="feature-extraction"))
    registry.register(make_weights())
    registry.register(make_weights(tag="tv_in1k_v2", card=(), datasets=()))
    registry.register(Weights("bert-base", tag="hf", parents=()))
    registry.register(Weights("resnet50", name="team/digits", parents=[ParentLink("resnet50")]))
    registry.close()
    return registry_url


def test_list_json_and_filters(filled):
    data = json.loads(run_zoo(filled, "list", "--json").stdout)
    assert data["total"] == 4
    names = [w["qualified_name"] for w in data["weights"]]
    assert names == sorted(names)
    vision = json.loads(run_zoo(filled, "list", "resnet*", "--dataset", "imagenet-1k", "--json").stdout)
    assert [w["name"] for w in vision["weights"]] == ["resnet50.tv_in1k"]
    # its own note plus the notes of imagenet-1k (declared by zoo), which it was trained on
    from zoo.known_datasets import datasets

    imagenet = next(d for d in datasets() if d.name == "imagenet-1k")
    assert vision["weights"][0]["bias_notes"] == 1 + len(imagenet.notes)
    text = json.loads(run_zoo(filled, "list", "--modality", "text", "--json").stdout)
    assert [w["name"] for w in text["weights"]] == ["bert-base.hf"]
    limited = json.loads(run_zoo(filled, "list", "--limit", "1", "--json").stdout)
    assert limited["total"] == 4 and len(limited["weights"]) == 1


def test_list_table_for_people(filled):
    out = run_zoo(filled, "list").stdout
    assert "resnet50.tv_in1k *" in out  # the default weights are marked
    assert "none" in out  # weights without bias notes are flagged


def test_info_shows_the_card(filled):
    out = run_zoo(filled, "info", "resnet50").stdout
    assert "resnet50.tv_in1k" in out and "Shankar et al. 2017" in out
    assert "team/digits@1 is a finetune of this" in out
    data = json.loads(run_zoo(filled, "info", "team/digits@1", "--json").stdout)
    assert data["weights"]["parents"] == [{"parent": "resnet50.tv_in1k@1", "relation": "finetune"}]


def test_unknown_name_is_an_error_with_suggestions(filled):
    proc = run_zoo(filled, "info", "resnet5", check=False)
    assert proc.returncode == 1
    assert "did you mean" in proc.stderr and "resnet50" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_alias_revoke_history_and_audit(filled):
    run_zoo(filled, "alias", "team/digits", "prod")
    proc = run_zoo(filled, "revoke", "resnet50.tv_in1k", check=False)
    assert proc.returncode == 2  # --reason is required
    run_zoo(filled, "revoke", "resnet50.tv_in1k", "--reason", "licence withdrawn")
    events = json.loads(run_zoo(filled, "history", "team/digits", "--json").stdout)
    assert [e["action"] for e in events] == ["weights.register", "alias.set"]
    assert events[1]["actor"] == "cli-tester"
    rows = list(csv.DictReader(io.StringIO(run_zoo(filled, "audit", "revoked-in-lineage", "--csv").stdout)))
    assert [(r["name"], r["revoked_ancestor"]) for r in rows] == [("team/digits", "resnet50.tv_in1k@1")]
    trained = json.loads(run_zoo(filled, "audit", "trained-on", "imagenet-1k", "--json").stdout)
    assert {r["name"] for r in trained} == {"resnet50.tv_in1k", "team/digits"}
    verify = json.loads(run_zoo(filled, "audit", "verify", "--json").stdout)
    assert verify["ok"] and verify["events"] >= 8


def test_audit_tables_are_cut_files_are_whole(filled):
    rows = list(csv.DictReader(io.StringIO(run_zoo(filled, "audit", "licences", "--csv").stdout)))
    n = len(rows)
    assert n >= 3  # every weights record of the fixture has unstated commercial terms
    table = run_zoo(filled, "audit", "licences", "--limit", "1").stdout
    assert f"licences: {n} rows" in table and f"showing 1 of {n} rows" in table
    names = [r["name"] for r in rows]
    assert names[0] in table and not any(name in table for name in names[1:])  # the one row shown
    assert len(json.loads(run_zoo(filled, "audit", "licences", "--limit", "2", "--json").stdout)) == 2
    whole = run_zoo(filled, "audit", "licences").stdout
    assert f"licences: {n} rows" in whole and "showing" not in whole and all(name in whole for name in names)
    proc = run_zoo(filled, "audit", "licences", "--limit", "-1", check=False)
    assert proc.returncode == 2 and "--limit" in proc.stderr


def test_bad_filter_values_are_typed_errors(filled):
    proc = run_zoo(filled, "list", "--commercial", "maybe", check=False)
    assert proc.returncode == 1 and "commercial" in proc.stderr and "allowed" in proc.stderr
    proc = run_zoo(filled, "audit", "history", "--since", "yesterday", check=False)
    assert proc.returncode == 1 and "since" in proc.stderr
    # A filter value is data, never SQL.
    injected = json.loads(run_zoo(filled, "list", "--dataset", "x' OR '1'='1", "--json").stdout)
    assert injected["total"] == 0


def test_audit_verify_fails_on_tampering(tmp_path, resnet_family):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    registry = Registry(url)
    registry.add_family(resnet_family)
    registry.register(make_weights())
    registry.close()
    import sqlite3

    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    conn.commit()
    conn.close()
    proc = run_zoo(url, "audit", "verify", check=False)
    assert proc.returncode == 1 and "event 1" in proc.stdout


def test_registry_commands_do_not_import_torch(filled):
    code = (
        "import sys\n"
        "from zoo.cli import main\n"
        "for argv in (['list'], ['info', 'resnet50'], ['history', 'team/digits'], ['audit', 'verify'],"
        " ['audit', 'licences']):\n"
        "    assert main(argv) in (0,), argv\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'timm', 'transformers') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = dict(os.environ, ZOO_REGISTRY_URL=filled, COLUMNS="200")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_not_a_zoo_database(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 100)
    proc = run_zoo(f"sqlite:///{bogus}", "list", check=False)
    assert proc.returncode == 1 and "not a zoo registry" in proc.stderr


def test_db_upgrade_is_idempotent(registry_url):
    first = run_zoo(registry_url, "db", "upgrade")
    second = run_zoo(registry_url, "db", "upgrade")
    from zoo.registry.schema import SCHEMA_REVISION

    assert SCHEMA_REVISION in first.stdout and SCHEMA_REVISION in second.stdout


def test_list_json_returns_every_row_unless_limited(registry_url, resnet_family):
    from zoo.testing import make_weights

    registry = Registry(registry_url, actor="seed")
    registry.add_family(resnet_family)
    registry.register_many([make_weights(tag=f"t{i:03d}", sources=(), sha256_prefix=None) for i in range(120)])
    registry.close()
    everything = json.loads(run_zoo(registry_url, "list", "--json").stdout)
    assert everything["total"] == 120 and len(everything["weights"]) == 120
    assert len(json.loads(run_zoo(registry_url, "list", "--json", "--limit", "7").stdout)["weights"]) == 7
    table = run_zoo(registry_url, "list").stdout  # people get the first 100 and are told so
    assert "showing 100 of 120" in " ".join(table.split())


def test_bad_paths_and_methods_are_typed_errors_before_any_work(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    proc = run_zoo(url, "audit", "checkpoint", "-o", str(tmp_path / "no" / "such" / "dir" / "head.json"), check=False)
    assert proc.returncode != 0 and "cannot write checkpoint" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "no").exists()
    # An unknown method or unreadable sentences are refused before the model is fetched.
    proc = run_zoo(url, "compress", "resnet50", "--method", "no-such-method", "--data", "digits", check=False)
    assert proc.returncode != 0 and "no-such-method" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_zoo(
        url,
        "compress",
        "resnet50",
        "--method",
        "dynamic-int8",
        "--sentences",
        str(tmp_path / "missing.txt"),
        check=False,
    )
    assert proc.returncode != 0 and "cannot read it" in proc.stderr and "Traceback" not in proc.stderr
