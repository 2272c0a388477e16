"""`zoo info` as a whole process on PostgreSQL: the fast read path (psycopg alone) against
the full registry (SQLAlchemy), and SQLite's fast path, measured in the same run.

    .venv/bin/python bench/info_pg.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--repeat 7]

A fresh schema is created, synced with the installed plugins, and dropped afterwards;
the SQLite registry is a temporary file synced the same way. Each figure is the median
wall time of ``--repeat`` interleaved processes. Appends a section to
bench/results/get.md unless ``--output -``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_S = 0.6  # issue #9
NAME = "resnet50"
FULL = (
    "import sys\nfrom zoo.registry import Registry\nimport zoo.cli\nfrom zoo.render import card\n"
    "r = Registry(sys.argv[1])\ncard(r.resolve(sys.argv[2]))\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("ZOO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--output", default=str(HERE / "results" / "get.md"))
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    from zoo.plugins import default_host, ensure_synced
    from zoo.registry import Registry

    schema = f"zoo_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    pg = f"{args.url}?options=-csearch_path%3D{schema}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = f"sqlite:///{Path(tmp) / 'registry.db'}"
            for url in (pg, sqlite):
                with Registry(url) as registry:
                    ensure_synced(registry, default_host())
            env = {**os.environ, "ZOO_HOME": tmp, "COLUMNS": "120"}
            runs: dict[str, list[float]] = {
                "postgresql, fast path": [],
                "postgresql, full registry": [],
                "sqlite, fast path": [],
            }
            commands = {
                "postgresql, fast path": [sys.executable, "-m", "zoo.cli", "--registry", pg, "info", NAME],
                "postgresql, full registry": [sys.executable, "-c", FULL, pg, NAME],
                "sqlite, fast path": [sys.executable, "-m", "zoo.cli", "--registry", sqlite, "info", NAME],
            }
            for _ in range(args.repeat):
                for label, command in commands.items():
                    t0 = time.perf_counter()
                    subprocess.run(command, env=env, check=True, capture_output=True)
                    runs[label].append(time.perf_counter() - t0)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    fast = statistics.median(runs["postgresql, fast path"])
    lines = [
        "",
        "## `zoo info` as a process on PostgreSQL (bench/info_pg.py)",
        "",
        f"Median of {args.repeat} interleaved processes; load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| path | whole process | vs PostgreSQL fast path |",
        "| --- | --- | --- |",
    ]
    for label, times in runs.items():
        median = statistics.median(times)
        lines.append(f"| {label} | {median:.2f} s | {median / fast:.2f}x |")
    lines += [
        "",
        f"Target (issue #9): PostgreSQL `zoo info` <= {TARGET_S} s: "
        f"{'met' if fast <= TARGET_S else 'MISSED'} ({fast:.2f} s).",
    ]
    print("\n".join(lines))
    if args.output != "-":
        with open(args.output, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
