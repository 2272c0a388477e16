"""Team scale: one PostgreSQL registry of 100,000 weights, 16 concurrent clients.

    .venv/bin/python bench/team.py                                   # 100,000 weights, 16 clients
    .venv/bin/python bench/team.py --n 2000 --clients 4 --ops 50     # a quick check
    .venv/bin/python bench/team.py --markdown bench/results/team.md

A team shares one registry: many machines resolve names (``zoo.get``) while some
register new versions (``zoo.finetune(register_as=...)``) at the same time. This loads
``--n`` realistic records (the generator of ``bench/registry.py``: catalogue
checkpoints, team models with lineage, licences, datasets, notes) into a PostgreSQL
schema created for the run and dropped after it, then starts ``--clients`` processes,
each with its own ``Registry`` (its own connections), released together by a barrier.
Each client runs ``--ops`` operations: resolutions of random names (mixed ``arch``,
``arch.tag``, ``ns/name``, ``ns/name@version``, ``ns/name@alias``) and, every
``--register-every``-th operation, a registration of a new version of one of
``--shared`` model names that every client writes to (the worst case for version
allocation), each with a unique sha256 and an ``s3://`` source.

Measured: p50 / p99 latency of resolve and of register, and throughput, with 16
clients and with ONE client running the same per-client workload in the same run (the
obvious alternative: no concurrency), so the ratios show what sharing costs. Checked
after the run, from the registry's own rows: every registration a client was told
succeeded is there with the version it was told (0 lost), no version was handed out
twice and none is missing in 1..max (0 duplicated, 0 gaps), and no row exists that no
client registered.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import multiprocessing as mp
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

PG_BASE = os.environ.get("ZOO_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


# -- a client (its own process, its own Registry and connections) ---------------------------


def client(
    index: int, url: str, names: list[str], arch: str, parent: str, args: dict, barrier, queue, prefix: str
) -> None:
    try:
        from zoo.records import License, ParentLink, Source, Weights
        from zoo.registry import Registry

        reg = Registry(url, actor=f"client-{index}@bench", sync=False)
        rng = random.Random(args["seed"] * 1000 + index)
        reg.resolve(names[0])  # connect before the start line
        barrier.wait()
        resolves: list[float] = []
        registers: list[float] = []
        cpu: list[float] = []  # this process's own CPU time per resolve (the client side's share)
        acked: list[tuple[str, str]] = []  # (sha256, name@version) the registry confirmed
        started = time.perf_counter()
        for op in range(args["ops"]):
            if op % args["register_every"] == args["register_every"] - 1:
                sha = hashlib.sha256(f"{prefix}-{index}-{op}".encode()).hexdigest()
                record = Weights(
                    arch=arch,
                    name=f"{prefix}/shared-{rng.randrange(args['shared'])}",
                    sha256=sha,
                    size_bytes=1 << 24,
                    format="safetensors",
                    sources=(Source(f"s3://team-models/zoo/sha256/{sha[:2]}/{sha}.safetensors"),),
                    license=License("Apache-2.0", "allowed"),
                    parents=(ParentLink(parent, "finetune"),),
                    description=f"client {index}, operation {op}",
                )
                t0 = time.perf_counter()
                info = reg.register(record)
                registers.append(time.perf_counter() - t0)
                acked.append((sha, info.qualified_name))
            else:
                name = rng.choice(names)
                c0, t0 = time.process_time(), time.perf_counter()
                reg.resolve(name)
                resolves.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        wall = time.perf_counter() - started
        reg.close()
        queue.put((index, resolves, registers, acked, wall, None, cpu))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        queue.put((index, [], [], [], 0.0, f"{type(exc).__name__}: {exc}", []))


def run_clients(count: int, url: str, names, arch, parent, args, prefix: str, console: Console) -> dict:
    ctx = mp.get_context("spawn")  # a fresh interpreter per client: no inherited connections
    barrier = ctx.Barrier(count)
    queue = ctx.Queue()
    opts = {k: getattr(args, k) for k in ("ops", "register_every", "shared", "seed")}
    procs = [
        ctx.Process(target=client, args=(i, url, names, arch, parent, opts, barrier, queue, prefix))
        for i in range(count)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=args.timeout) for _ in procs]
    for p in procs:
        p.join(30)
    errors = [f"client {r[0]}: {r[5]}" for r in results if r[5]]
    if errors:
        raise SystemExit("clients failed:\n" + "\n".join(errors))
    resolves = [x for r in results for x in r[1]]
    registers = [x for r in results for x in r[2]]
    acked = [a for r in results for a in r[3]]
    wall = max(r[4] for r in results)
    cpu = [x for r in results for x in r[6]]
    console.log(f"{count} client(s): {len(resolves)} resolves, {len(registers)} registers in {wall:.1f} s")
    return {"resolves": resolves, "registers": registers, "acked": acked, "wall": wall, "clients": count, "cpu": cpu}


def check(url: str, prefix: str, acked: list[tuple[str, str]]) -> dict:
    """Lost, duplicated, gaps and phantoms, from the registry's own rows."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, version, sha256 FROM weights WHERE name LIKE :p"), {"p": f"{prefix}/%"}
        ).all()
    engine.dispose()
    by_sha = {sha: f"{name}@{version}" for name, version, sha in rows}
    told = [q for _, q in acked]
    lost = [sha for sha, q in acked if by_sha.get(sha) != q]
    duplicated = len(told) - len(set(told)) + (len(rows) - len({(n, v) for n, v, _ in rows}))
    phantoms = len(set(by_sha) - {sha for sha, _ in acked})
    gaps = 0
    versions: dict[str, list[int]] = {}
    for name, version, _ in rows:
        versions.setdefault(name, []).append(version)
    for vs in versions.values():
        gaps += max(vs) - len(set(vs))
    return {"rows": len(rows), "lost": len(lost), "duplicated": duplicated, "gaps": gaps, "phantoms": phantoms}


