"""Many OS processes writing to one registry at once (SQLite: the same file;
PostgreSQL: the same schema): nothing lost, no duplicate or missing version numbers,
every change in the audit trail, one unbroken hash chain."""

from __future__ import annotations

import multiprocessing
import traceback

from sqlalchemy import text

from zoo.records import Family
from zoo.registry import Registry
from zoo.testing import make_weights

PROCESSES = 4
PER_PROCESS = 10
NAME = "team/shared-model"
TIMEOUT_S = 120


def _family() -> Family:
    return Family(name="resnet50", modality="vision", builder="torchvision.models:resnet50", default_tag="tv_in1k")


def _register_worker(url: str, index: int, start, results) -> None:
    try:
        reg = Registry(url, actor=f"worker-{index}")
        start.wait(TIMEOUT_S)
        versions = []
        for i in range(PER_PROCESS):
            info = reg.register(make_weights(tag=None, name=NAME, description=f"worker {index} run {i}"))
            versions.append(info.version)
        reg.close()
        results.put((index, versions, None))
    except BaseException:  # noqa: BLE001 - report, never hang the parent
        results.put((index, None, traceback.format_exc()))


def _sync_worker(url: str, index: int, start, results) -> None:
    try:
        start.wait(TIMEOUT_S)
        reg = Registry(url, actor=f"worker-{index}")  # a fresh database: first use creates it
        report = reg.sync(
            "zoo-test-plugin", "1.0", [_family()], [make_weights(tag="tv_in1k"), make_weights(tag="tv2_in1k")]
        )
        reg.close()
        results.put((index, len(report.weights_added), None))
    except BaseException:  # noqa: BLE001 - report, never hang the parent
        results.put((index, None, traceback.format_exc()))


def _run(target, url: str) -> dict[int, object]:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, i, start, results)) for i in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        start.set()
        out = {}
        for _ in procs:
            index, value, error = results.get(timeout=TIMEOUT_S)
            assert error is None, f"worker {index} failed:\n{error}"
            out[index] = value
        for p in procs:
            p.join(TIMEOUT_S)
            assert p.exitcode == 0
        return out
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()


def test_concurrent_registrations_get_distinct_consecutive_versions(registry_url):
    with Registry(registry_url, actor="setup") as reg:
        reg.add_family(_family())

    per_worker = _run(_register_worker, registry_url)

    total = PROCESSES * PER_PROCESS
    every = sorted(v for versions in per_worker.values() for v in versions)
    assert every == list(range(1, total + 1))  # no duplicates, no gaps
    for versions in per_worker.values():
        assert versions == sorted(versions)  # each process sees its own versions grow
    with Registry(registry_url, actor="checker") as reg:
        with reg.engine.connect() as conn:
            stored = (
                conn.execute(text("SELECT version FROM weights WHERE name = :n ORDER BY version"), {"n": NAME})
                .scalars()
                .all()
            )
            sources = conn.execute(text("SELECT count(*) FROM sources")).scalar_one()
        assert stored == list(range(1, total + 1))
        assert sources == total
        events = reg.history(NAME, action="weights.register")
        assert len(events) == total
        assert sorted(e.after["version"] for e in events) == list(range(1, total + 1))
        assert {e.actor for e in events} == {f"worker-{i}" for i in range(PROCESSES)}
        # Each event names the version its own transaction assigned.
        for e in events:
            assert e.after["description"].startswith(e.actor.replace("-", " "))
        check = reg.verify_audit()
        assert check.ok, check.problems
        assert check.events == total + 1
        assert reg.resolve(NAME).version == total


def test_concurrent_first_use_and_sync_of_a_new_registry(registry_url):
    """Several processes start on an empty database at once (each creates the schema if
    needed and syncs the same plugin): one schema, one copy of each record."""
    added = _run(_sync_worker, registry_url)
    assert sorted(added.values()) == [0] * (PROCESSES - 1) + [2]
    with Registry(registry_url, actor="checker") as reg:
        assert [e.action for e in reg.history()] == ["family.register", "weights.register", "weights.register"]
        assert reg.count() == 2
        assert reg.verify_audit().ok
