"""zoo-fsspec without a server: the records, the store-URL checks, and the generic
fsspec path (temporary key, verify, move) on fsspec's in-memory filesystem. The S3 path
is tested against moto's real S3 server in tests/test_object_store.py."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

pytest.importorskip("fsspec")

from zoo.errors import ZooStoreError
from zoo.weights._publish import split_store_url
from zoo_fsspec import store
from zoo_fsspec.plugin import zoo_weight_stores


@pytest.fixture
def memory(monkeypatch):
    import fsspec

    monkeypatch.setenv("ZOO_FSSPEC_PROTOCOLS", "memory")
    fs = fsspec.filesystem("memory")
    if fs.exists("/team"):  # fsspec's memory filesystem lives as long as the process
        fs.rm("/team", recursive=True)
    fs.makedirs("/team", exist_ok=True)
    yield fs
    if fs.exists("/team"):
        fs.rm("/team", recursive=True)


def test_the_hook_declares_receiving_stores_without_importing_fsspec():
    code = (
        "import sys, json; from zoo_fsspec.plugin import zoo_weight_stores as h; s = h(); "
        "print(json.dumps([[x.scheme, x.uploader] for x in s] + [['fsspec' in sys.modules, 's3fs' in sys.modules]]))"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    *stores, (fsspec_loaded, s3fs_loaded) = out
    assert not fsspec_loaded and not s3fs_loaded
    assert {"s3", "gs", "az"} <= {s for s, _ in stores}
    assert {u for _, u in stores} == {"zoo_fsspec.store:open_uploader"}


def test_extra_protocols_come_from_the_environment_but_never_builtin_ones(monkeypatch):
    monkeypatch.setenv("ZOO_FSSPEC_PROTOCOLS", "memory, file, https, hf")
    schemes = {s.scheme for s in zoo_weight_stores()}
    assert "memory" in schemes and not schemes & {"file", "https", "hf"}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        ("bucket/prefix", "not a store URL"),
        ("s3://", "names no bucket"),
        ("s3:///x", "names no bucket"),
        ("s3://b/x?versionId=1", "not a store URL"),
        ("s3://bucket/a/../b", "'..'"),
        ("https://example.com/x", "cannot be the default store"),
    ],
)
def test_bad_store_urls(url, says):
    with pytest.raises(ZooStoreError) as err:
        split_store_url(url)
    assert says in err.value.message and err.value.hint


def test_store_url_parts():
    assert split_store_url("S3://team-models/zoo/prod/") == ("s3", "team-models", "zoo/prod")
    assert split_store_url("gs://b") == ("gs", "b", "")


@pytest.mark.parametrize(
    ("url", "says"),
    [("s3://Bad_Bucket/x", "not an S3 bucket name"), ("s3://ab/x", "not an S3 bucket name")],
)
def test_s3_bucket_names_are_checked_before_any_request(url, says):
    pytest.importorskip("s3fs")
    with pytest.raises(ZooStoreError) as err:
        store.open_uploader(url)
    assert says in err.value.message


def test_a_protocol_whose_library_is_missing_names_the_package():
    import importlib.util

    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed")
    with pytest.raises(ZooStoreError) as err:
        store.open_uploader("gs://bucket/zoo")
    assert "needs the package gcsfs" in err.value.message and err.value.hint == "pip install gcsfs"
    with pytest.raises(ZooStoreError) as err:
        store.fetch("gs://bucket/zoo/x.safetensors", "/nonexistent")
    assert "gcsfs" in err.value.message


@pytest.mark.parametrize(
    ("raw", "size"), [("", store.DEFAULT_PART), ("5MiB", 5 << 20), ("64 mb", 64 << 20), ("1g", 1 << 30)]
)
def test_part_size(monkeypatch, raw, size):
    monkeypatch.setenv(store.PART_SIZE_ENV, raw)
    assert store.part_size() == size


@pytest.mark.parametrize("raw", ["4MiB", "lots", "-5MiB"])
def test_bad_part_size(monkeypatch, raw):
    monkeypatch.setenv(store.PART_SIZE_ENV, raw)
    with pytest.raises(ZooStoreError):
        store.part_size()


def test_generic_fsspec_upload_is_content_addressed_verified_and_fetchable(memory, tmp_path):
    data = bytes(range(256)) * 4096 + b"tail"
    sha = hashlib.sha256(data).hexdigest()
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    seen = []
    uploader = store.open_uploader("memory://team/zoo")
    uri = uploader.put(path, sha256=sha, size=len(data), progress=lambda d, t: seen.append((d, t)))
    assert uri == f"memory://team/zoo/sha256/{sha[:2]}/{sha}.safetensors"
    assert memory.cat_file(f"/team/zoo/sha256/{sha[:2]}/{sha}.safetensors") == data
    assert seen[-1] == (len(data), len(data))
    assert [p for p in memory.find("/team") if ".part-" in p] == []  # the temporary key is gone

    out = tmp_path / "back"
    store.fetch(uri, out)
    assert out.read_bytes() == data


def test_generic_upload_replaces_a_wrong_object_under_the_final_key(memory, tmp_path):
    data = b"the real weights" * 1000
    sha = hashlib.sha256(data).hexdigest()
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    final = f"/team/zoo/sha256/{sha[:2]}/{sha}.safetensors"
    memory.pipe_file(final, b"half of it")  # e.g. a tool that copied it and died
    uri = store.open_uploader("memory://team/zoo").put(path, sha256=sha, size=len(data))
    assert memory.cat_file(final) == data and uri.endswith(final)


def test_generic_upload_refuses_a_file_that_is_not_what_it_claims(memory, tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"abc")
    with pytest.raises(ZooStoreError) as err:
        store.open_uploader("memory://team/zoo").put(path, sha256="0" * 64, size=3)
    assert "sha256" in err.value.message
    assert memory.find("/team/zoo") == []  # nothing under the final key, no temporary left


def test_fetching_a_missing_object_is_a_store_error(memory, tmp_path):
    with pytest.raises(ZooStoreError) as err:
        store.fetch("memory://team/zoo/sha256/00/nothing.safetensors", tmp_path / "x")
    assert "not in the store" in err.value.message


def test_zoo_store_cli_sets_shows_and_unsets_the_registry_default(tmp_path, monkeypatch, capsys):
    from zoo.cli import main
    from zoo.registry import Registry

    pytest.importorskip("s3fs")
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    monkeypatch.setenv("ZOO_REGISTRY_URL", url)
    monkeypatch.setenv("ZOO_ACTOR", "admin@team")
    monkeypatch.delenv("ZOO_STORE", raising=False)
    assert main(["store", "set", "s3://Bad_Bucket/x"]) != 0  # checked before it is written
    assert "not an S3 bucket name" in capsys.readouterr().err
    assert main(["store", "set", "s3://team-models/zoo"]) == 0
    capsys.readouterr()
    assert main(["store", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["store"] == "s3://team-models/zoo" and shown["origin"] == "registry setting store.default"
    assert shown["plugin"] == "fsspec" and "s3" in shown["receiving_schemes"]
    monkeypatch.setenv("ZOO_STORE", "gs://other/zoo")  # the environment wins in its process
    assert main(["store", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["origin"] == "ZOO_STORE"
    monkeypatch.delenv("ZOO_STORE")
    assert main(["store", "unset"]) == 0
    capsys.readouterr()
    assert main(["store", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["store"] is None
    registry = Registry(url)
    try:
        events = [e for e in registry.history("store.default") if e.action == "setting.set"]
    finally:
        registry.close()
    assert [e.after["value"] for e in events] == ["s3://team-models/zoo", ""] and events[0].actor == "admin@team"
