"""Audit-trail benchmark: what the keyed chain (HMAC-SHA256 per event, schema 0003)
costs against the plain sha256 chain it replaces, for writing and for `zoo audit
verify`, measured in the same run.

    .venv/bin/python bench/audit.py                 # 2,000 writes of one event, verify of 50,000 events
    .venv/bin/python bench/audit.py --events 200000 --writes 5000

- ``chain``: :func:`zoo.registry._chain.check_chain` over ``--events`` synthetic events
  (realistic field sizes), keyed vs unkeyed (the work of ``verify`` minus the reads);
- ``write``: ``--writes`` audited writes (``Registry.set_audited_setting``, one event
  each) on an SQLite file, with the audit key vs. the per-event cost of the old sha256
  (estimated from the chain numbers: the write path is otherwise unchanged).

Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _events(n: int, key: bytes | None) -> list[tuple]:
    from zoo.registry._chain import GENESIS, event_hash
    from zoo.registry._keys import key_id

    kid = key_id(key) if key else None
    after = (
        '{"version":1,"arch":"resnet50","tag":"tv_in1k","license":{"spdx":"BSD-3-Clause"},' + '"x":1,' * 60 + '"z":0}'
    )
    rows, prev = [], GENESIS
    at = dt.datetime(2026, 1, 1)
    for seq in range(1, n + 1):
        fields = (
            prev,
            at,
            "alice@laptop",
            "weights.register",
            "weights",
            f"team/model-{seq}",
            None,
            after,
            "torchvision",
            "0.1.0",
        )
        digest = event_hash(*fields, seq=seq, key=key) if key else event_hash(*fields)
        rows.append((seq, at, *fields[2:], prev, digest, kid))
        prev = digest
    return rows


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--writes", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from zoo.registry._chain import check_chain
    from zoo.registry._keys import AuditKeyring

    key = secrets.token_bytes(32)
    keyring = AuditKeyring((key,), "bench")
    keyed, plain = _events(args.events, key), _events(args.events, None)
    t_keyed = _median_s(lambda: check_chain(iter(keyed), keyed[-1][-2], keyring), args.repeat)
    # (an all-unkeyed trail is reported as rewritten, rule 3; the hashing work is the same)
    t_plain = _median_s(lambda: check_chain(iter(plain), plain[-1][-2], None), args.repeat)
    print(
        f"verify chain, {args.events:,} events: keyed (HMAC) {t_keyed * 1e3:.0f} ms, unkeyed (sha256) "
        f"{t_plain * 1e3:.0f} ms, ratio {t_keyed / t_plain:.2f}x; "
        f"{args.events / t_keyed:,.0f} events/s keyed"
    )

    with tempfile.TemporaryDirectory() as home:
        os.environ["ZOO_HOME"] = home
        os.environ.pop("ZOO_AUDIT_KEY", None)
        os.environ.pop("ZOO_AUDIT_KEY_FILE", None)
        from zoo.registry import Registry

        with Registry(f"sqlite:///{home}/registry.db", actor="bench@zoo", plugin_observers=False) as reg:
            reg.set_audited_setting("warm", "up")
            t = time.perf_counter()
            for i in range(args.writes):
                reg.set_audited_setting(f"bench.{i % 50}", str(i))
            per_write = (time.perf_counter() - t) / args.writes
            assert reg.verify_audit().ok
    hmac_extra = (t_keyed - t_plain) / args.events
    print(
        f"audited write (one event, SQLite file, key file read each write): {per_write * 1e3:.2f} ms; "
        f"HMAC instead of sha256 adds {hmac_extra * 1e6:.1f} us per event "
        f"({100 * hmac_extra / per_write:.2f}% of a write)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