# -- the run ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="weights in the registry before the clients start")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--ops", type=int, default=120, help="operations per client")
    parser.add_argument("--register-every", type=int, default=10, help="every N-th operation registers")
    parser.add_argument("--shared", type=int, default=4, help="model names all clients register versions of")
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=20250106)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the clients")
    parser.add_argument("--markdown", type=Path, help="also write the results to this markdown file")
    args = parser.parse_args(argv)

    from registry import Clock, Generator, load, make_backend, post_load, resolution_names
    from sqlalchemy import text

    from zoo.registry import Registry

    console = Console(stderr=True)
    load_before = os.getloadavg()
    started = time.perf_counter()
    backend = make_backend("postgresql", Path("."))
    try:
        gen = Generator(args.n, args.seed)
        clock = Clock()
        reg = Registry(backend.url, actor="bench@zoo", clock=clock)
        insert_s, total, _ = load(reg, clock, gen, args.batch, console, "postgresql")
        extra = post_load(reg, clock, gen)
        with reg.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        loaded = reg.count()
        reg.close()
        names = [name for _, name in resolution_names(gen, extra["aliases"], 2_000, args.seed + 1)]
        parent = gen.catalogue[0].ref
        arch = gen.catalogue[0].arch
        console.log(f"loaded {loaded:,} weights in {insert_s:.0f} s; starting the clients")

        solo = run_clients(1, backend.url, names, arch, parent, args, "solo", console)
        team = run_clients(args.clients, backend.url, names, arch, parent, args, "team", console)
        checks = {"solo": check(backend.url, "solo", solo["acked"]), "team": check(backend.url, "team", team["acked"])}
    finally:
        backend.cleanup()
    wall_s = time.perf_counter() - started

    table = Table(title=f"zoo team registry: PostgreSQL, {loaded:,} weights, {args.clients} concurrent clients")
    for col in ("measurement", f"{args.clients} clients", "1 client", "ratio", "notes"):
        table.add_column(col, justify="right" if col not in ("measurement", "notes") else "left")

    def ms(v: float) -> str:
        return f"{v * 1000:.1f} ms"

    for op in ("resolves", "registers"):
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            a, b = pct(team[op], q), pct(solo[op], q)
            table.add_row(
                f"{op[:-1]} {label}", ms(a), ms(b), f"{a / b:.1f}x", f"{len(team[op]):,} / {len(solo[op]):,} ops"
            )
    a, b = pct(team["cpu"], 0.5), pct(solo["cpu"], 0.5)
    table.add_row(
        "  client CPU per resolve p50",
        ms(a),
        ms(b),
        f"{a / b:.1f}x",
        f"{args.clients} processes on {os.cpu_count()} cores",
    )
    t_ops = (len(team["resolves"]) + len(team["registers"])) / team["wall"]
    s_ops = (len(solo["resolves"]) + len(solo["registers"])) / solo["wall"]
    table.add_row("throughput (all ops)", f"{t_ops:,.0f}/s", f"{s_ops:,.0f}/s", f"{t_ops / s_ops:.1f}x", "")
    t_reg = len(team["registers"]) / team["wall"]
    s_reg = len(solo["registers"]) / solo["wall"]
    table.add_row(
        "registrations", f"{t_reg:,.1f}/s", f"{s_reg:,.1f}/s", f"{t_reg / s_reg:.1f}x", "serialised by the write lock"
    )
    for key in ("lost", "duplicated", "gaps", "phantoms"):
        t, s = checks["team"][key], checks["solo"][key]
        table.add_row(f"{key} versions", str(t), str(s), "", "must be 0" + (" — FAIL" if t or s else ""))
    table.add_row(
        "registered rows checked",
        f"{checks['team']['rows']:,}",
        f"{checks['solo']['rows']:,}",
        "",
        f"{args.shared} shared names",
    )

    out = Console(record=True, width=160)
    out.print(table)
    load_after = os.getloadavg()
    out.print(
        f"load {insert_s:.0f} s ({total / insert_s:,.0f} records/s); benchmark wall time {wall_s:.0f} s; "
        f"load average (1 min) {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end"
    )
    bad = any(checks[k][x] for k in checks for x in ("lost", "duplicated", "gaps", "phantoms"))
    if args.markdown:
        _write_markdown(args, out.export_text(), wall_s, (load_before[0], load_after[0]))
    return 1 if bad else 0


