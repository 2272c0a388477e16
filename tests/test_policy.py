"""Usage policies (zoo.policy): revoked weights always refused; the optional commercial
and high-severity-bias rules from the registry (audited) or $ZOO_POLICY; plugin rules;
and zoo.get enforcing them before anything is fetched — on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import pytest

from zoo import policy
from zoo.cli import main
from zoo.errors import (
    ZooDeprecationWarning,
    ZooError,
    ZooPolicyError,
    ZooRegistryError,
    ZooValidationError,
)
from zoo.hookspecs import hookimpl
from zoo.records import CardSection, Dataset, DatasetUse, License, ParentLink, PolicyDecision
from zoo.testing import make_weights, registered_plugin


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("ZOO_POLICY", raising=False)
    monkeypatch.delenv("ZOO_ACKNOWLEDGE", raising=False)
    monkeypatch.setenv("COLUMNS", "500")  # rich wraps error messages at 80 columns otherwise


@pytest.fixture
def reg(registry, resnet_family):
    registry.add_family(resnet_family)
    # Data whose terms allow commercial use: the effective use is that of the licence.
    registry.sync_datasets("tests", "1", [Dataset("open-photos", terms=License("CC0-1.0", "allowed"))])
    open_data = (DatasetUse("open-photos", "pretrain"),)
    registry.register(make_weights())  # BSD-3-Clause, commercial use unknown, a medium bias note
    registry.register(make_weights(tag="free", license=License("Apache-2.0", "allowed"), datasets=open_data))
    registry.register(make_weights(tag="nc", license=License("CC-BY-NC-4.0", "forbidden"), datasets=open_data))
    registry.register(make_weights(tag="gpl", license=License("GPL-3.0-only", "conditional"), datasets=open_data))
    registry.register(
        make_weights(
            tag="skewed",
            license=License("MIT", "allowed"),
            datasets=open_data,
            card=(CardSection("bias_risks", "Fails on darker skin tones.", title="Skin tone", severity="high"),),
        )
    )
    return registry


def refusal(registry, name, **kwargs) -> ZooPolicyError:
    with pytest.raises(ZooPolicyError) as err:
        policy.enforce(registry.resolve(name), kwargs.pop("purpose", "get"), registry=registry, **kwargs)
    return err.value


def allowed(registry, name, **kwargs):
    return policy.enforce(registry.resolve(name), kwargs.pop("purpose", "get"), registry=registry, **kwargs)


def test_revoked_is_always_refused_and_deprecated_warns(reg):
    assert [d.rule for d in allowed(reg, "resnet50.tv_in1k")] == ["zoo:revoked"]
    reg.deprecate("resnet50.free", "superseded")
    with pytest.warns(ZooDeprecationWarning, match="resnet50.free@1 is deprecated: superseded"):
        allowed(reg, "resnet50.free")
    reg.revoke("resnet50.free", "licence withdrawn")
    for purpose in ("get", "finetune"):
        err = refusal(reg, "resnet50.free", purpose=purpose)
        assert err.rule == "zoo:revoked" and err.record == "resnet50.free@1"
        assert "licence withdrawn" in err.message and f"for {purpose}" in err.message
        assert "zoo history resnet50.free" in err.hint


def test_commercial_policy_from_the_registry_is_audited(reg):
    assert not policy.policy_states(reg)[0].enabled
    allowed(reg, "resnet50.nc")  # off by default
    events = reg.verify_audit().events
    assert policy.set_policy(reg, "commercial", "require", actor="governance") is True
    assert policy.set_policy(reg, "commercial", "require") is False  # unchanged: no event
    (event,) = [e for e in reg.history(action="setting.") if e.entity_key == "policy.commercial"]
    assert event.actor == "governance" and event.after == {"value": "require"}
    assert reg.verify_audit().events == events + 1
    for name, says in (
        ("resnet50.nc", "forbidden (licence CC-BY-NC-4.0)"),
        ("resnet50.tv_in1k", "not stated (licence BSD-3-Clause; data imagenet-1k"),
    ):
        err = refusal(reg, name)
        assert err.rule == "zoo:commercial" and err.record == f"{name}@1"
        assert f"it is {says}" in err.message and "registry setting policy.commercial" in err.message
        assert "zoo audit licences --commercial allowed" in err.hint and "zoo policy set commercial off" in err.hint
    decisions = allowed(reg, "resnet50.free", purpose="finetune")
    assert [d.rule for d in decisions] == ["zoo:revoked", "zoo:commercial"]
    allowed(reg, "resnet50.gpl")  # conditional: the licence's conditions are for a person to read
    policy.set_policy(reg, "commercial", "off")
    allowed(reg, "resnet50.nc")


def test_commercial_policy_follows_the_training_data_and_the_parents(reg):
    """Licence and data terms are kept apart; the effective use is the strictest of the
    licence, the parents' licences and the terms of every dataset in the lineage."""
    reg.sync_datasets(
        "tests",
        "1",
        [
            Dataset("open-photos", terms=License("CC0-1.0", "allowed")),
            Dataset("research-only", terms=License("LicenseRef-Research", "forbidden", note="research use only")),
        ],
    )
    reg.register(
        make_weights(
            tag="research", license=License("MIT", "allowed"), datasets=(DatasetUse("research-only", "pretrain"),)
        )
    )
    reg.register(
        make_weights(
            tag=None,
            name="team/child",
            license=License("MIT", "allowed"),
            datasets=(DatasetUse("open-photos", "finetune"),),
            parents=(ParentLink("resnet50.research", "finetune"),),
        )
    )
    policy.set_policy(reg, "commercial", "require")
    for name in ("resnet50.research", "team/child"):
        info = reg.resolve(name)
        assert info.weights.license.commercial_use.value == "allowed"  # the licence alone says allowed
        assert info.effective_use.commercial_use.value == "forbidden"
        assert any("data research-only" in r and "research use only" in r for r in info.effective_use.reasons)
        assert "data research-only" in refusal(reg, name).message
    assert any(
        r.startswith("data research-only (via resnet50.research@1)")
        for r in reg.resolve("team/child").effective_use.reasons
    )
    rows = {r[0]: r for r in reg.audit_query("licences", commercial=["forbidden"]).rows}
    assert rows["team/child"][3:5] == ("allowed", "forbidden") and "research-only" in rows["team/child"][5]
    assert "resnet50.free" not in rows
    allowed(reg, "resnet50.free")


