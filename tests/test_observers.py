"""Every committed audit event reaches every ``zoo_audit_event`` observer exactly once,
after the commit, whoever wrote it: the Registry API, the CLI, fine-tuning's
``register_as`` and plugin sync. An observer that raises is reported and never undoes
the write."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from zoo import plugins
from zoo.hookspecs import hookimpl
from zoo.records import CardSection, Family, Weights
from zoo.registry import Registry
from zoo.testing import make_weights

SHA = "0676ba61" + "00" * 28


class Recorder:
    """An observer that also checks, from another connection, that the event was
    committed before it was told."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.events = []
        self.committed = []

    @hookimpl
    def zoo_audit_event(self, event):
        self.events.append(event)
        if self.url is not None:
            with Registry(self.url, plugin_observers=False) as other, other.engine.connect() as conn:
                self.committed.append(
                    conn.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": event.seq}).scalar()
                    == event.hash
                )


class Raiser:
    @hookimpl
    def zoo_audit_event(self, event):
        raise ConnectionError("SIEM unreachable")


@pytest.fixture
def host(monkeypatch):
    """The process's default host, with no installed plugin, a raising observer and a
    recorder (registered after it, so that pluggy calls the raiser first)."""
    monkeypatch.setenv("ZOO_PLUGINS", "none")
    plugins.default_host.cache_clear()
    host = plugins.default_host()
    host.register(Raiser(), "raiser")
    yield host
    plugins.default_host.cache_clear()


@pytest.fixture
def recorder(host, registry_url):
    rec = Recorder(registry_url)
    host.register(rec, "recorder")
    return rec


def assert_seen_once(rec: Recorder, registry: Registry, host) -> None:
    history = registry.history()
    assert [e.seq for e in rec.events] == [e.seq for e in history]  # each once, in order
    assert rec.events == history
    assert all(rec.committed) and len(rec.committed) == len(history)
    assert len([f for f in host.observer_failures if f.plugin == "raiser"]) == len(history)


def test_registry_api_writes_reach_every_observer_once_after_commit(registry, recorder, host, resnet_family):
    registry.add_family(resnet_family)
    registry.register(make_weights(sha256_prefix="0676ba61"))
    registry.register_many([make_weights(tag=None, name="team/a"), make_weights(tag=None, name="team/a")])
    registry.set_alias("team/a", "prod", 1)
    registry.set_alias("team/a", "prod", 2)
    registry.remove_alias("team/a", "prod")
    registry.deprecate("team/a@1", "old")
    registry.add_card_section("team/a", CardSection("limitations", "small data"))
    registry.link_parent("team/a@2", "resnet50")
    registry.pin_sha256("resnet50", SHA)
    registry.set_audited_setting("policy.commercial", "require")
    assert len(registry.history()) == 12
    assert_seen_once(recorder, registry, host)
    assert registry.verify_audit().ok  # the raising observer undid nothing


def test_cli_writes_reach_the_observers(registry, recorder, host, resnet_family):
    from zoo.cli import main

    registry.add_family(resnet_family)
    registry.register(make_weights(tag=None, name="team/a"))
    for argv in (
        ["alias", "team/a", "prod"],
        ["note", "team/a", "skewed toward daylight images"],
        ["deprecate", "team/a", "--reason", "old"],
        ["revoke", "team/a", "--reason", "leak"],
        ["reactivate", "team/a"],
        ["policy", "set", "commercial", "require"],
    ):
        assert main(["--registry", registry.url, *argv]) == 0
    assert [e.action for e in recorder.events[2:]] == [
        "alias.set",
        "card.add",
        "weights.deprecated",
        "weights.revoked",
        "weights.reactivate",
        "setting.set",
    ]
    assert_seen_once(recorder, registry, host)


class Declaring:
    @hookimpl
    def zoo_families(self):
        return [Family(name="obs-net", modality="vision", builder="torch.nn:Identity", default_tag="v1")]

    @hookimpl
    def zoo_weights(self):
        return [Weights(arch="obs-net", tag="v1", sha256=SHA, sources=())]


def test_sync_events_reach_the_observers_once(registry, recorder, host):
    host.register(Declaring(), "declaring", version="1.0")
    (report,) = plugins.sync_registry(registry, host)
    assert report.ok and report.weights_added == ("obs-net.v1",)
    # the core's dataset declarations sync first, then the plugin's records
    assert [e.action for e in recorder.events if e.plugin != "zoo"] == ["family.register", "weights.register"]
    assert_seen_once(recorder, registry, host)


def test_observers_can_be_turned_off_and_others_attached(registry_url, host, resnet_family):
    rec = Recorder()
    host.register(rec, "recorder")
    extra = []
    with Registry(registry_url, plugin_observers=False, observers=[extra.extend]) as reg:
        reg.add_family(resnet_family)
    assert rec.events == [] and [e.action for e in extra] == ["family.register"]


def test_finetune_register_as_reaches_the_observers(tmp_path, monkeypatch):
    pytest.importorskip("zoo_acme")
    from pathlib import Path

    import zoo
    from zoo.finetuning.digits import digits

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    monkeypatch.setenv("ZOO_REGISTRY_URL", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("ACME_ARTIFACTS_DIR", str(root / "plugins" / "example-internal" / "artifacts"))
    monkeypatch.setenv("ZOO_PLUGINS", "acme,recipes")
    plugins.default_host.cache_clear()
    try:
        host = plugins.default_host()
        rec = Recorder()
        host.register(rec, "recorder")
        from zoo_acme.data import MEAN, STD

        train, val = digits(8, channels=1, per_class=5, test_per_class=2, mean=[MEAN], std=[STD])
        with zoo.Registry(actor="tester@zoo") as registry:
            result = zoo.finetune(
                "acme-tinynet.digits_v1",
                train,
                val,
                recipe="linear-probe",
                epochs=1,
                num_classes=10,
                register_as="team/obs",
                registry=registry,
                progress=False,
            )
            assert result.registered == "team/obs@1"
            mine = [e for e in rec.events if e.entity_key == "team/obs"]
            assert [e.action for e in mine] == ["weights.register"]
            assert [e.seq for e in rec.events] == [e.seq for e in registry.history()]
    finally:
        plugins.default_host.cache_clear()