def _write_markdown(args, table_text: str, wall_s: float, loads: tuple[float, float]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_BASE)
    with engine.connect() as conn:
        pg_version = conn.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()
    lines = [
        "# Team registry benchmark (bench/team.py)",
        "",
        f"- date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}; PostgreSQL {pg_version} "
        "(local, 127.0.0.1), every client a process of its own with its own connections",
        f"- command: `.venv/bin/python bench/team.py --n {args.n} --clients {args.clients} --ops {args.ops} "
        f"--register-every {args.register_every} --shared {args.shared}`",
        f"- whole benchmark: {wall_s:.0f} s; load average (1 min) {loads[0]:.1f} at the start, {loads[1]:.1f} at the "
        "end (the machine is shared: other jobs ran during the benchmark)",
        "",
        "Each client resolves random names (mixed forms) and registers a new version of one of a few",
        "names that every client writes to, every N-th operation. The 1-client column runs the same",
        "per-client workload alone in the same run; the ratio is 16 clients / 1 client. Lost,",
        "duplicated, gaps and phantoms are counted after the run from the registry's own rows against",
        'what each client was told. "client CPU per resolve" is the resolving process\'s own CPU time',
        "(SQLAlchemy, record building): with more client processes than cores, a resolve's latency is",
        "mostly its wait for a core, not for the database. Registrations are serialised by the",
        "registry's write lock (one version allocation and audit event at a time), so their latency",
        "under contention is the queue of writers ahead.",
        "",
        "```",
        table_text.rstrip(),
        "```",
        "",
    ]
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
