"""One set of limits on both backends: hostile names and records through the records
layer, ``register`` and ``resolve`` on SQLite and PostgreSQL. Only ZooErrors escape, and
a refused input writes nothing (row counts and audit trail unchanged). Property-based
(hypothesis), with modest example counts, plus the cases the issue names."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from zoo import limits
from zoo.errors import ZooError, ZooNotFoundError, ZooValidationError
from zoo.records import CardSection, DatasetUse, Family, License, Metric, ParentLink, Source, Weights

HOSTILE_TEXT = [
    "",
    " ",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "²",
    "⑦",
    "٣",
    "a" * 201,
    "a" * 65,
    "résnet",
    "RESNET50",
    "a/b/c",
    "..",
    "@",
    "a@b@c",
    "a\nb",
    "\u202e",
    "a" * 100_001,
]
names = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),  # surrogates included
    st.text("abc019-_./@²⑦٣\x00", min_size=1, max_size=30),
    st.integers(-(2**70), 2**70).map(lambda n: f"resnet50@{n}"),
)
ints = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**12]),
    st.booleans(),
    st.floats(allow_nan=True),
    st.none(),
    st.text(max_size=3),
)
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**1100), 2**1100), st.booleans())
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=8),
    st.binary(max_size=4),
    st.frozensets(st.integers(), max_size=2),
)
json_any = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=3)
    ),
    max_leaves=12,
)


def deep(n: int):
    value: object = 1
    for _ in range(n):
        value = {"x": value}
    return value


preprocessing = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=5), json_any, max_size=3),
    st.sampled_from(
        [
            deep(limits.MAX_JSON_DEPTH + 1),
            deep(3000),
            {"x": {1, 2}},
            {"b": b"\x00"},
            {"n": float("nan")},
            {1: "int key"},
            {"big": "x" * (limits.MAX_JSON_BYTES + 1)},
        ]
    ),
)


VALID = dict(
    tag="ok_tag",
    sha256_prefix="0676ba61",
    size_bytes=102_530_333,
    num_params=25_557_032,
    num_classes=1000,
    publisher="torchvision",
    description="a checkpoint",
    preprocessing={"mean": [0.485, 0.456, 0.406], "crop": 0.875},
    tags=("imagenet",),
)
HOSTILE = dict(
    tag=names,
    sha256_prefix=st.sampled_from(["ABCDEF", "zz", "0" * 65, "²" * 6]),
    size_bytes=ints,
    num_params=ints,
    num_classes=ints,
    publisher=names,
    description=names,
    preprocessing=preprocessing,
    tags=st.lists(names, max_size=2).map(tuple),
)


@st.composite
def records(draw):
    """Mostly valid records with one or two hostile fields (so that both the records layer
    and the database see hostile values), and some entirely valid ones."""
    fields = dict(VALID, tag=draw(st.one_of(st.just("ok_tag"), st.text("abcxyz019_-", min_size=1, max_size=12))))
    for key in draw(st.lists(st.sampled_from(sorted(HOSTILE)), max_size=2, unique=True)):
        fields[key] = draw(HOSTILE[key])
    metric = draw(st.one_of(st.just(76.13), floats))
    note = draw(st.one_of(st.none(), st.just("ImageNet over-represents Europe."), names))
    return dict(arch="resnet50", sources=(Source("https://example.org/w.safetensors"),), **fields), metric, note


def counts(registry) -> tuple[int, int]:
    with registry.engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM weights")).scalar_one(),
            conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one(),
        )


@pytest.fixture
def reg(registry, resnet_family):
    registry.add_family(resnet_family)
    registry.register(Weights(**{**VALID, "tag": "ok"}, arch="resnet50"))
    return registry


FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(case=records())
def test_hostile_records_only_zoo_errors_and_nothing_written_on_failure(reg, case):
    fields, metric_value, note = case
    before = counts(reg)
    try:
        record = Weights(
            **fields,
            metrics=(Metric("imagenet-1k", "acc@1", metric_value),),
            card=((CardSection("bias_risks", note),) if note is not None else ()),
        )
        info = reg.register(record)
    except ZooError as exc:
        event(f"refused: {type(exc).__name__}")
        assert counts(reg) == before, f"{exc!r} left rows behind"
        # The records layer decides, the same on both backends: the database never has to.
        assert not (isinstance(exc, ZooValidationError) and exc.field == "record"), exc
        return
    event("registered")
    assert counts(reg)[0] == before[0] + 1
    back = reg.resolve(info.qualified_name).weights
    assert back == record  # what was accepted is stored exactly, on both backends
    assert math.isfinite(back.metrics[0].value)
    assert back.num_classes is None or 0 <= back.num_classes <= limits.MAX_CLASSES


@settings(FUZZ, max_examples=40)
@given(name=names)
def test_hostile_names_resolve_only_to_zoo_errors(reg, name):
    for read in (reg.resolve, reg.exists):
        try:
            read(name)
        except ZooError:
            pass
    for write in (
        lambda n: reg.set_alias(n, "prod"),
        lambda n: reg.set_status(n, "deprecated", "fuzz"),
        lambda n: reg.set_alias("resnet50", n),
        lambda n: reg.set_status("resnet50.ok", "deprecated", n),
        lambda n: reg.set_audited_setting("fuzz", n),
        lambda n: reg.add_bias_note("resnet50.ok", n),
    ):
        before = counts(reg)
        try:
            write(name)
        except ZooError:
            assert counts(reg) == before


@pytest.mark.parametrize(
    "name",
    [
        "resnet50@²",
        "resnet50@⑦",
        "resnet50@٣",
        "resnet50@99999999999",
        "resnet50@\x00",
        "res\ud800net",
        "a" * 300,
        "resnet50@0",
    ],
)
def test_unicode_digits_and_other_bad_selectors_are_validation_errors(reg, name):
    with pytest.raises(ZooValidationError) as err:
        reg.resolve(name)
    assert err.value.field == "name"


@pytest.mark.parametrize(
    "field,value,problem",
    [
        ("num_classes", 2**31, "outside"),
        ("num_classes", limits.MAX_CLASSES + 1, "outside"),
        ("num_classes", True, "integer"),
        ("size_bytes", 2**63, "outside"),
        ("num_params", -1, "outside"),
        ("publisher", "p" * (limits.NAME + 1), "at most"),
        ("description", "a\x00b", "NUL"),
        ("paper_title", "\udc80", "surrogate"),
        ("preprocessing", {"mean": {0.5}}, "a set"),
        ("preprocessing", {"mean": b"x"}, "bytes"),
        ("preprocessing", deep(100), "deeper"),
        ("preprocessing", {"mean": float("nan")}, "finite"),
        ("tags", ("t" * 65,), "at most"),
    ],
)
def test_each_limit_names_its_field(field, value, problem):
    from zoo.testing import make_weights

    with pytest.raises(ZooValidationError) as err:
        make_weights(**{field: value})
    assert err.value.field.startswith(field) and problem in str(err.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 10**400])
def test_metric_values_are_finite(value):
    with pytest.raises(ZooValidationError, match="metrics.value"):
        Metric("imagenet-1k", "acc@1", value)


def test_limits_match_the_schema_columns():
    from sqlalchemy import String

    from zoo.registry.schema import Base

    lengths = {
        c.type.length
        for t in Base.metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, String) and c.type.length is not None
    }
    assert lengths <= {limits.NAME, limits.LABEL, limits.KIND, limits.CHOICE, limits.PLUGIN, limits.IMPORT, 64}


def test_other_records_refuse_what_their_columns_cannot_hold():
    for make in (
        lambda: Family("x", "vision", "m:f", preprocessing={"a": deep(40)}),
        lambda: Family("x", "vision", "m:f", task="t" * 65),
        lambda: License("MIT", note="\x00"),
        lambda: DatasetUse("d" * 201),
        lambda: ParentLink("p\ud800"),
        lambda: Source("https://x/" + "a" * 3000),
        lambda: Source("https://x/a", mirror=5),
        lambda: CardSection("bias_risks", "b", references=("\x00",)),
    ):
        with pytest.raises(ZooValidationError):
            make()


def test_get_argument_types_and_bounds(tmp_path, monkeypatch):
    import zoo

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    for kwargs, field in (
        ({"num_classes": 10**12}, "num_classes"),
        ({"acknowledge": 5}, "acknowledge"),
        ({"progress": 5}, "progress"),
        ({"acknowledge": b"x"}, "acknowledge"),
    ):
        with pytest.raises(ZooValidationError) as err:
            zoo.get("resnet50", **kwargs)
        assert err.value.field == field and "plugin" not in str(err.value)
    with pytest.raises(ZooValidationError):
        zoo.get("resnet50@²")
    with pytest.raises(ZooNotFoundError):
        zoo.get("resnet50@prod")


def test_cli_info_with_a_bad_selector_is_a_clean_error(tmp_path, monkeypatch, capsys):
    from zoo.cli import main

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    assert main(["info", "resnet50@²"]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err and "name" in err
