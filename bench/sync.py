"""The plugin -> registry sync of the installed first-party catalogue: time and number of
SQL statements, on SQLite and on PostgreSQL, for the first sync (an empty registry) and
for a no-op resync (nothing changed: what every `zoo sync` and every new plugin
selection pays).

    .venv/bin/python bench/sync.py [--runs 3] [--backends sqlite,postgresql] [--label NAME]
                                   [--output bench/results/sync.md]

Statements are counted at the driver (SQLAlchemy's ``before_cursor_execute``: one per
``execute`` / ``executemany``). Each figure is the median of ``--runs`` fresh
registries. The obvious alternative measured in the same run is a registry loaded
from ``registry.db.sql`` (what `zoo db dump` writes), i.e. what it costs to bring the
same rows in without diffing anything; and the resync is compared with the first
sync. ``--label`` names the code measured (e.g. ``before`` / ``after``) in the
results file, whose earlier sections are kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _counted(registry):
    from sqlalchemy import event

    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(registry.engine, "before_cursor_execute", count)
    return counter


def _one(url: str, host) -> dict[str, float]:
    from zoo.plugins import sync_registry
    from zoo.registry import Registry

    out: dict[str, float] = {}
    with Registry(url, actor="bench", sync=False) as registry:
        counter = _counted(registry)
        for phase in ("first", "resync"):
            counter["n"] = 0
            start = time.perf_counter()
            reports = sync_registry(registry, host, strict=True)
            out[f"{phase}_s"] = time.perf_counter() - start
            out[f"{phase}_sql"] = counter["n"]
            if phase == "first":
                out["records"] = sum(
                    len(r.weights_added) + len(r.families_added) + len(r.datasets_added) for r in reports
                )
            else:
                assert not any(r.changed for r in reports), "a resync changed records"
        out["weights"] = registry.count()
    return out


def _load_dump(url: str) -> float:
    """The alternative: the same catalogue as portable SQL, executed statement by statement."""
    from sqlalchemy import create_engine

    sql = (HERE.parent / "registry.db.sql").read_text(encoding="utf-8")
    engine = create_engine(url)
    start = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        if engine.dialect.name == "sqlite":
            raw.executescript(sql)
        else:
            with raw.cursor() as cursor:
                cursor.execute(sql)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--label", default="current")
    parser.add_argument(
        "--pg", default=os.environ.get("ZOO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--output", default=str(HERE / "results" / "sync.md"))
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    from zoo.plugins import first_party_host

    host = first_party_host()
    host.raise_for_failures()
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    results: dict[str, list[dict[str, float]]] = {}
    dumps: dict[str, list[float]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("ZOO_AUDIT_KEY_FILE", str(Path(tmp) / "audit.key"))
        for backend in args.backends.split(","):
            for run in range(args.runs):
                for kind in ("sync", "dump"):
                    if backend == "sqlite":
                        url = f"sqlite:///{Path(tmp) / f'{kind}-{run}.db'}"
                        schema = None
                    else:
                        schema = f"zoo_bench_{uuid.uuid4().hex[:10]}"
                        with admin.connect() as conn:
                            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                        url = f"{args.pg}?options=-csearch_path%3D{schema}"
                    try:
                        if kind == "sync":
                            results.setdefault(backend, []).append(_one(url, host))
                        else:
                            dumps.setdefault(backend, []).append(_load_dump(url))
                    finally:
                        if schema is not None:
                            from zoo.registry._readonly import reader_role

                            with admin.connect() as conn:
                                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                                database = conn.execute(text("SELECT current_database()")).scalar_one()
                                conn.execute(text(f'DROP ROLE IF EXISTS "{reader_role(database, schema)}"'))
    admin.dispose()
    lines = [
        f"## {args.label}: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.1f} at the end (a shared machine)",
        f"- command: `.venv/bin/python bench/sync.py {' '.join(sys.argv[1:])}` ({time.perf_counter() - started:.0f} s)",
        "",
        "| backend | weights | first sync | SQL statements | no-op resync | SQL statements | resync / first "
        "| load registry.db.sql | first sync / load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for backend, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        dump = statistics.median(dumps[backend])
        lines.append(
            f"| {backend} | {int(med['weights']):,} | {med['first_s']:.2f} s | {int(med['first_sql']):,} "
            f"| {med['resync_s']:.2f} s | {int(med['resync_sql']):,} | {med['resync_s'] / med['first_s']:.2f} "
            f"| {dump:.2f} s | {med['first_s'] / dump:.1f}x |"
        )
    text_out = "\n".join(lines) + "\n"
    print(text_out)
    if args.output != "-":
        path = Path(args.output)
        head = "# Plugin sync benchmark\n\n" + __doc__.split("\n\n", 1)[1] + "\n"
        old = path.read_text(encoding="utf-8") if path.exists() else head
        path.write_text(old.rstrip("\n") + "\n\n" + text_out, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
