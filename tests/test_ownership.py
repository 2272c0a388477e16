"""Who owns a name never depends on load order. The hijack of issue 10, played with a
first-party name (torchvision's ``resnet50``) and a third-party one (zoo-acme's
``acme-tinynet``), by a plugin whose entry point sorts before and after the victim's:
on a fresh registry the name is refused for both (each told the other's name), a name
the registry holds stays with its registered owner, ``check_plugin`` checks against
the other installed plugins, and a gone plugin's records can be handed over or retired
by an audited command."""

from __future__ import annotations

import pytest

import zoo
from zoo.errors import ZooNotFoundError, ZooValidationError
from zoo.plugins import plugins_report, sync_registry
from zoo.registry import Registry
from zoo.testing import check_plugin, host_of

HIJACK = """
from zoo.hookspecs import hookimpl
from zoo.records import Family

def build(**kwargs):
    import torch.nn as nn
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 2))

@hookimpl
def zoo_families():
    return [Family(name="TARGET", modality="vision", builder="MOD:build", head="1", default_tag="hijacked")]
"""

VICTIMS = {
    "first-party": ("torchvision", "resnet50", "resnet50.imagenet1k_v2", "ResNet"),
    "third-party": ("acme", "acme-tinynet", "acme-tinynet.digits_v1", "TinyNet"),
}


@pytest.fixture(params=["first-party", "third-party"])
def victim(request):
    plugin = VICTIMS[request.param][0]
    pytest.importorskip({"torchvision": "zoo_torchvision", "acme": "zoo_acme"}[plugin])
    return VICTIMS[request.param]


@pytest.fixture(params=["aaa-hijack", "zzz-hijack"])  # loads before / after the victim
def hijacker(request, dists, victim):
    dists.add(request.param, HIJACK.replace("TARGET", victim[1]))
    return request.param


def built(name: str, registry, host):
    model = zoo.get(name, pretrained=False, registry=registry, host=host, device="cpu")
    return type(model).__name__


def test_on_a_fresh_registry_a_contested_name_is_refused_for_both(registry, victim, hijacker):
    plugin, family, weights, _ = victim
    host = host_of(plugin, hijacker)
    for me, other in ((plugin, hijacker), (hijacker, plugin)):
        messages = " ".join(e.message for e in host.plugin(me).errors)
        assert f"family {family!r} is claimed by plugin {me!r} and by plugin {other!r}" in messages
    assert host.owner("families", family) is None
    rows = {r["name"]: r for r in plugins_report(host)}
    assert rows[plugin]["status"] == rows[hijacker]["status"] == "errors"
    assert all(r.ok for r in sync_registry(registry, host))  # the rest of the victim syncs
    assert not registry.exists(weights) and family not in {f.name for f in registry.families()}
    with pytest.raises(ZooNotFoundError):
        built(weights, registry, host)  # never the hijacker's network
    with pytest.raises(Exception, match="strict|claimed"):
        host_of(plugin, hijacker, strict=True)


def test_check_plugin_checks_against_the_other_installed_plugins(victim, hijacker):
    plugin, family, _, _ = victim
    for me, other in ((hijacker, plugin), (plugin, hijacker)):
        result = check_plugin(me, families=(), forward=False, lazy_imports=False, raise_on_error=False)
        assert not result.ok and any(f"family {family!r}" in p and repr(other) in p for p in result.problems)


def test_a_registered_name_stays_with_its_owner_in_any_load_order(registry, victim, hijacker):
    plugin, family, weights, cls = victim
    sync_registry(registry, host_of(plugin))  # the victim was there first
    host = host_of(plugin, hijacker)
    reports = {r.plugin: r for r in sync_registry(registry, host)}
    assert host.owner("families", family) == plugin and hijacker not in reports
    assert not any(family in e.message for e in host.plugin(plugin).errors)
    assert f"family {family!r} belongs to plugin {plugin!r} in the registry" in " ".join(
        e.message for e in host.plugin(hijacker).errors
    )
    assert registry.family(family).builder == host.family(family).builder
    assert built(weights, registry, host) == cls


def test_records_of_a_gone_plugin_can_be_handed_over(registry, victim, hijacker):
    plugin, family, weights, cls = victim
    sync_registry(registry, host_of(hijacker))  # the hijacker took the name on a fresh registry
    assert registry.family(family).builder.startswith("zt_")
    host = host_of(plugin)  # ... and was uninstalled: the victim cannot take the name back itself
    assert all(r.ok for r in sync_registry(registry, host)) and not registry.exists(weights)
    assert f"zoo plugins transfer {hijacker} {plugin}" in " ".join(e.message for e in host.plugin(plugin).errors)

    counts = registry.hand_over(hijacker, plugin, reason=f"{hijacker} was uninstalled", actor="admin@zoo")
    assert counts == {"families": 1, "weights": 0}
    sync_registry(registry, host)
    assert registry.family(family).builder == host.family(family).builder
    assert built(weights, registry, host) == cls
    actions = [(e.action, e.actor) for e in registry.history(family)]
    assert ("family.transfer", "admin@zoo") in actions and actions[-1][0] == "family.update"
    assert registry.verify_audit().ok


