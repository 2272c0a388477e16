"""Weights-cache integrity benchmark: the fast check run on every load against a full
sha256 of the same file.

    .venv/bin/python bench/cache.py              # ~100 MB safetensors file
    .venv/bin/python bench/cache.py --mb 500 --repeat 5

It writes a safetensors file of ``--mb`` MB (real float32 tensors) into a temporary
``ZOO_HOME``, places it in the cache with ``zoo.weights.add_file``, then times (median
of ``--repeat`` runs, file in the page cache for both):

- ``fast``: what ``open_state_dict`` does before loading — stat (size, mtime_ns) plus
  blake2b over the safetensors header and 16 chunks of 64 KiB spread across the file;
- ``full``: ``sha256`` of every byte (what ``verify_full`` and a failed fast check do).

Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the checkpoint in MB (default 100)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement (median)")
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import save_file

    import zoo.weights as zw
    from zoo.weights._hashing import fast_check

    with tempfile.TemporaryDirectory(prefix="zoo-bench-cache-") as tmp:
        os.environ["ZOO_HOME"] = str(Path(tmp) / "home")
        src = Path(tmp) / "model.safetensors"
        n = args.mb * 1_000_000 // 4 // 8
        g = torch.Generator().manual_seed(0)
        save_file({f"layer{i}.weight": torch.randn(n, generator=g) for i in range(8)}, str(src))
        fetched = zw.add_file(src, expected_sha256=zw.sha256_file(src))
        src.unlink()
        size = fetched.path.stat().st_size

        def fast() -> None:
            assert fast_check(fetched.path, fetched.check) is None

        def full() -> None:
            assert zw.sha256_file(fetched.path) == fetched.sha256

        full()  # warm the page cache for both
        t_fast = _median_s(fast, args.repeat)
        t_full = _median_s(full, args.repeat)
        t_open = _median_s(lambda: zw.checked_path(fetched), args.repeat)

    print(f"file: {size / 1e6:.1f} MB safetensors (page cache warm), median of {args.repeat} runs")
    print(f"fast check (size + mtime + sampled blake2b): {t_fast * 1e3:8.3f} ms")
    print(f"checked_path(fetched) (fast check, API):      {t_open * 1e3:8.3f} ms")
    print(f"full sha256:                                  {t_full * 1e3:8.3f} ms  "
          f"({size / t_full / 1e9:.2f} GB/s)")
    print(f"ratio full / fast: {t_full / t_fast:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