def test_commercial_policy_from_the_environment(reg, monkeypatch):
    monkeypatch.setenv("ZOO_POLICY", "commercial")
    assert "set by ZOO_POLICY" in refusal(reg, "resnet50.nc").message
    monkeypatch.setenv("ZOO_POLICY", "commercal")
    with pytest.raises(ZooValidationError, match="did you mean 'commercial'"):
        allowed(reg, "resnet50.free")


def test_high_severity_bias_needs_an_acknowledgement(reg, monkeypatch):
    allowed(reg, "resnet50.skewed")  # off by default
    policy.set_policy(reg, "acknowledge-high-bias", "require")
    err = refusal(reg, "resnet50.skewed")
    assert err.rule == "zoo:acknowledge-high-bias" and err.record == "resnet50.skewed@1"
    assert "Skin tone: Fails on darker skin tones." in err.message
    assert "acknowledge=['resnet50.skewed']" in err.hint and "ZOO_ACKNOWLEDGE=resnet50.skewed" in err.hint
    assert refusal(reg, "resnet50.skewed", acknowledge=["resnet50.free"]).rule == "zoo:acknowledge-high-bias"
    for ack in (["resnet50.skewed"], "resnet50.skewed@1", ("RESNET50.SKEWED",)):
        assert allowed(reg, "resnet50.skewed", acknowledge=ack)[-1].allowed
    monkeypatch.setenv("ZOO_ACKNOWLEDGE", "resnet50.other, resnet50.skewed")
    allowed(reg, "resnet50.skewed")
    allowed(reg, "resnet50.tv_in1k")  # a medium note needs no acknowledgement
    with pytest.raises(ZooValidationError):
        allowed(reg, "resnet50.skewed", acknowledge=[3])