def test_retire_makes_the_records_the_registrys_own(registry, dists):
    dists.add(
        "gone",
        HIJACK.replace("TARGET", "gone-net")
        .replace("return [Family", "return [Family")
        .replace(
            "@hookimpl\ndef zoo_families",
            "@hookimpl\ndef zoo_weights():\n"
            "    from zoo.records import Weights\n"
            "    return [Weights(arch='gone-net', tag='hijacked', sha256='ab' * 32)]\n\n@hookimpl\ndef zoo_families",
        ),
    )
    sync_registry(registry, host_of("gone"))
    assert registry.resolve("gone-net.hijacked").plugin == "gone"
    assert registry.hand_over("gone", None, reason="vendor left") == {"families": 1, "weights": 1}
    info = registry.resolve("gone-net.hijacked")
    assert info.plugin is None and info.weights.status.value == "deprecated"
    assert "plugin gone retired: vendor left" in info.weights.status_reason
    assert [e.action for e in registry.history("gone-net.hijacked")][-1] == "weights.retire"
    with pytest.raises(ZooNotFoundError, match="gone"):
        registry.hand_over("gone", None, reason="again")  # it owns nothing any more
    with pytest.raises(ZooValidationError, match="reason"):
        registry.hand_over("x", "y", reason=" ")
    with pytest.raises(ZooValidationError, match="plugin"):
        registry.hand_over(5, None, reason="typed")


def test_cli_transfer_refuses_a_loaded_plugin_and_hands_over_a_gone_one(registry, dists, monkeypatch, capsys):
    from zoo import plugins
    from zoo.cli import main

    dists.add("gone", HIJACK.replace("TARGET", "gone-net"))
    sync_registry(registry, host_of("gone"))
    monkeypatch.setenv("ZOO_PLUGINS", "gone")
    plugins.default_host.cache_clear()
    try:
        assert main(["--registry", registry.url, "plugins", "retire", "gone", "--reason", "x"]) == 2
        assert "installed and loaded" in capsys.readouterr().err
        monkeypatch.setenv("ZOO_PLUGINS", "none")
        plugins.default_host.cache_clear()
        assert main(["--registry", registry.url, "plugins", "transfer", "gone", "heir", "--reason", "merged"]) == 0
        assert registry.owners()["families"]["gone-net"] == "heir"
        assert main(["--registry", registry.url, "plugins", "transfer", "gone"]) == 2
    finally:
        plugins.default_host.cache_clear()


def test_owner_with_a_wrong_kind_is_a_typed_error(dists):
    host = host_of()
    with pytest.raises(ZooValidationError, match="did you mean 'families'"):
        host.owner("family", "resnet50")


def test_zoo_plugins_shows_the_registry_settled_state(registry, dists, monkeypatch, capsys):
    from zoo import plugins
    from zoo.cli import main

    dists.add("first", HIJACK.replace("TARGET", "taken-net"))
    sync_registry(registry, host_of("first"))
    dists.add("second", HIJACK.replace("TARGET", "taken-net"))
    monkeypatch.setenv("ZOO_PLUGINS", "first,second")
    plugins.default_host.cache_clear()
    try:
        assert main(["--registry", registry.url, "plugins", "--json"]) == 0
        rows = {r["name"]: r for r in __import__("json").loads(capsys.readouterr().out)}
        assert rows["first"]["status"] == "ok" and rows["first"]["families"] == 1
        assert rows["second"]["status"] == "errors"
        assert any("belongs to plugin 'first' in the registry" in e for e in rows["second"]["errors"])
    finally:
        plugins.default_host.cache_clear()


EXTRA_WEIGHTS = """
from zoo.hookspecs import hookimpl
from zoo.records import Weights

@hookimpl
def zoo_weights():
    return [Weights(arch="TARGET", tag="extra", sha256="cd" * 32)]
"""


def test_weights_for_a_family_follow_its_settled_owner(registry, dists, tmp_path):
    dists.add("owner", HIJACK.replace("TARGET", "base-net"))
    sync_registry(registry, host_of("owner"))
    dists.add("rival", HIJACK.replace("TARGET", "base-net"))
    dists.add("extra", EXTRA_WEIGHTS.replace("TARGET", "base-net"))
    # the registry settles base-net: weights for it from a third plugin still sync
    reports = {r.plugin: r for r in sync_registry(registry, host_of("rival", "extra"))}
    assert reports["extra"].ok and registry.exists("base-net.extra")
    # on a fresh registry a contested family's weights cannot sync for anyone: withheld, not a failed sync
    with Registry(f"sqlite:///{tmp_path / 'fresh.db'}", actor="tester@zoo") as fresh:
        host = host_of("owner", "rival", "extra")
        assert all(r.ok for r in sync_registry(fresh, host)) and not fresh.exists("base-net.extra")
        assert "withheld" in " ".join(e.message for e in host.plugin("extra").errors)
