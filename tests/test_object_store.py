"""A team registry across machines: one PostgreSQL registry, one S3 bucket (moto's real
S3 server on 127.0.0.1, IAM authentication on), two machines (two ZOO_HOME caches).

Machine A fine-tunes the real EfficientNet-Lite0 on digits and registers it with
``ZOO_STORE=s3://zoo-team/...``: the weights go up in 5 MiB parts, are verified, and only
then is the registry row written. Machine B, with credentials from ~/.aws files instead
of the environment, loads the model by name and gets the same tensors. A fault-injecting
proxy between zoo and the server answers 5xx and throttling, or cuts uploads half way;
the registry rows are checked after each fault: never a record without its object."""

from __future__ import annotations

import hashlib
import os
import uuid
from types import SimpleNamespace

import pytest

pytest.importorskip("zoo_fsspec")
pytest.importorskip("s3fs")
pytest.importorskip("moto")
pytest.importorskip("zoo_timm")
pytest.importorskip("sklearn")
torch = pytest.importorskip("torch")

from s3_helpers import BUCKET, REGION, FaultProxy, MotoServer, Rule, is_part_upload  # noqa: E402

import zoo  # noqa: E402
from zoo.errors import ZooFetchError, ZooStoreError  # noqa: E402
from zoo.finetuning.digits import digits  # noqa: E402

LITE0 = "tf_efficientnet_lite0.lite0_in1k_pypi"
PART = 5 * 1024 * 1024
PG_BASE = os.environ.get("ZOO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def s3():
    server = MotoServer.start()
    proxy = FaultProxy(server.port).start()
    yield SimpleNamespace(server=server, proxy=proxy, direct=server.client())
    proxy.stop()
    server.stop()


@pytest.fixture(scope="module")
def pg_url():
    if os.environ.get("ZOO_TEST_SKIP_PG") == "1":
        pytest.skip("ZOO_TEST_SKIP_PG=1")
    from sqlalchemy import create_engine, text

    schema = f"zoo_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        from zoo.registry._readonly import reader_role

        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f'DROP ROLE IF EXISTS "{reader_role(database, schema)}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def team(s3, pg_url, tmp_path_factory):
    """Machine A: its own ZOO_HOME, credentials in the environment; fine-tunes and
    registers team/lite0-digits into the shared registry and bucket."""
    from sqlalchemy import create_engine

    from zoo.plugins import default_host, ensure_synced

    home_a = tmp_path_factory.mktemp("machine-a")
    nowhere = tmp_path_factory.mktemp("no-aws") / "missing"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "ZOO_OFFLINE", "ZOO_STORE"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_CONFIG_FILE", str(nowhere))  # the user's ~/.aws never leaks in
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_ENDPOINT_URL", s3.proxy.url)
        mp.setenv("AWS_ACCESS_KEY_ID", s3.server.key_id)
        mp.setenv("AWS_SECRET_ACCESS_KEY", s3.server.secret)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_MAX_ATTEMPTS", "3")
        mp.setenv("ZOO_STORE_PART_SIZE", "5MiB")
        mp.setenv("ZOO_HOME", str(home_a))
        mp.setenv("ZOO_REGISTRY_URL", pg_url)
        mp.setenv("ZOO_STORE", f"s3://{BUCKET}/team")
        registry = zoo.Registry(pg_url, actor="alice@team")
        ensure_synced(registry, default_host())
        torch.manual_seed(0)
        model = zoo.get(LITE0, num_classes=10, registry=registry, device="cpu")
        train, val = digits(32, per_class=4, test_per_class=2, preprocessing=dict(model.zoo.preprocessing))
        s3.proxy.reset()
        result = zoo.finetune(
            model,
            train,
            val,
            recipe="linear-probe",
            epochs=2,
            register_as="team/lite0-digits",
            dataset="uci-digits",
            registry=registry,
            progress=False,
        )
        upload_log = list(s3.proxy.log)
        engine = create_engine(pg_url)
        yield SimpleNamespace(
            registry=registry,
            result=result,
            data=(train, val),
            upload_log=upload_log,
            home_a=home_a,
            engine=engine,
            url=pg_url,
            mp=mp,
            tmp=tmp_path_factory,
        )
        engine.dispose()
        registry.close()


@pytest.fixture
def env(team, s3):
    """Each test: a clean proxy, and its own environment changes undone afterwards."""
    s3.proxy.reset()
    with pytest.MonkeyPatch.context() as mp:
        yield mp
    s3.proxy.reset()


def rows(team, name: str) -> list[tuple[int, str]]:
    """The registry's own rows for ``name``: (version, source URI)."""
    from sqlalchemy import text

    with team.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT w.version, s.uri FROM weights w JOIN sources s ON s.weights_id = w.id "
                    "WHERE w.name = :n ORDER BY w.version"
                ),
                {"n": name},
            )
        ]


