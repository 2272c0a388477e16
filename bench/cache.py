"""Weights-cache integrity benchmark: the per-load check (xxh3 of every byte) against a
full sha256 of the same file, and a verified load against an unverified one.

    .venv/bin/python bench/cache.py              # ~100 MB safetensors file
    .venv/bin/python bench/cache.py --mb 500 --repeat 5

It writes a safetensors file of ``--mb`` MB (real float32 tensors) into a temporary
``ZOO_HOME``, places it in the cache with ``zoo.weights.add_file``, then times (median
of ``--repeat`` runs, file in the page cache for all):

- ``xxh3``: the per-load digest of every byte (``fast_fingerprint``: 16 MiB pieces,
  up to 4 threads);
- ``sha256``: every byte (what ``verify_full`` and a failed check do);
- ``open_state_dict``: map + xxh3 + header check + tensors on the map, against
  ``safetensors.torch.load_file`` (no check; lazily mapped), and against the same
  followed by reading every tensor (what the first forward pass does anyway).

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
    from safetensors.torch import load_file, save_file

    import zoo.weights as zw
    from zoo.weights._hashing import fast_fingerprint

    with tempfile.TemporaryDirectory(prefix="zoo-bench-cache-") as tmp:
        os.environ["ZOO_HOME"] = str(Path(tmp) / "home")
        src = Path(tmp) / "model.safetensors"
        n = args.mb * 1_000_000 // 4 // 8
        g = torch.Generator().manual_seed(0)
        save_file({f"layer{i}.weight": torch.randn(n, generator=g) for i in range(8)}, str(src))
        fetched = zw.add_file(src, expected_sha256=zw.sha256_file(src))
        src.unlink()
        size = fetched.path.stat().st_size

        def xxh3() -> None:
            assert fast_fingerprint(fetched.path) == fetched.check["xxh3"]

        def full() -> None:
            assert zw.sha256_file(fetched.path) == fetched.sha256

        def touch(state) -> None:
            for t in state.values():
                t.sum()

        full()  # warm the page cache for all
        t_xxh3 = _median_s(xxh3, args.repeat)
        t_full = _median_s(full, args.repeat)
        t_open = _median_s(lambda: zw.open_state_dict(fetched), args.repeat)
        t_lazy = _median_s(lambda: load_file(str(fetched.path)), args.repeat)
        t_open_read = _median_s(lambda: touch(zw.open_state_dict(fetched)), args.repeat)
        t_lazy_read = _median_s(lambda: touch(load_file(str(fetched.path))), args.repeat)

    print(
        f"file: {size / 1e6:.1f} MB safetensors (page cache warm), median of {args.repeat} runs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"xxh3 of every byte (per-load check):  {t_xxh3 * 1e3:8.1f} ms ({size / t_xxh3 / 1e9:.1f} GB/s)")
    print(
        f"sha256 of every byte (verify_full):   {t_full * 1e3:8.1f} ms ({size / t_full / 1e9:.2f} GB/s); "
        f"{t_full / t_xxh3:.0f}x the xxh3 check"
    )
    print(f"open_state_dict (checked):            {t_open * 1e3:8.1f} ms")
    print(f"safetensors load_file (no check):     {t_lazy * 1e3:8.1f} ms (maps lazily, reads nothing yet)")
    print(
        f"... then every tensor read: checked {t_open_read * 1e3:.1f} ms, unchecked {t_lazy_read * 1e3:.1f} ms "
        f"({t_open_read / t_lazy_read:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
