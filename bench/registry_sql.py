"""registry.db.sql benchmark: loading the complete registry, and the cost of what it
carries now.

    .venv/bin/python bench/registry_sql.py                 # prints a table, writes bench/results/registry_sql.md
    .venv/bin/python bench/registry_sql.py --pg postgresql://postgres@127.0.0.1/test

Measured in this run, on this machine:

- ``sqlite3 CLI``: ``sqlite3 new.db < registry.db.sql`` (the file is one transaction);
- ``autocommit``: the obvious alternative, the same statements each in its own
  transaction (what the file did before it had BEGIN/COMMIT), on the first
  ``--sample`` statements, extrapolated to the whole file;
- ``psql``: ``psql -f registry.db.sql`` into a fresh PostgreSQL schema (with ``--pg``);
- ``open``: zoo opening the loaded file for the first time (adds the triggers) and
  ``zoo audit verify``-ing its chain.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUMP = ROOT / "registry.db.sql"


def _statements(text: str) -> list[str]:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [s.strip() for s in re.split(r";\n", body) if s.strip() and s.strip() not in ("BEGIN", "COMMIT")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=1500, help="statements timed in autocommit mode")
    parser.add_argument("--pg", help="PostgreSQL URL (a schema is created and dropped)")
    args = parser.parse_args()
    text = DUMP.read_text(encoding="utf-8")
    statements = _statements(text)
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loaded.db"
        start = time.perf_counter()
        subprocess.run(["sqlite3", str(path)], input=text.encode(), check=True)
        one_tx = time.perf_counter() - start
        rows.append(("sqlite3 CLI, one transaction", f"{one_tx:.2f} s", "1.0x"))

        auto = Path(tmp) / "autocommit.db"
        conn = sqlite3.connect(auto, isolation_level=None)
        sample = statements[: args.sample]
        start = time.perf_counter()
        for statement in sample:
            conn.execute(statement)
        per = (time.perf_counter() - start) / len(sample)
        conn.close()
        estimate = per * len(statements)
        rows.append(
            (
                f"autocommit per statement (first {len(sample)} of {len(statements)}, extrapolated)",
                f"{estimate:.1f} s",
                f"{estimate / one_tx:.0f}x slower",
            )
        )

        from zoo.registry import Registry

        start = time.perf_counter()
        with Registry(f"sqlite:///{path}") as registry:
            opened = time.perf_counter() - start
            start = time.perf_counter()
            verified = registry.verify_audit()
            verify = time.perf_counter() - start
        rows.append(("zoo opens it (adds the append-only triggers)", f"{opened:.2f} s", ""))
        rows.append((f"zoo audit verify ({verified.events} events, ok={verified.ok})", f"{verify:.2f} s", ""))

    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        base = ["psql", args.pg, "-q", "-v", "ON_ERROR_STOP=1"]
        subprocess.run(base + ["-c", f'CREATE SCHEMA "{schema}"'], check=True)
        try:
            start = time.perf_counter()
            subprocess.run(
                base + ["-f", str(DUMP)],
                check=True,
                env={"PGOPTIONS": f"-c search_path={schema}", "PATH": "/usr/bin:/bin:/usr/local/bin"},
            )
            rows.append(("psql -f, one transaction", f"{time.perf_counter() - start:.2f} s", ""))
        finally:
            subprocess.run(
                base + ["-c", f'SET client_min_messages = warning; DROP SCHEMA "{schema}" CASCADE'], check=True
            )

    width = max(len(r[0]) for r in rows)
    lines = [
        f"registry.db.sql: {DUMP.stat().st_size:,} bytes, {len(statements):,} statements",
        "",
        f"| {'what'.ljust(width)} | time | vs one transaction |",
        f"|{'-' * (width + 2)}|---|---|",
    ]
    lines += [f"| {a.ljust(width)} | {b} | {c} |" for a, b, c in rows]
    output = "\n".join(lines)
    print(output)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "registry_sql.md").write_text(output + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
