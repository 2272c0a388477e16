"""Damaged files in the weights cache: malformed safetensors with a correct pin, in-place
edits that keep size and mtime, damaged sidecars, verify_full on every kind of entry, the
bounded quarantine and `zoo cache ls | verify | prune`. Real files, real torch tensors."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import save_file  # noqa: E402

import zoo.weights as zw  # noqa: E402
from zoo.errors import ZooFormatError, ZooIntegrityError  # noqa: E402
from zoo.weights._hashing import stat_record  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    return zw.WeightsCache()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_file(header: dict | bytes, data: bytes, length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


F32x4 = bytes(range(16))
ONE = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
MALFORMED = {  # name -> (bytes of the file, a phrase the error must contain)
    "offsets-not-shape": (raw_file({"a": {**ONE, "shape": [3]}}, F32x4), "needs 12 bytes"),
    "overlap": (
        raw_file(
            {"a": {**ONE, "shape": [3], "data_offsets": [0, 12]}, "b": {**ONE, "shape": [2], "data_offsets": [8, 16]}},
            F32x4,
        ),
        "overlaps",
    ),
    "gap": (
        raw_file(
            {"a": {**ONE, "shape": [1], "data_offsets": [0, 4]}, "b": {**ONE, "shape": [2], "data_offsets": [8, 16]}},
            F32x4,
        ),
        "gap of 4",
    ),
    "unknown-dtype": (raw_file({"a": {**ONE, "dtype": "F7"}}, F32x4), "unknown dtype"),
    "negative-shape": (raw_file({"a": {**ONE, "shape": [-2, -2]}}, F32x4), "shape"),
    "overflowing-shape": (raw_file({"a": {**ONE, "shape": [2**32, 2**32 + 1]}}, F32x4), "shape"),
    "huge-shape-product": (raw_file({"a": {**ONE, "shape": [2**62, 2**62]}}, F32x4), "needs"),
    "metadata-not-strings": (raw_file({"__metadata__": {"epoch": 3}, "a": ONE}, F32x4), "__metadata__"),
    "metadata-not-object": (raw_file({"__metadata__": ["x"], "a": ONE}, F32x4), "__metadata__"),
    "header-past-end": (raw_file({"a": ONE}, F32x4, length=10_000), "past the end"),
    "bad-json": (raw_file(b'{"a": {"dtype": "F32", ', F32x4), "not JSON"),
    "not-utf8": (raw_file(b'{"\xff": 1}', F32x4), "not UTF-8"),
    "not-an-object": (raw_file(b"[1, 2, 3, 4]", F32x4), "not a safetensors file"),
    "duplicate-key": (
        raw_file(b'{"a": ' + json.dumps(ONE).encode() + b', "a": ' + json.dumps(ONE).encode() + b"}", F32x4),
        "twice",
    ),
    "offsets-past-data": (raw_file({"a": {**ONE, "data_offsets": [0, 32], "shape": [8]}}, F32x4), "outside"),
    "missing-key": (raw_file({"a": {"dtype": "F32", "shape": [4]}}, F32x4), "exactly the keys"),
    "extra-key": (raw_file({"a": {**ONE, "extra": 1}}, F32x4), "exactly the keys"),
    "trailing-bytes": (raw_file({"a": ONE}, F32x4 + b"\0" * 8), "trailing"),
    "float-offsets": (raw_file({"a": {**ONE, "data_offsets": [0.0, 16.0]}}, F32x4), "data_offsets"),
    "bool-shape": (raw_file({"a": {**ONE, "shape": [True, 4]}}, F32x4), "shape"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_safetensors_with_a_correct_pin_is_refused_and_quarantined(tmp_path, cache, kind):
    data, phrase = MALFORMED[kind]
    path = tmp_path / f"{kind}.safetensors"
    path.write_bytes(data)
    with pytest.raises(ZooFormatError) as err:
        zw.fetch(path, sha256=sha(data), progress=False)
    assert path.name in str(err.value) and phrase in str(err.value)
    assert err.value.quarantined and Path(err.value.quarantined[0]).read_bytes() == data
    assert not list((cache.root / "sha256").rglob("*.*"))  # nothing trusted, no sidecar
    with pytest.raises(ZooFormatError):  # and again on the next try: never trusted
        zw.fetch(path, sha256=sha(data), progress=False)


def plant(cache: zw.WeightsCache, data: bytes) -> zw.FetchedFile:
    """A malformed file that an older zoo trusted: in the cache with a valid sidecar."""
    key = sha(data)
    directory = cache.directory(key)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{key}.safetensors"
    final.write_bytes(data)
    side = {
        "version": 1,
        "sha256": key,
        "size": len(data),
        "format": "safetensors",
        "original": final.name,
        "source": None,
        "fetched_at": "2026-01-01T00:00:00+00:00",
        "safetensors": {
            "file": final.name,
            "sha256": key,
            "size": len(data),
            "converted": False,
            "fast": stat_record(final),
        },
    }
    cache.sidecar_path(key).write_text(json.dumps(side))
    return cache._fetched(side)


@pytest.mark.parametrize(
    "kind", ["offsets-not-shape", "overlap", "unknown-dtype", "metadata-not-strings", "negative-shape", "gap"]
)
@pytest.mark.parametrize("verify", ["fast", "none", "full"])
def test_malformed_file_already_in_the_cache_is_quarantined_on_load(cache, kind, verify):
    data, phrase = MALFORMED[kind]
    fetched = plant(cache, data)
    with pytest.raises((ZooFormatError, ZooIntegrityError)) as err:
        zw.open_state_dict(fetched, verify=verify)
    assert phrase in str(err.value) and err.value.quarantined
    assert not fetched.path.exists() and cache.find(fetched.sha256) is None


def make_checkpoint(path: Path, n: int = 4096) -> tuple[bytes, dict]:
    g = torch.Generator().manual_seed(0)
    tensors = {
        "a.weight": torch.randn(n, 64, generator=g),
        "b.bias": torch.randn(n, generator=g),
        "c.count": torch.arange(10, dtype=torch.int64),
    }
    save_file(tensors, str(path))
    return path.read_bytes(), tensors


def test_every_in_place_edit_that_keeps_size_and_mtime_is_detected(tmp_path, cache):
    data, tensors = make_checkpoint(tmp_path / "w.safetensors")
    header = 8 + int.from_bytes(data[:8], "little")
    offsets = (
        [9, header - 2, header] + [header + (len(data) - header) * k // 9 + 777 for k in range(9)] + [len(data) - 1]
    )
    detected = 0
    for i, offset in enumerate(offsets):
        for width in (1, 4096):
            fetched = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
            st = os.stat(fetched.path)
            start = min(offset, len(data) - width)
            with open(fetched.path, "r+b") as f:
                f.seek(start)
                old = f.read(width)
                f.seek(start)
                f.write(bytes(b ^ (1 << (i % 8)) for b in old))
            os.utime(fetched.path, ns=(st.st_atime_ns, st.st_mtime_ns))
            try:
                zw.open_state_dict(fetched)
            except (ZooIntegrityError, ZooFormatError):
                detected += 1
    assert detected == 2 * len(offsets)
    good = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    loaded = zw.open_state_dict(good)
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)


def test_loaded_tensors_are_private_copies_on_write(tmp_path, cache):
    data, tensors = make_checkpoint(tmp_path / "w.safetensors", n=64)
    fetched = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    state = zw.open_state_dict(fetched)
    state["a.weight"].add_(1.0)  # fine-tuning in place never writes into the cache
    assert fetched.path.read_bytes() == data
    assert torch.equal(zw.open_state_dict(fetched)["a.weight"], tensors["a.weight"])


# -- sidecars -----------------------------------------------------------------------------------

SIDECAR_DAMAGE = {
    "missing-size": lambda d: d.pop("size"),
    "missing-safetensors-record": lambda d: d["safetensors"].pop("fast"),
    "size-as-string": lambda d: d.__setitem__("size", "12"),
    "converted-as-int": lambda d: d["safetensors"].__setitem__("converted", 0),
    "file-escapes": lambda d: d["safetensors"].__setitem__("file", "../../../etc/passwd"),
    "wrong-sha256": lambda d: d.__setitem__("sha256", "0" * 64),
    "fast-not-dict": lambda d: d["safetensors"].__setitem__("fast", [1, 2]),
    "missing-digest": lambda d: d["safetensors"]["fast"].pop("xxh3"),
    "list": lambda d: d.clear(),
}


@pytest.mark.parametrize("kind", sorted(SIDECAR_DAMAGE) + ["not-json", "empty"])
def test_damaged_sidecar_is_a_cache_miss(tmp_path, cache, kind):
    data, tensors = make_checkpoint(tmp_path / "w.safetensors", n=64)
    fetched = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    sidecar = cache.sidecar_path(fetched.sha256)
    if kind == "not-json":
        sidecar.write_text('{"version": 1, "sha2')
    elif kind == "empty":
        sidecar.write_text("")
    else:
        side = json.loads(sidecar.read_text())
        SIDECAR_DAMAGE[kind](side)
        sidecar.write_text(json.dumps(side))
    assert cache.find(fetched.sha256) is None
    assert [e.sha256 for e in cache.entries()] == []
    again = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)  # re-fetched, rewritten
    assert all(torch.equal(zw.open_state_dict(again)[k], tensors[k]) for k in tensors)
    assert cache.find(fetched.sha256) is not None
    with pytest.raises(ZooIntegrityError, match="not in the cache"):
        sidecar.write_text("[]")
        zw.verify_full(fetched.sha256)


# -- verify_full: the same for every kind of entry -------------------------------------------------


@pytest.mark.parametrize("kind", ["safetensors", "converted-pickle"])
def test_verify_full_quarantines_and_raises_for_every_kind(tmp_path, cache, kind):
    g = torch.Generator().manual_seed(1)
    sd = {"w": torch.randn(300, 300, generator=g)}
    path = tmp_path / ("w.safetensors" if kind == "safetensors" else "w.pth")
    if kind == "safetensors":
        save_file(sd, str(path))
    else:
        torch.save(sd, path)
    fetched = zw.fetch(path, sha256=zw.sha256_file(path), progress=False)
    assert zw.verify_full(fetched).path == fetched.path
    st = os.stat(fetched.path)
    with open(fetched.path, "r+b") as f:
        f.seek(st.st_size // 2)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ZooIntegrityError) as err:
        zw.verify_full(fetched)
    assert err.value.quarantined and not fetched.path.exists()
    assert len(cache.quarantined()) == 1
    # The next load repairs: from the intact pickle, or by fetching again.
    again = zw.fetch(path, sha256=fetched.sha256, progress=False)
    assert torch.equal(zw.open_state_dict(again)["w"], sd["w"])
    assert zw.verify_full(again).path == again.path


# -- the quarantine is bounded ------------------------------------------------------------------


def test_quarantine_is_bounded_oldest_evicted(tmp_path, monkeypatch):
    monkeypatch.setattr("zoo.weights._cache.QUARANTINE_MAX_FILES", 3)
    cache = zw.WeightsCache(tmp_path / "weights")
    names = []
    for i in range(6):
        p = tmp_path / f"bad{i}.bin"
        p.write_bytes(b"x" * 1000)
        os.utime(p, ns=(i * 10**9 + 10**12, i * 10**9 + 10**12))  # keeps its mtime in the quarantine
        names.append(cache.quarantine(p, "test").name)
    kept = [p.name for p, _, _ in cache.quarantined()]
    assert kept == names[-3:]
    assert len(list(cache.quarantine_dir.glob("*.note.json"))) == 3
    big = tmp_path / "big.bin"
    big.write_bytes(b"y" * 5000)
    monkeypatch.setattr("zoo.weights._cache.QUARANTINE_MAX_BYTES", 4000)
    kept_big = cache.quarantine(big, "test")  # over the byte bound alone: the newest arrival stays
    assert [p for p, _, _ in cache.quarantined()] == [kept_big]
    assert len(cache.trim_quarantine(max_bytes=0)) == 1 and cache.quarantined() == []


# -- zoo cache ls | verify | prune -----------------------------------------------------------------


def run_cli(capsys, *argv: str) -> tuple[int, dict]:
    from zoo.cli import main

    rc = main(["cache", *argv, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_cli_cache_ls_verify_prune(tmp_path, cache, capsys):
    good, _ = make_checkpoint(tmp_path / "good.safetensors", n=64)
    bad, _ = make_checkpoint(tmp_path / "bad.safetensors", n=65)
    kept = zw.fetch(tmp_path / "good.safetensors", sha256=sha(good), progress=False)
    hurt = zw.fetch(tmp_path / "bad.safetensors", sha256=sha(bad), progress=False)
    gone = cache.sidecar_path(hurt.sha256)
    torn = json.loads(gone.read_text())
    del torn["safetensors"]["sha256"]
    gone.write_text(json.dumps(torn))  # damaged metadata: a cache miss
    partial = cache.part_path("ab" * 32)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half a download")
    rc, out = run_cli(capsys, "ls")
    states = {r["sha256"]: r["state"] for r in out["entries"]}
    assert rc == 0 and states == {kept.sha256: "ok", hurt.sha256: "damaged", "ab" * 32: "partial"}

    with open(kept.path, "r+b") as f:  # damage the good one in place, mtime restored
        st = os.stat(kept.path)
        f.seek(st.st_size - 3)
        f.write(b"\xff\xff\xff")
    os.utime(kept.path, ns=(st.st_atime_ns, st.st_mtime_ns))
    rc, out = run_cli(capsys, "verify")
    assert rc == 1 and [(r["sha256"], r["state"]) for r in out["entries"]] == [(kept.sha256, "failed")]
    assert out["entries"][0]["quarantined"]

    rc, out = run_cli(capsys, "prune", "--dry-run")
    assert rc == 0 and {r["state"] for r in out["entries"]} == {"damaged", "partial", "quarantined"}
    assert partial.exists() and cache.quarantined()
    rc, out = run_cli(capsys, "prune")
    assert len(out["entries"]) == 3 and not partial.exists() and cache.quarantined() == []
    assert not list((cache.root / "sha256").rglob("*.*"))
    rc, out = run_cli(capsys, "ls")
    assert out["entries"] == []
    from zoo.cli import main

    assert main(["cache", "ls"]) == 0 and "0 entries" in capsys.readouterr().out