def objects(s3, prefix: str) -> dict[str, int]:
    page = s3.direct.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"]: o["Size"] for o in page.get("Contents", [])}


def pending(s3, prefix: str) -> list[dict]:
    return s3.direct.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])


def stored_sha256(s3, key: str) -> str:
    return hashlib.sha256(s3.direct.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()


def state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


# -- two machines ------------------------------------------------------------------------------


def test_machine_a_registers_into_s3_and_machine_b_loads_the_same_weights(team, s3, env, tmp_path):
    assert team.result.registered == "team/lite0-digits@1"
    [(version, uri)] = rows(team, "team/lite0-digits")
    w = team.registry.resolve("team/lite0-digits@1").weights
    key = uri.removeprefix(f"s3://{BUCKET}/")
    assert uri.startswith(f"s3://{BUCKET}/team/sha256/{w.sha256[:2]}/{w.sha256}")
    # The object is complete and content-addressed: its bytes hash to the pinned sha256.
    assert objects(s3, "team/") == {key: w.size_bytes} and stored_sha256(s3, key) == w.sha256
    assert pending(s3, "team/") == []
    # Sent in 5 MiB parts (multipart), once each.
    parts = sorted(int(s.query["partNumber"][0]) for s in team.upload_log if "partNumber" in s.query)
    assert w.size_bytes > 2 * PART and parts == list(range(1, -(-w.size_bytes // PART) + 1))

    # Machine B: another cache, the same registry; credentials and endpoint from ~/.aws files.
    home_b = tmp_path / "machine-b"
    config, creds = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text(f"[default]\nregion = {REGION}\nendpoint_url = {s3.proxy.url}\n")
    creds.write_text(f"[default]\naws_access_key_id = {s3.server.key_id}\naws_secret_access_key = {s3.server.secret}\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        env.delenv(name)
    env.setenv("AWS_CONFIG_FILE", str(config))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    env.setenv("ZOO_HOME", str(home_b))
    registry_b = zoo.Registry(team.url, actor="bob@team")
    try:
        model_b = zoo.get("team/lite0-digits", registry=registry_b, device="cpu")
    finally:
        registry_b.close()
    a, b = state(team.result.model), state(model_b)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # B's bytes came from the bucket, through the verify-then-cache pipeline, into B's cache.
    assert any(s.method == "GET" and s.path.endswith(key) for s in s3.proxy.log)
    from zoo.weights import WeightsCache

    assert WeightsCache(home_b / "weights").find(w.sha256) is not None
    x = team.data[1].tensors[0][:4]
    with torch.no_grad():
        assert torch.equal(model_b(x), team.result.model.eval()(x))


def test_zoo_compress_register_as_stores_the_child(team, s3, env):
    result = zoo.compress(
        "team/lite0-digits@1", "dynamic-int8", measure=False, register_as="team/lite0-int8", registry=team.registry
    )
    [(_, uri)] = rows(team, "team/lite0-int8")
    w = team.registry.resolve(result.registered).weights
    assert uri.startswith(f"s3://{BUCKET}/team/sha256/") and w.sha256 in uri
    assert stored_sha256(s3, uri.removeprefix(f"s3://{BUCKET}/")) == w.sha256


def test_the_registry_setting_names_the_store_when_zoo_store_is_unset(team, s3, env):
    env.delenv("ZOO_STORE")
    team.registry.set_audited_setting("store.default", f"s3://{BUCKET}/from-setting", actor="admin@team")
    try:
        name = team.result.register("team/from-setting")
    finally:
        team.registry.set_audited_setting("store.default", "", actor="admin@team")
    [(_, uri)] = rows(team, "team/from-setting")
    assert name == "team/from-setting@1" and uri.startswith(f"s3://{BUCKET}/from-setting/sha256/")


def test_the_same_bytes_are_not_uploaded_twice(team, s3, env):
    # The same weights under the same name are the same bytes: a new version, no upload.
    name = team.result.register("team/lite0-digits")
    assert name == "team/lite0-digits@2"
    assert not any("partNumber" in s.query or s.method in ("PUT", "POST") for s in s3.proxy.log)
    (_, first), (_, second) = rows(team, "team/lite0-digits")
    assert first == second


# -- faults ------------------------------------------------------------------------------------


def test_throttling_and_5xx_answers_are_retried(team, s3, env):
    env.setenv("ZOO_STORE", f"s3://{BUCKET}/retried")
    s3.proxy.rules += [
        Rule(is_part_upload(2), status=503, code="SlowDown", times=2),
        Rule(lambda m, p, q: m == "POST" and "uploads" in q, status=500, code="InternalError", times=1),
        Rule(lambda m, p, q: m == "GET" and "list-type" in q, status=503, code="ServiceUnavailable", times=1),
    ]
    assert team.result.register("team/retried") == "team/retried@1"
    statuses = [s.status for s in s3.proxy.log]
    assert statuses.count(503) == 3 and statuses.count(500) == 1
    [(_, uri)] = rows(team, "team/retried")
    w = team.registry.resolve("team/retried@1").weights
    assert stored_sha256(s3, uri.removeprefix(f"s3://{BUCKET}/")) == w.sha256


def test_a_store_that_keeps_failing_registers_nothing(team, s3, env):
    env.setenv("ZOO_STORE", f"s3://{BUCKET}/failing")
    s3.proxy.rules.append(Rule(is_part_upload(1), status=503, code="SlowDown", times=None))
    with pytest.raises(ZooStoreError) as err:
        team.result.register("team/failing")
    assert "kept failing (503 SlowDown) after 3 attempts" in err.value.message and "try again later" in err.value.hint
    assert sum(s.status == 503 for s in s3.proxy.log) == 3  # AWS_MAX_ATTEMPTS
    assert rows(team, "team/failing") == [] and not team.registry.exists("team/failing")
    assert objects(s3, "failing/") == {}


def test_an_upload_cut_half_way_leaves_no_object_and_resumes(team, s3, env):
    env.setenv("ZOO_STORE", f"s3://{BUCKET}/cut")
    s3.proxy.rules.append(Rule(is_part_upload(3), drop=True, times=None))
    seen = []
    train, val = team.data
    model = zoo.get(LITE0, num_classes=10, registry=team.registry, device="cpu")
    with pytest.raises(ZooStoreError) as err:
        zoo.finetune(
            model,
            train,
            val,
            recipe="linear-probe",
            epochs=1,
            register_as="team/cut",
            registry=team.registry,
            progress=seen.append,
        )
    assert "was cut" in err.value.message and "resumes" in err.value.hint
    # Nothing registered, no object under any final key; the upload waits, parts 1-2 in it.
    assert rows(team, "team/cut") == [] and objects(s3, "cut/") == {}
    [upload] = pending(s3, "cut/")
    done = s3.direct.list_parts(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    assert [p["PartNumber"] for p in done["Parts"]] == [1, 2]

    # The trained model travels on the error; registering again resumes after part 2.
    s3.proxy.reset()
    name = err.value.result.register("team/cut")
    assert name == "team/cut@1"
    sent = sorted(int(s.query["partNumber"][0]) for s in s3.proxy.log if "partNumber" in s.query)
    w = team.registry.resolve(name).weights
    assert sent == list(range(3, -(-w.size_bytes // PART) + 1))
    [(_, uri)] = rows(team, "team/cut")
    assert objects(s3, "cut/") == {upload["Key"]: w.size_bytes} and uri.endswith(upload["Key"])
    assert stored_sha256(s3, upload["Key"]) == w.sha256 and pending(s3, "cut/") == []


def test_a_missing_bucket_is_a_typed_error(team, s3, env):
    env.setenv("ZOO_STORE", "s3://zoo-no-such-bucket/x")
    with pytest.raises(ZooStoreError) as err:
        team.result.register("team/no-bucket")
    assert "bucket 'zoo-no-such-bucket' does not exist" in err.value.message
    assert "aws s3 mb s3://zoo-no-such-bucket" in err.value.hint
    assert rows(team, "team/no-bucket") == []


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret", "the secret key does not match"),
        ("AWS_ACCESS_KEY_ID", "AKIAZOOUNKNOWNKEY000", "refused the access key"),
    ],
)
def test_wrong_credentials_are_a_typed_error(team, s3, env, variable, value, says):
    env.setenv("ZOO_STORE", f"s3://{BUCKET}/creds")
    env.setenv(variable, value)
    with pytest.raises(ZooStoreError) as err:
        team.result.register("team/creds")
    assert says in err.value.message and "AWS_ACCESS_KEY_ID" in err.value.hint
    assert rows(team, "team/creds") == [] and objects(s3, "creds/") == {}


def test_fetching_with_wrong_credentials_says_what_to_do(team, s3, env, tmp_path):
    env.setenv("ZOO_HOME", str(tmp_path / "machine-c"))
    env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(ZooFetchError) as err:
        zoo.get("team/lite0-digits@1", registry=team.registry, device="cpu")
    assert "weight store for 's3'" in str(err.value) and "AWS_ACCESS_KEY_ID" in err.value.hint


# -- bad input, refused before any training --------------------------------------------------


@pytest.mark.parametrize(
    ("store", "says"),
    [
        ("foo://bucket/x", "unknown store protocol 'foo'"),
        ("gcs://bucket/x", "gcsfs"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://Bad_Bucket/x", "not an S3 bucket name"),
        ("file:///srv/zoo", "cannot be the default store"),
    ],
)
def test_bad_store_urls_are_refused_before_training(team, env, store, says):
    env.setenv("ZOO_STORE", store)
    epochs = []
    model = zoo.get(LITE0, num_classes=10, registry=team.registry, device="cpu")
    with pytest.raises(ZooStoreError) as err:
        zoo.finetune(
            model,
            team.data[0],
            recipe="linear-probe",
            register_as="team/never",
            registry=team.registry,
            progress=epochs.append,
        )
    assert says in str(err.value) and err.value.hint and epochs == []
    assert rows(team, "team/never") == []


def test_gcs_without_gcsfs_names_the_package(team, env):
    pytest.importorskip("fsspec")
    if __import__("importlib").util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed")
    env.setenv("ZOO_STORE", "gcs://team-bucket/zoo")
    with pytest.raises(ZooStoreError) as err:
        team.result.register("team/gcs")
    assert "gcsfs" in err.value.message and err.value.hint == "pip install gcsfs"


def test_a_registry_setting_naming_an_unusable_store_is_refused_before_training(team, env):
    pytest.importorskip("fsspec")
    if __import__("importlib").util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed")
    env.delenv("ZOO_STORE")
    # Written around `zoo store set`'s check, as by a machine that has gcsfs installed.
    team.registry.set_audited_setting("store.default", "gcs://team-bucket/zoo", actor="admin@team")
    epochs = []
    try:
        model = zoo.get(LITE0, num_classes=10, registry=team.registry, device="cpu")
        with pytest.raises(ZooStoreError) as err:  # no registry= : the default registry's setting
            zoo.finetune(model, team.data[0], recipe="linear-probe", register_as="team/never", progress=epochs.append)
    finally:
        team.registry.set_audited_setting("store.default", "", actor="admin@team")
    assert "gcsfs" in err.value.message and epochs == []


def test_an_object_with_the_right_size_but_wrong_bytes_is_replaced_not_trusted(team, s3, env):
    w = team.registry.resolve("team/lite0-digits@1").weights
    key = f"corrupt/sha256/{w.sha256[:2]}/{w.sha256}.safetensors"
    s3.direct.put_object(Bucket=BUCKET, Key=key, Body=b"\0" * w.size_bytes)  # e.g. a copy gone wrong
    env.setenv("ZOO_STORE", f"s3://{BUCKET}/corrupt")
    name = team.result.register("team/lite0-digits")
    [uri] = [u for v, u in rows(team, "team/lite0-digits") if f"@{v}" == name[name.index("@") :]]
    assert uri == f"s3://{BUCKET}/{key}" and stored_sha256(s3, key) == w.sha256
    assert any(s.method == "DELETE" for s in s3.proxy.log)
