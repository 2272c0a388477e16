"""Shared fixtures. Every registry test runs against SQLite and against PostgreSQL
(127.0.0.1:5432, database ``test``), each test in a schema of its own so that
parallel workers and concurrent CI runs never collide."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from zoo.records import Family
from zoo.testing import FakeDistributions, ZooEnv, fake_distributions, make_family, zoo_env

ROOT = Path(__file__).resolve().parents[1]

PG_BASE = os.environ.get("ZOO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session", autouse=True)
def _session_zoo_home(tmp_path_factory) -> Iterator[None]:
    """The suite never reads or writes the user's default registry and cache: a test that
    opens "the default registry" gets one of this session (a newer or older zoo may have
    written the user's)."""
    before = os.environ.get("ZOO_HOME")
    os.environ["ZOO_HOME"] = str(tmp_path_factory.mktemp("zoo-home"))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ZOO_HOME", None)
        else:
            os.environ["ZOO_HOME"] = before


@pytest.fixture(scope="session", autouse=True)
def _audit_key_file(tmp_path_factory) -> Iterator[None]:
    """Registries written by the tests sign their audit events with a key of the test
    session (created on the first write), never with the user's $ZOO_HOME/audit.key."""
    if os.environ.get("ZOO_AUDIT_KEY") or os.environ.get("ZOO_AUDIT_KEY_FILE"):
        yield
        return
    os.environ["ZOO_AUDIT_KEY_FILE"] = str(tmp_path_factory.mktemp("audit-key") / "audit.key")
    try:
        yield
    finally:
        os.environ.pop("ZOO_AUDIT_KEY_FILE", None)


def _pg_admin():
    from sqlalchemy import create_engine

    return create_engine(PG_BASE, isolation_level="AUTOCOMMIT")


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema; yields a registry URL whose search_path is that schema."""
    if os.environ.get("ZOO_TEST_SKIP_PG") == "1":
        pytest.skip("ZOO_TEST_SKIP_PG=1")
    from sqlalchemy import text

    schema = f"zoo_test_{uuid.uuid4().hex[:12]}"
    engine = _pg_admin()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        from zoo.registry._readonly import reader_role

        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            # The registry's `zoo sql` reader role (cluster-wide) goes with its schema.
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f'DROP ROLE IF EXISTS "{reader_role(database, schema)}"'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request, tmp_path) -> str:
    """A URL of an empty database, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def registry(registry_url):
    from zoo.registry import Registry

    reg = Registry(registry_url, actor="tester@zoo")
    yield reg
    reg.close()


@pytest.fixture
def resnet_family() -> Family:
    return make_family()


@pytest.fixture
def dists(tmp_path) -> Iterator[FakeDistributions]:
    """Throwaway installed distributions on sys.path (zoo.testing.fake_distributions)."""
    with fake_distributions(tmp_path / "site") as d:
        yield d


@pytest.fixture
def one_thread():
    """torch on one intra-op thread for the test: pytest -n 2 on two cores, a second
    thread per worker only oversubscribes. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def acme_env(tmp_path_factory) -> Iterator[ZooEnv]:
    """A ZOO_HOME with a SQLite registry synced with the installed plugins, ACME's
    artifacts reachable (the example-internal plugin), for one test module."""
    pytest.importorskip("zoo_acme")
    artifacts = ROOT / "plugins" / "example-internal" / "artifacts"
    with zoo_env(tmp_path_factory.mktemp("zoo-home"), ACME_ARTIFACTS_DIR=str(artifacts)) as env:
        yield env


@pytest.fixture(scope="module")
def acme_digits():
    """scikit-learn's digits as 8x8 one-channel tensors normalised as ACME's tinynet
    expects: ``(train, val)`` TensorDatasets, 15 and 10 images per class."""
    pytest.importorskip("sklearn")
    from zoo.finetuning.digits import digits
    from zoo_acme.data import MEAN, STD

    return digits(8, channels=1, per_class=15, test_per_class=10, mean=[MEAN], std=[STD])
