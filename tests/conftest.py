"""Shared fixtures. Every registry test runs against SQLite and against PostgreSQL
(127.0.0.1:5432, database ``test``), each test in a schema of its own so that
parallel workers and concurrent CI runs never collide."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from zoo.records import CardSection, DatasetUse, Family, License, Metric, Source, Weights

PG_BASE = os.environ.get("ZOO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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
    return Family(
        name="resnet50",
        modality="vision",
        builder="torchvision.models:resnet50",
        head="fc",
        default_tag="tv_in1k",
        preprocessing={"input_size": [3, 224, 224], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    )


def make_weights(arch: str = "resnet50", tag: str | None = "tv_in1k", **overrides) -> Weights:
    """A realistic catalogue record; keyword arguments override fields."""
    fields = dict(
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