def test_bad_values_fail_closed(reg):
    with pytest.raises(ZooValidationError, match="require or off"):
        policy.set_policy(reg, "commercial", "maybe")
    with pytest.raises(ZooValidationError, match="unknown policy"):
        policy.set_policy(reg, "licence", "require")
    reg.set_setting("policy.commercial", "yes please")  # written around the API
    with pytest.raises(ZooRegistryError, match="nothing is allowed until it is fixed"):
        allowed(reg, "resnet50.free")
    for purpose in ("Deploy!", "", 5, None):
        with pytest.raises(ZooValidationError, match="purpose"):
            allowed(reg, "resnet50.free", purpose=purpose)


class _Release:
    @hookimpl
    def zoo_policy_check(self, record, purpose):
        if purpose in ("production", "export") and record.weights.status.value != "active":
            return PolicyDecision("release", False, f"only active weights go to {purpose}")
        return None


def test_a_teams_own_purposes(reg):
    reg.deprecate("resnet50.free", "superseded")
    with registered_plugin(_Release(), name="release") as host:
        with pytest.warns(Warning):
            allowed(reg, "resnet50.free", host=host, purpose="deploy")  # no rule for it: allowed
        for purpose in ("production", "export"):
            with pytest.warns(Warning):
                err = refusal(reg, "resnet50.free", host=host, purpose=purpose)
            assert err.rule == "release:release" and f"go to {purpose}" in err.message


class _Legal:
    @hookimpl
    def zoo_policy_check(self, record, purpose):
        if purpose == "finetune" and record.weights.license.spdx.startswith("GPL"):
            return PolicyDecision("copyleft", False, "no fine-tuning of GPL weights here")
        return PolicyDecision("copyleft", True)


def test_plugin_rules(reg):
    with registered_plugin(_Legal(), name="legal") as host:
        assert allowed(reg, "resnet50.gpl", host=host)[-1].rule == "legal:copyleft"
        err = refusal(reg, "resnet50.gpl", host=host, purpose="finetune")
        assert err.rule == "legal:copyleft" and "no fine-tuning of GPL weights here" in err.message
        assert "plugin 'legal'" in err.hint


def test_zoo_policy_cli(reg):
    def cli(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--registry", reg.url, *args])
        return code, out.getvalue(), " ".join(err.getvalue().split())

    code, out, _ = cli("policy", "set", "commercial", "require")
    assert code == 0 and "require" in out
    code, out, _ = cli("policy", "show", "--json")
    assert {p["name"]: p["enabled"] for p in json.loads(out)} == {
        "commercial": True,
        "acknowledge-high-bias": False,
        "pinned-only": False,
    }
    code, _, err = cli("policy", "check", "resnet50.nc")
    assert code == 1 and "rule zoo:commercial" in err
    code, out, _ = cli("policy", "check", "resnet50.free", "--json")
    assert code == 0 and json.loads(out)["allowed"] is True
    code, _, err = cli("policy", "set", "commercial", "sometimes")
    assert code == 1 and "require or off" in err


def test_zoo_get_enforces_the_registry_policy_before_fetching(reg):
    import zoo
    from zoo.plugins import PluginHost

    host = PluginHost(plugins="none", disable=(), strict=False)
    policy.set_policy(reg, "acknowledge-high-bias", "require")
    # Its only source is unreachable: a refusal must come before any fetch.
    with pytest.raises(ZooPolicyError, match="zoo:acknowledge-high-bias"):
        zoo.get("resnet50.skewed", registry=reg, host=host, offline=True)
    reg.revoke("resnet50.free", "withdrawn")
    with pytest.raises(ZooPolicyError, match="zoo:revoked"):
        zoo.get("resnet50.free", registry=reg, host=host, offline=True)
    # Acknowledged: the policy passes and zoo goes on to fetch (offline: not cached).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as err:
            zoo.get("resnet50.skewed", registry=reg, host=host, offline=True, acknowledge=["resnet50.skewed"])
    assert isinstance(err.value, ZooError) and not isinstance(err.value, ZooPolicyError), err.value
